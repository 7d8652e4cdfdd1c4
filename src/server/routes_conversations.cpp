// Conversations as resources, always scoped to the caller (a foreign or guessed id is a 404):
//   POST   /api/conversations                      create (optional title)
//   GET    /api/conversations                      list: id, title, times, record count
//   GET    /api/conversations/ID                   the conversation with all records
//   PATCH  /api/conversations/ID                   rename
//   DELETE /api/conversations/ID                   delete (409 while an answer is running)
//   POST   /api/conversations/ID/messages          new turn (JSON, or SSE with "stream": true)
//   POST   /api/conversations/ID/regenerate        regenerate the last answer (replaces the record)
//   POST   /api/conversations/ID/stop              stop the running answer (it is stored as cancelled)
//   POST   /api/conversations/ID/records/RID/feedback   like / dislike / feedback text
#include "server/moss_stream.h"
#include "server/server_context.h"
#include "server/turn_service.h"

namespace moss::server {

namespace {

const std::string kId = "([0-9a-f]{32})";

ConversationRow must_get(ServerContext& ctx, const UserRow& user, const std::string& id) {
  auto c = ctx.store.conversation(user.id, id);
  if (!c) http_fail(404, "not_found", "no such conversation");
  return *c;
}

json full_conversation(ServerContext& ctx, const UserRow& user, const std::string& id) {
  json j = conversation_json(must_get(ctx, user, id));
  json recs = json::array();
  for (const auto& r : ctx.store.records(user.id, id)) recs.push_back(record_json(r));
  j["records"] = std::move(recs);
  j["running"] = ctx.turns.running(user.id, id);
  return j;
}

// Runs a prepared turn of a conversation as JSON or as a MOSS SSE stream.
void respond_turn(ServerContext& ctx, httplib::Response& res, std::shared_ptr<PreparedTurn> turn, bool stream) {
  const std::string id = turn->conversation_id;
  if (!stream) {
    TurnOutcome out = execute_turn(*turn, nullptr);
    send_json(res, 200, json{{"conversation_id", id}, {"record", record_json(out.record)}});
    return;
  }
  respond_moss_stream(ctx, res, std::move(turn), json{{"conversation_id", id}}, [id](const TurnOutcome& out) {
    return json{{"conversation_id", id}, {"record", record_json(out.record)}};
  });
}

const std::set<std::string> kTurnFields = {"prompt", "stream", "max_length", "max_tokens", "top_p", "temperature",
                                           "top_k", "repetition_penalty", "seed", "stop", "plugins", "constrain_commands"};

bool read_stream_flag(const json& body) {
  if (!body.contains("stream") || body["stream"].is_null()) return false;
  if (!body["stream"].is_boolean()) http_fail(400, "invalid_value", "stream must be a boolean");
  return body["stream"].get<bool>();
}

void post_message(ServerContext& ctx, const httplib::Request& req, httplib::Response& res, const UserRow& user) {
  const std::string id = req.matches[1];
  json body = parse_body(req);
  check_fields(body, kTurnFields);
  if (!body.contains("prompt")) http_fail(400, "invalid_value", "prompt is required");
  TurnPlan plan;
  plan.user = user;
  plan.conversation_id = id;
  plan.prompt = read_prompt(ctx, body["prompt"], "prompt");
  plan.sampling = read_sampling(ctx, body);
  plan.plugins = read_plugins(body);
  plan.constrain_commands = read_constrain_commands(body);
  must_get(ctx, user, id);
  for (const auto& r : ctx.store.records(user.id, id)) plan.history.push_back(r.turn);
  respond_turn(ctx, res, prepare_turn(ctx, std::move(plan)), read_stream_flag(body));
}

void regenerate(ServerContext& ctx, const httplib::Request& req, httplib::Response& res, const UserRow& user) {
  const std::string id = req.matches[1];
  json body = req.body.empty() ? json::object() : parse_body(req);
  std::set<std::string> fields = kTurnFields;
  fields.erase("prompt");
  check_fields(body, fields);
  TurnPlan plan;
  plan.user = user;
  plan.conversation_id = id;
  plan.sampling = read_sampling(ctx, body);
  plan.plugins = read_plugins(body);
  plan.constrain_commands = read_constrain_commands(body);
  must_get(ctx, user, id);
  auto records = ctx.store.records(user.id, id);
  if (records.empty()) http_fail(409, "nothing_to_regenerate", "the conversation has no answer to regenerate");
  plan.prompt = records.back().turn.human;
  plan.replaced_images = records.back().turn.images;
  records.pop_back();
  for (const auto& r : records) plan.history.push_back(r.turn);
  plan.replace_last = true;
  respond_turn(ctx, res, prepare_turn(ctx, std::move(plan)), read_stream_flag(body));
}

void feedback(ServerContext& ctx, const httplib::Request& req, httplib::Response& res, const UserRow& user) {
  const std::string id = req.matches[1];
  int64_t rid = 0;
  try {
    rid = std::stoll(req.matches[2]);
  } catch (...) {
    http_fail(404, "not_found", "no such record");
  }
  json body = parse_body(req);
  check_fields(body, {"rating", "feedback"});
  std::optional<int> rating;
  if (body.contains("rating") && !body["rating"].is_null()) {
    const json& r = body["rating"];
    if (r == "like" || r == 1) rating = 1;
    else if (r == "dislike" || r == -1) rating = -1;
    else if (r == "none" || r == 0) rating = 0;
    else http_fail(400, "invalid_value", "rating must be \"like\", \"dislike\" or \"none\"");
  }
  std::optional<std::string> text;
  if (body.contains("feedback") && !body["feedback"].is_null()) {
    if (!body["feedback"].is_string()) http_fail(400, "invalid_value", "feedback must be a string");
    text = body["feedback"].get<std::string>();
    if (text->size() > 10000) http_fail(400, "invalid_value", "feedback is limited to 10000 bytes");
  }
  if (!ctx.store.set_feedback(user.id, id, rid, rating, text)) http_fail(404, "not_found", "no such record");
  for (const auto& r : ctx.store.records(user.id, id))
    if (r.id == rid) return send_json(res, 200, record_json(r));
  http_fail(404, "not_found", "no such record");
}

}  // namespace

void add_conversation_routes(ServerContext& ctx) {
  using Req = const httplib::Request&;
  using Res = httplib::Response&;
  add_route(ctx, Method::post, "/api/conversations", "/api/conversations", false,
            [](ServerContext& c, Req req, Res res, const UserRow& user) {
              json body = req.body.empty() ? json::object() : parse_body(req);
              check_fields(body, {"title"});
              std::string title = "New conversation";
              if (body.contains("title")) title = title_from(read_prompt(c, body["title"], "title"));
              send_json(res, 201, conversation_json(c.store.create_conversation(user.id, new_conversation_id(), title)));
            });
  add_route(ctx, Method::get, "/api/conversations", "/api/conversations", false,
            [](ServerContext& c, Req req, Res res, const UserRow& user) {
              int limit = 100;
              if (req.has_param("limit")) {
                try {
                  limit = std::stoi(req.get_param_value("limit"));
                } catch (...) {
                  http_fail(400, "invalid_value", "limit must be an integer");
                }
                if (limit < 1 || limit > 1000) http_fail(400, "invalid_value", "limit must be in [1, 1000]");
              }
              json list = json::array();
              for (const auto& conv : c.store.list_conversations(user.id, limit)) list.push_back(conversation_json(conv));
              send_json(res, 200, json{{"conversations", std::move(list)}});
            });
  add_route(ctx, Method::get, "/api/conversations/" + kId, "/api/conversations/{id}", false,
            [](ServerContext& c, Req req, Res res, const UserRow& user) {
              send_json(res, 200, full_conversation(c, user, req.matches[1]));
            });
  add_route(ctx, Method::patch, "/api/conversations/" + kId, "/api/conversations/{id}", false,
            [](ServerContext& c, Req req, Res res, const UserRow& user) {
              json body = parse_body(req);
              check_fields(body, {"title"});
              if (!body.contains("title")) http_fail(400, "invalid_value", "title is required");
              const std::string title = title_from(read_prompt(c, body["title"], "title"));
              if (!c.store.rename_conversation(user.id, req.matches[1], title))
                http_fail(404, "not_found", "no such conversation");
              send_json(res, 200, conversation_json(must_get(c, user, req.matches[1])));
            });
  add_route(ctx, Method::del, "/api/conversations/" + kId, "/api/conversations/{id}", false,
            [](ServerContext& c, Req req, Res res, const UserRow& user) {
              const std::string id = req.matches[1];
              must_get(c, user, id);
              if (c.turns.running(user.id, id))
                http_fail(409, "turn_in_progress", "an answer is being generated; stop it first");
              std::vector<std::string> images;
              for (const auto& r : c.store.records(user.id, id))
                images.insert(images.end(), r.turn.images.begin(), r.turn.images.end());
              if (!c.store.delete_conversation(user.id, id)) http_fail(404, "not_found", "no such conversation");
              remove_unreferenced_images(c.store, user.id, c.config.image_dir, images);
              send_json(res, 200, json{{"id", id}, {"deleted", true}});
            });
  add_route(ctx, Method::post, "/api/conversations/" + kId + "/messages", "/api/conversations/{id}/messages", false,
            post_message);
  add_route(ctx, Method::post, "/api/conversations/" + kId + "/regenerate", "/api/conversations/{id}/regenerate",
            false, regenerate);
  add_route(ctx, Method::post, "/api/conversations/" + kId + "/stop", "/api/conversations/{id}/stop", false,
            [](ServerContext& c, Req req, Res res, const UserRow& user) {
              const std::string id = req.matches[1];
              must_get(c, user, id);
              if (!c.turns.stop(user.id, id)) http_fail(409, "not_running", "no answer is being generated here");
              send_json(res, 200, json{{"id", id}, {"stopping", true}});
            });
  add_route(ctx, Method::post, "/api/conversations/" + kId + "/records/([0-9]{1,18})/feedback",
            "/api/conversations/{id}/records/{rid}/feedback", false, feedback);
}

}  // namespace moss::server
