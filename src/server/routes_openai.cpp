// OpenAI-compatible routes: POST /v1/chat/completions (JSON or SSE stream), GET /v1/models.
// Plain chat looks exactly like OpenAI's API, so the official clients work unchanged. MOSS extras
// ride in fields those clients ignore: request fields top_k, repetition_penalty, plugins,
// conversation_id; a top-level "moss" object in responses and chunks (conversation id, record id,
// inner thoughts / commands / results). See docs/api.md.
#include <ctime>

#include "server/server_context.h"
#include "server/turn_service.h"

namespace moss::server {

namespace {

const std::set<std::string> kChatFields = {
    // OpenAI fields we honour
    "model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens", "temperature", "top_p",
    "seed", "stop", "n", "user",
    // OpenAI fields accepted and ignored (documented): penalties and logprobs are not implemented
    "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs",
    // MOSS extensions
    "top_k", "repetition_penalty", "plugins", "conversation_id", "constrain_commands"};

std::string message_text(const json& m) {
  if (!m.contains("content") || m["content"].is_null()) return "";
  const json& c = m["content"];
  if (c.is_string()) return c.get<std::string>();
  if (c.is_array()) {  // [{"type":"text","text":"..."}]
    std::string s;
    for (const auto& part : c) {
      if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
        http_fail(400, "invalid_value", "only text content parts are supported");
      s += part["text"].get<std::string>();
    }
    return s;
  }
  http_fail(400, "invalid_value", "message content must be a string or an array of text parts");
}

// Turns the OpenAI message list into MOSS records: each user message opens a record, the next
// assistant message is its answer. The last message must be the user's new prompt.
void read_messages(const ServerContext& ctx, const json& body, TurnPlan& plan) {
  if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty())
    http_fail(400, "invalid_value", "messages must be a non-empty array");
  const json& msgs = body["messages"];
  if (msgs.size() > static_cast<size_t>(ctx.config.max_messages))
    http_fail(400, "invalid_value", "too many messages (limit " + std::to_string(ctx.config.max_messages) + ")");
  size_t total = 0;
  for (size_t i = 0; i < msgs.size(); ++i) {
    const json& m = msgs[i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      http_fail(400, "invalid_value", "messages[" + std::to_string(i) + "] needs a string role");
    const std::string role = m["role"].get<std::string>();
    std::string text = message_text(m);
    total += text.size();
    if (total > ctx.config.max_prompt_chars * 4)
      http_fail(400, "context_length_exceeded", "The maximum context length is exceeded by the messages");
    const bool last = i + 1 == msgs.size();
    if (role == "system" || role == "developer") {
      if (!plan.system_prompt.empty()) plan.system_prompt += "\n";
      plan.system_prompt += text;
    } else if (role == "user") {
      if (last) {
        plan.prompt = read_prompt(ctx, json(text), "the last user message");
      } else {
        plan.imported.push_back(TurnRecord{text, "", "", "", ""});
      }
    } else if (role == "assistant") {
      if (last) http_fail(400, "invalid_value", "the last message must have role user");
      if (plan.imported.empty() || !plan.imported.back().answer.empty()) plan.imported.push_back(TurnRecord{});
      plan.imported.back().answer = text;
    } else {
      http_fail(400, "invalid_value", "unsupported message role '" + role + "' (use system, user, assistant)");
    }
  }
  if (plan.prompt.empty()) http_fail(400, "invalid_value", "the last message must have role user");
  plan.history = plan.imported;
}

std::string openai_finish(const std::string& r) { return r == "length" ? "length" : "stop"; }

json images_json(const TurnRecord& r) {
  json a = json::array();
  for (const auto& name : r.images) a.push_back(image_json(name));
  return a;
}

json usage_json(const TurnUsage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens}};
}

