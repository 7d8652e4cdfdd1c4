// Internal to the server: the state shared by the route handlers, the error type they throw, and
// helpers for JSON bodies and SSE. Not part of the public server interface.
#pragma once
#include <httplib.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "server/active_turns.h"
#include "server/metrics.h"
#include "server/moderation.h"
#include "server/rate_limiter.h"
#include "server/server.h"

namespace moss::server {

using json = nlohmann::json;

// Thrown by handlers; becomes {"error": {"message", "type", "code"}} with the status.
struct HttpError {
  int status;
  std::string code;
  std::string message;
};
[[noreturn]] inline void http_fail(int status, std::string code, std::string message) {
  throw HttpError{status, std::move(code), std::move(message)};
}

struct ServerContext {
  ServerContext(ServerConfig c, Store& s, ChatEngine& e)
      : config(std::move(c)), store(s), engine(e), limiter(config.rate_per_minute, config.rate_burst) {}
  ServerConfig config;
  Store& store;
  ChatEngine& engine;
  Metrics metrics;
  RateLimiter limiter;
  ActiveTurns turns;
  std::optional<Moderator> moderator;
  std::atomic<bool> open_mode{false};
  int listen_fd = -1;  // set while binding (see Server::start)
  httplib::Server http;
};

// A handler of an authenticated route: the caller is resolved (or the open-mode user).
using RouteHandler = std::function<void(ServerContext&, const httplib::Request&, httplib::Response&, const UserRow&)>;
// Registers a route; `name` is the metrics label. Public routes skip authentication; routes with
// rate_limited = false are authenticated but not counted by the per-user rate limit.
enum class Method { get, post, patch, del };
void add_route(ServerContext& ctx, Method m, const std::string& pattern, const std::string& name, bool is_public,
               RouteHandler handler, bool rate_limited = true);

// Route groups (routes_*.cpp).
void add_openai_routes(ServerContext& ctx);
void add_moss_routes(ServerContext& ctx);
void add_conversation_routes(ServerContext& ctx);
void add_admin_routes(ServerContext& ctx);
void add_image_routes(ServerContext& ctx);  // routes_images.cpp
// CORS for ctx.config.cors_origins (cors.cpp): preflight answers and the headers of every reply.
void install_cors(ServerContext& ctx);

// JSON helpers.
json parse_body(const httplib::Request& req);  // 400 on malformed JSON or a non-object
void check_fields(const json& body, const std::set<std::string>& allowed);  // 400 on unknown fields
void send_json(httplib::Response& res, int status, const json& body);
json error_body(int status, const std::string& code, const std::string& message);
std::string sse_event(const std::string& event, const json& data);  // "event: E\ndata: {...}\n\n"
std::string sse_data(const std::string& data);                      // "data: ...\n\n"

// Reads the sampling fields shared by the APIs (temperature, top_p, top_k, repetition_penalty,
// seed, max_tokens, max_length, stop) over the server defaults; 400 when out of range.
SamplingParams read_sampling(const ServerContext& ctx, const json& body);
std::vector<std::string> read_plugins(const json& body);
// "constrain_commands": true/false (constrained decoding of the plugin Commands stage); absent = default.
std::optional<bool> read_constrain_commands(const json& body);
std::string read_prompt(const ServerContext& ctx, const json& value, const char* field);

json record_json(const RecordRow& r);
// {"name", "url": "/api/images/NAME", "mime_type"}: how records and streams show a picture.
json image_json(const std::string& name);
json conversation_json(const ConversationRow& c);
std::string new_conversation_id();  // 32 hex digits (128 random bits)
std::string title_from(const std::string& prompt);

}  // namespace moss::server
