// JSON and SSE helpers shared by the route files: error bodies, body parsing with unknown-field
// checks, the sampling / plugin / prompt fields common to every chat endpoint, and the JSON form of
// records and conversations.
#include "server/auth.h"
#include "server/server_context.h"

namespace moss::server {


json error_body(int status, const std::string& code, const std::string& message) {
  std::string type = "invalid_request_error";
  if (status == 401) type = "authentication_error";
  else if (status == 403) type = "permission_error";
  else if (status == 429) type = "rate_limit_error";
  else if (status >= 500) type = "server_error";
  return json{{"error", {{"message", message}, {"type", type}, {"code", code}}}};
}

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

json parse_body(const httplib::Request& req) {
  json body;
  try {
    body = json::parse(req.body);
  } catch (const json::parse_error& e) {
    http_fail(400, "invalid_json", std::string("request body is not valid JSON: ") + e.what());
  }
  if (!body.is_object()) http_fail(400, "invalid_json", "request body must be a JSON object");
  return body;
}

void check_fields(const json& body, const std::set<std::string>& allowed) {
  for (const auto& [k, v] : body.items())
    if (!allowed.count(k)) http_fail(400, "unknown_field", "unrecognized request field: " + k);
}

std::string sse_event(const std::string& event, const json& data) {
  return "event: " + event + "\ndata: " + data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}
std::string sse_data(const std::string& data) { return "data: " + data + "\n\n"; }

namespace {
double number_in(const json& body, const char* key, double lo, double hi, double dflt) {
  if (!body.contains(key) || body[key].is_null()) return dflt;
  if (!body[key].is_number()) http_fail(400, "invalid_value", std::string(key) + " must be a number");
  double v = body[key].get<double>();
  if (!(v >= lo && v <= hi))
    http_fail(400, "invalid_value", std::string(key) + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return v;
}
int64_t int_in(const json& body, const char* key, int64_t lo, int64_t hi, int64_t dflt) {
  if (!body.contains(key) || body[key].is_null()) return dflt;
  if (!body[key].is_number_integer()) http_fail(400, "invalid_value", std::string(key) + " must be an integer");
  int64_t v = body[key].get<int64_t>();
  if (v < lo || v > hi)
    http_fail(400, "invalid_value", std::string(key) + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return v;
}
}  // namespace

SamplingParams read_sampling(const ServerContext& ctx, const json& body) {
  SamplingParams p = ctx.config.defaults;
  p.temperature = static_cast<float>(number_in(body, "temperature", 0, 2, p.temperature));
  p.top_p = static_cast<float>(number_in(body, "top_p", 0, 1, p.top_p));
  if (body.contains("top_p") && p.top_p <= 0) http_fail(400, "invalid_value", "top_p must be > 0");
  p.top_k = static_cast<int>(int_in(body, "top_k", 0, 1 << 20, p.top_k));
  p.repetition_penalty = static_cast<float>(number_in(body, "repetition_penalty", 0.01, 10, p.repetition_penalty));
  if (body.contains("seed") && !body["seed"].is_null()) {
    if (!body["seed"].is_number_integer()) http_fail(400, "invalid_value", "seed must be an integer");
    p.seed = body["seed"].is_number_unsigned() ? body["seed"].get<uint64_t>()
                                               : static_cast<uint64_t>(body["seed"].get<int64_t>());
  }
  const char* max_key = body.contains("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  p.max_tokens = static_cast<int>(int_in(body, max_key, 1, 1 << 20, p.max_tokens));
  p.max_length = static_cast<int>(int_in(body, "max_length", 1, 1 << 20, p.max_length));
  if (body.contains("stop") && !body["stop"].is_null()) {
    const json& s = body["stop"];
    p.stop.clear();
    if (s.is_string()) p.stop.push_back(s.get<std::string>());
    else if (s.is_array() && s.size() <= 4) {
      for (const auto& x : s) {
        if (!x.is_string()) http_fail(400, "invalid_value", "stop must be a string or an array of strings");
        p.stop.push_back(x.get<std::string>());
      }
    } else http_fail(400, "invalid_value", "stop must be a string or an array of at most 4 strings");
    for (const auto& x : p.stop)
      if (x.empty() || x.size() > 256) http_fail(400, "invalid_value", "stop strings must have 1-256 bytes");
  }
  return p;
}

std::vector<std::string> read_plugins(const json& body) {
  std::vector<std::string> out;
  if (!body.contains("plugins") || body["plugins"].is_null()) return out;
  static const std::set<std::string> known = {"Search", "Calculate", "Solve", "Text2Image"};
  if (!body["plugins"].is_array()) http_fail(400, "invalid_value", "plugins must be an array of plugin names");
  for (const auto& p : body["plugins"]) {
    if (!p.is_string() || !known.count(p.get<std::string>()))
      http_fail(400, "invalid_value", "unknown plugin; known: Search, Calculate, Solve, Text2Image");
    out.push_back(p.get<std::string>());
  }
  return out;
}

std::optional<bool> read_constrain_commands(const json& body) {
  if (!body.contains("constrain_commands") || body["constrain_commands"].is_null()) return std::nullopt;
  if (!body["constrain_commands"].is_boolean()) http_fail(400, "invalid_value", "constrain_commands must be a boolean");
  return body["constrain_commands"].get<bool>();
}

std::string read_prompt(const ServerContext& ctx, const json& v, const char* field) {
  if (!v.is_string()) http_fail(400, "invalid_value", std::string(field) + " must be a string");
  std::string s = v.get<std::string>();
  if (s.empty()) http_fail(400, "invalid_value", std::string(field) + " must not be empty");
  if (s.size() > ctx.config.max_prompt_chars)
    http_fail(400, "context_length_exceeded",
              "The maximum context length is exceeded: " + std::string(field) + " has " + std::to_string(s.size()) +
                  " bytes, this server accepts " + std::to_string(ctx.config.max_prompt_chars));
  return s;
}

json image_json(const std::string& name) {
  return json{{"name", name}, {"url", "/api/images/" + name}, {"mime_type", image_mime_for_name(name)}};
}

json record_json(const RecordRow& r) {
  json images = json::array();
  for (const auto& name : r.turn.images) images.push_back(image_json(name));
  return json{{"id", r.id},
              {"seq", r.seq},
              {"human", r.turn.human},
              {"inner_thoughts", r.turn.inner_thoughts},
              {"commands", r.turn.commands},
              {"results", r.turn.results},
              {"answer", r.turn.answer},
              {"images", std::move(images)},
              {"finish_reason", r.finish_reason},
              {"usage", {{"prompt_tokens", r.usage.prompt_tokens}, {"completion_tokens", r.usage.completion_tokens}}},
              {"created_at", r.created_at},
              {"rating", r.rating == 1 ? "like" : r.rating == -1 ? "dislike" : "none"},
              {"feedback", r.feedback}};
}

json conversation_json(const ConversationRow& c) {
  return json{{"id", c.id},
              {"title", c.title},
              {"created_at", c.created_at},
              {"updated_at", c.updated_at},
              {"record_count", c.record_count}};
}

std::string new_conversation_id() { return random_hex(16); }

std::string title_from(const std::string& prompt) {
  std::string t = prompt.substr(0, 80);
  // Do not end inside a UTF-8 character.
  size_t n = t.size();
  if (n < prompt.size()) {
    size_t cut = n;
    while (cut > 0 && (static_cast<unsigned char>(prompt[cut]) & 0xC0) == 0x80) --cut;
    t.resize(cut);
  }
  for (auto& c : t)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return t;
}

}  // namespace moss::server