void chat_completions(ServerContext& ctx, const httplib::Request& req, httplib::Response& res, const UserRow& user) {
  json body = parse_body(req);
  check_fields(body, kChatFields);
  if (body.contains("n") && !(body["n"].is_number_integer() && body["n"].get<int64_t>() == 1))
    http_fail(400, "invalid_value", "only n = 1 is supported");
  if (body.contains("model") && !body["model"].is_string()) http_fail(400, "invalid_value", "model must be a string");
  if (body.contains("stream") && !body["stream"].is_boolean() && !body["stream"].is_null())
    http_fail(400, "invalid_value", "stream must be a boolean");
  TurnPlan plan;
  plan.user = user;
  plan.sampling = read_sampling(ctx, body);
  plan.plugins = read_plugins(body);
  plan.constrain_commands = read_constrain_commands(body);
  read_messages(ctx, body, plan);
  if (body.contains("conversation_id") && !body["conversation_id"].is_null()) {
    // Continue a stored conversation: its records are the history; earlier messages are ignored.
    if (!body["conversation_id"].is_string()) http_fail(400, "invalid_value", "conversation_id must be a string");
    plan.conversation_id = body["conversation_id"].get<std::string>();
    auto conv = ctx.store.conversation(user.id, plan.conversation_id);
    if (!conv) http_fail(404, "not_found", "no such conversation");
    plan.imported.clear();
    plan.history.clear();
    for (const auto& r : ctx.store.records(user.id, plan.conversation_id)) plan.history.push_back(r.turn);
  }
  const bool stream = body.contains("stream") && body["stream"].is_boolean() && body["stream"].get<bool>();
  bool include_usage = false;
  if (body.contains("stream_options") && !body["stream_options"].is_null()) {
    const json& so = body["stream_options"];
    if (!so.is_object()) http_fail(400, "invalid_value", "stream_options must be an object");
    if (so.contains("include_usage")) {
      if (!so["include_usage"].is_boolean()) http_fail(400, "invalid_value", "include_usage must be a boolean");
      include_usage = so["include_usage"].get<bool>();
    }
  }
  const std::string model = ctx.engine.model_name();
  const std::string id = "chatcmpl-" + new_conversation_id();
  const int64_t created = static_cast<int64_t>(std::time(nullptr));

  std::shared_ptr<PreparedTurn> turn = prepare_turn(ctx, std::move(plan));
  res.set_header("X-Moss-Conversation-Id", turn->conversation_id);

  if (!stream) {
    TurnOutcome out = execute_turn(*turn, nullptr);
    const TurnRecord& r = out.record.turn;
    send_json(res, 200,
              json{{"id", id},
                   {"object", "chat.completion"},
                   {"created", created},
                   {"model", model},
                   {"choices", json::array({json{{"index", 0},
                                                 {"message", {{"role", "assistant"}, {"content", r.answer}}},
                                                 {"logprobs", nullptr},
                                                 {"finish_reason", openai_finish(out.result.finish_reason)}}})},
                   {"usage", usage_json(out.result.usage)},
                   {"moss",
                    {{"conversation_id", turn->conversation_id},
                     {"record_id", out.record.id},
                     {"finish_reason", out.result.finish_reason},
                     {"inner_thoughts", r.inner_thoughts},
                     {"commands", r.commands},
                     {"results", r.results},
                     {"images", images_json(r)}}}});
    return;
  }

  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  ServerContext* c = &ctx;
  c->metrics.connection_opened();
  res.set_chunked_content_provider(
      "text/event-stream",
      [turn, id, created, model, include_usage](size_t, httplib::DataSink& sink) {
        auto chunk = [&](json delta, json finish, json moss) {
          json j{{"id", id},
                 {"object", "chat.completion.chunk"},
                 {"created", created},
                 {"model", model},
                 {"choices", json::array({json{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr},
                                               {"finish_reason", std::move(finish)}}})}};
          if (!moss.is_null()) j["moss"] = std::move(moss);
          const std::string s = sse_data(j.dump(-1, ' ', false, json::error_handler_t::replace));
          return sink.write(s.data(), s.size());
        };
        chunk(json{{"role", "assistant"}, {"content", ""}}, nullptr, json{{"conversation_id", turn->conversation_id}});
        try {
          TurnOutcome out = execute_turn(*turn, [&](Stage s, std::string_view text) {
            if (s == Stage::answer) return chunk(json{{"content", std::string(text)}}, nullptr, nullptr);
            // Plugin steps: an empty delta (ignored by OpenAI clients) plus the step in "moss".
            return chunk(json::object(), nullptr, json{{"stage", stage_name(s)}, {"text", std::string(text)}});
          }, [&](const std::string& name) { return chunk(json::object(), nullptr, json{{"stage", "image"}, {"image", image_json(name)}}); });
          chunk(json::object(), openai_finish(out.result.finish_reason),
                json{{"conversation_id", turn->conversation_id},
                     {"record_id", out.record.id},
                     {"finish_reason", out.result.finish_reason},
                     {"images", images_json(out.record.turn)}});
          if (include_usage) {
            json u{{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", model},
                   {"choices", json::array()}, {"usage", usage_json(out.result.usage)}};
            const std::string s = sse_data(u.dump(-1, ' ', false, json::error_handler_t::replace));
            sink.write(s.data(), s.size());
          }
        } catch (const HttpError& e) {
          const std::string s = sse_data(error_body(e.status, e.code, e.message).dump());
          sink.write(s.data(), s.size());
        } catch (const std::exception& e) {
          const std::string s = sse_data(error_body(500, "internal_error", e.what()).dump());
          sink.write(s.data(), s.size());
        }
        const std::string done = sse_data("[DONE]");
        sink.write(done.data(), done.size());
        sink.done();
        return true;
      },
      [c, turn](bool) mutable {
        c->metrics.connection_closed();
        turn.reset();
      });
}

json model_json(const ServerContext& ctx) {
  return json{{"id", ctx.engine.model_name()}, {"object", "model"}, {"created", 0}, {"owned_by", "moss.cpp"}};
}

}  // namespace

void add_openai_routes(ServerContext& ctx) {
  add_route(ctx, Method::post, "/v1/chat/completions", "/v1/chat/completions", false, chat_completions);
  add_route(ctx, Method::get, "/v1/models", "/v1/models", false,
            [](ServerContext& c, const httplib::Request&, httplib::Response& res, const UserRow&) {
              send_json(res, 200, json{{"object", "list"}, {"data", json::array({model_json(c)})}});
            });
  add_route(ctx, Method::get, R"(/v1/models/([^/]+))", "/v1/models/{id}", false,
            [](ServerContext& c, const httplib::Request& req, httplib::Response& res, const UserRow&) {
              if (req.matches[1] != c.engine.model_name()) http_fail(404, "model_not_found", "no such model");
              send_json(res, 200, model_json(c));
            });
}

}  // namespace moss::server
