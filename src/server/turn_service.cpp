// One chat turn from claim to commit (see turn_service.h).
#include "server/turn_service.h"

#include <chrono>

#include "util/error.h"

namespace moss::server {

PreparedTurn::~PreparedTurn() {
  if (!ctx) return;
  // A new conversation whose turn never got stored (engine error, client gone before the turn
  // started) is removed again so no empty conversation is left behind.
  if (new_conversation && !committed) {
    try {
      ctx->store.delete_conversation(plan.user.id, conversation_id);
    } catch (...) {
    }
  }
  if (active) ctx->turns.end(plan.user.id, active);
  ctx->metrics.set_active_turns(static_cast<int64_t>(ctx->turns.size()));
}

std::unique_ptr<PreparedTurn> prepare_turn(ServerContext& ctx, TurnPlan plan) {
  if (ctx.moderator) {
    if (ctx.moderator->mode() == Moderator::Mode::block && ctx.moderator->contains(plan.prompt))
      http_fail(400, "sensitive", "the prompt contains words this server does not accept");
    plan.prompt = ctx.moderator->mask(plan.prompt);
  }
  auto t = std::make_unique<PreparedTurn>();
  const bool is_new = plan.conversation_id.empty();
  t->conversation_id = is_new ? new_conversation_id() : plan.conversation_id;
  if (!is_new && !ctx.store.conversation(plan.user.id, t->conversation_id))
    http_fail(404, "not_found", "no such conversation");
  t->active = ctx.turns.begin(plan.user.id, t->conversation_id);
  if (!t->active)
    http_fail(409, "turn_in_progress", "another answer is being generated for this user; wait for it or stop it");
  t->ctx = &ctx;  // from here on the destructor releases the slot
  ctx.metrics.set_active_turns(static_cast<int64_t>(ctx.turns.size()));
  t->plan = std::move(plan);
  if (is_new) {
    std::string title = t->plan.imported.empty() ? "" : title_from(t->plan.imported[0].human);
    if (title.empty()) title = title_from(t->plan.prompt);
    ctx.store.create_conversation(t->plan.user.id, t->conversation_id, title);
    t->new_conversation = true;
  }
  return t;
}

TurnOutcome execute_turn(PreparedTurn& t, const std::function<bool(Stage, std::string_view)>& on_piece,
                         const std::function<bool(const std::string&)>& on_image) {
  ServerContext& ctx = *t.ctx;
  const auto t0 = std::chrono::steady_clock::now();
  TurnRequest rq;
  rq.conversation_id = t.conversation_id;
  rq.history = t.plan.history;
  rq.prompt = t.plan.prompt;
  rq.plugins = t.plan.plugins;
  rq.constrain_commands = t.plan.constrain_commands;
  rq.system_prompt = t.plan.system_prompt;
  rq.sampling = t.plan.sampling;
  rq.cancel = &t.active->cancel;

  const Moderator* mod = ctx.moderator ? &*ctx.moderator : nullptr;
  StreamMasker masker(mod);
  bool client_gone = false;
  auto deliver = [&](Stage s, std::string_view text) {
    if (client_gone || text.empty() || !on_piece) return;
    if (!on_piece(s, text)) {
      client_gone = true;
      t.active->cancel = true;
    }
  };
  TurnCallbacks cb;
  cb.on_piece = [&](Stage s, std::string_view piece) {
    if (s == Stage::answer) deliver(s, masker.feed(piece));
    else deliver(s, mod ? mod->mask(piece) : std::string(piece));
  };
  cb.on_image = [&](const std::string& name) {
    if (client_gone || !on_image || !valid_image_name(name)) return;
    if (!on_image(name)) {
      client_gone = true;
      t.active->cancel = true;
    }
  };
  TurnOutcome out;
  try {
    out.result = ctx.engine.run_turn(rq, cb);
  } catch (const Error& e) {
    http_fail(400, "engine_error", e.what());
  } catch (const std::exception& e) {
    http_fail(500, "engine_failure", std::string("the engine failed: ") + e.what());
  }
  deliver(Stage::answer, masker.flush());
  TurnRecord& rec = out.result.record;
  rec.human = t.plan.prompt;
  if (mod) {
    rec.inner_thoughts = mod->mask(rec.inner_thoughts);
    rec.answer = mod->mask(rec.answer);
  }
  // Only names that can be served are stored (the engine's plugins write them; never a client).
  std::erase_if(rec.images, [](const std::string& n) { return !valid_image_name(n); });
  if (t.new_conversation)
    for (const auto& old : t.plan.imported) ctx.store.append_record(t.plan.user.id, t.conversation_id, old, "history", {}, false);
  // Commit before acknowledging: the caller only answers after this returns.
  out.record = ctx.store.append_record(t.plan.user.id, t.conversation_id, rec, out.result.finish_reason,
                                       out.result.usage, t.plan.replace_last);
  t.committed = true;
  if (t.plan.replace_last)
    remove_unreferenced_images(ctx.store, t.plan.user.id, ctx.config.image_dir, t.plan.replaced_images);
  // Free the user's slot now, not when the response object dies: a client that reads the end of
  // this answer may send its next request at once.
  ctx.turns.end(t.plan.user.id, t.active);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ctx.metrics.count_turn(out.result.usage, out.result.finish_reason, out.seconds);
  return out;
}

}  // namespace moss::server
