// The MOSS API of moss_api_demo.py (spec 4.6): POST /api/chat {"prompt", "uid"?, ...} ->
// {"response", "history", "status", "time", "uid"}, and POST /api/chat/stream (SSE).
// Choices where we differ from the demo, on purpose:
// * "uid" is the id of one of the caller's stored conversations; a missing, unknown or foreign uid
//   starts a new conversation (as the demo does for unknown uids), never reads another user's.
// * "response" is the answer text without the "\n<|MOSS|>: " prefix the non-plugin model writes
//   itself in the demo; the record (with inner thoughts etc.) is returned in "record".
// * max_length keeps its meaning (prompt + generated tokens); max_tokens may be given as well.
#include <ctime>

#include "server/moss_stream.h"
#include "server/server_context.h"
#include "server/turn_service.h"

namespace moss::server {

namespace {

const std::set<std::string> kFields = {"prompt", "uid", "max_length", "max_tokens", "top_p", "temperature", "top_k",
                                       "repetition_penalty", "seed", "stop", "plugins", "constrain_commands"};

std::string local_time_string() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::shared_ptr<PreparedTurn> prepare(ServerContext& ctx, const httplib::Request& req, const UserRow& user) {
  json body = parse_body(req);
  check_fields(body, kFields);
  if (!body.contains("prompt")) http_fail(400, "invalid_value", "prompt is required");
  TurnPlan plan;
  plan.user = user;
  plan.prompt = read_prompt(ctx, body["prompt"], "prompt");
  plan.sampling = read_sampling(ctx, body);
  plan.plugins = read_plugins(body);
  plan.constrain_commands = read_constrain_commands(body);
  if (body.contains("uid") && !body["uid"].is_null()) {
    if (!body["uid"].is_string()) http_fail(400, "invalid_value", "uid must be a string");
    const std::string uid = body["uid"].get<std::string>();
    if (ctx.store.conversation(user.id, uid)) {
      plan.conversation_id = uid;
      for (const auto& r : ctx.store.records(user.id, uid)) plan.history.push_back(r.turn);
    }
  }
  return prepare_turn(ctx, std::move(plan));
}

json reply_json(ServerContext& ctx, const UserRow& user, const std::string& conversation_id, const TurnOutcome& out) {
  json history = json::array();
  for (const auto& r : ctx.store.records(user.id, conversation_id)) history.push_back({r.turn.human, r.turn.answer});
  return json{{"response", out.record.turn.answer},
              {"history", std::move(history)},
              {"status", 200},
              {"time", local_time_string()},
              {"uid", conversation_id},
              {"record", record_json(out.record)}};
}

}  // namespace

void add_moss_routes(ServerContext& ctx) {
  add_route(ctx, Method::post, "/api/chat", "/api/chat", false,
            [](ServerContext& c, const httplib::Request& req, httplib::Response& res, const UserRow& user) {
              auto turn = prepare(c, req, user);
              TurnOutcome out = execute_turn(*turn, nullptr);
              send_json(res, 200, reply_json(c, user, turn->conversation_id, out));
            });
  add_route(ctx, Method::post, "/api/chat/stream", "/api/chat/stream", false,
            [](ServerContext& c, const httplib::Request& req, httplib::Response& res, const UserRow& user) {
              std::shared_ptr<PreparedTurn> turn = prepare(c, req, user);
              const std::string id = turn->conversation_id;
              ServerContext* cp = &c;
              respond_moss_stream(c, res, turn, json{{"uid", id}, {"conversation_id", id}},
                                  [cp, user, id](const TurnOutcome& out) { return reply_json(*cp, user, id, out); });
            });
}

}  // namespace moss::server
