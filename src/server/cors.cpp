// CORS for `moss serve --cors-origin ORIGIN` (see docs/api.md): with allowed origins configured,
// a preflight OPTIONS request to a /v1/ or /api/ path from an allowed origin is answered 204 with
// the allowed methods and headers (403 for any other origin), and every reply to a request with an
// allowed Origin header carries Access-Control-Allow-Origin. Without configured origins nothing
// here is installed: no CORS headers at all, OPTIONS stays 404. Credentials (cookies) are never
// allowed: the API authenticates with a Bearer key the page sends itself.
#include <cctype>

#include "server/server_context.h"
#include "util/error.h"

namespace moss::server {

namespace {

bool valid_origin(const std::string& o) {
  if (o == "*") return true;
  const size_t scheme = o.find("://");
  if (scheme == std::string::npos || scheme == 0) return false;
  const std::string rest = o.substr(scheme + 3);
  if (rest.empty()) return false;
  // An Origin header is scheme://host[:port]: no path, no trailing slash, no user info.
  for (char c : rest)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']'))
      return false;
  return true;
}

// Header names a preflight asks for: echoed back when they are plain tokens (the OpenAI browser
// SDK sends several X-Stainless-* headers, so a fixed list would break it).
bool plain_header_list(const std::string& s) {
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ',' || c == ' ')) return false;
  return true;
}

bool api_path(const std::string& p) { return p.rfind("/v1/", 0) == 0 || p.rfind("/api/", 0) == 0; }

}  // namespace

void install_cors(ServerContext& ctx) {
  std::vector<std::string> origins;
  for (std::string o : ctx.config.cors_origins) {  // "a, b" from a comma list: trim the blanks
    while (!o.empty() && std::isspace(static_cast<unsigned char>(o.back()))) o.pop_back();
    while (!o.empty() && std::isspace(static_cast<unsigned char>(o.front()))) o.erase(0, 1);
    if (o.empty()) continue;
    if (!valid_origin(o))
      fail("invalid CORS origin '", o, "': use scheme://host[:port] without a path or trailing slash, or *");
    origins.push_back(o);
  }
  if (origins.empty()) return;
  // The value of Access-Control-Allow-Origin for a request's Origin header; "" = not allowed.
  auto allow_for = [origins](const std::string& origin) -> std::string {
    if (origin.empty()) return "";
    for (const auto& o : origins) {
      if (o == "*") return "*";
      if (o == origin) return origin;
    }
    return "";
  };
  ctx.http.set_pre_routing_handler([allow_for](const httplib::Request& req, httplib::Response& res) {
    if (req.method != "OPTIONS" || !api_path(req.path)) return httplib::Server::HandlerResponse::Unhandled;
    const std::string origin = req.get_header_value("Origin");
    if (allow_for(origin).empty()) {
      send_json(res, 403, error_body(403, "cors_origin_not_allowed",
                                     "cross-origin requests from '" + origin + "' are not allowed (--cors-origin)"));
      return httplib::Server::HandlerResponse::Handled;
    }
    res.status = 204;
    res.set_header("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS");
    const std::string asked = req.get_header_value("Access-Control-Request-Headers");
    res.set_header("Access-Control-Allow-Headers",
                   !asked.empty() && asked.size() <= 1000 && plain_header_list(asked) ? asked : "Authorization, Content-Type");
    res.set_header("Access-Control-Max-Age", "600");
    return httplib::Server::HandlerResponse::Handled;
  });
  // Runs for every reply just before its headers are written (handlers, errors, static files).
  ctx.http.set_post_routing_handler([allow_for](const httplib::Request& req, httplib::Response& res) {
    const std::string allow = allow_for(req.get_header_value("Origin"));
    if (allow.empty()) return;
    res.set_header("Access-Control-Allow-Origin", allow);
    if (allow != "*") res.set_header("Vary", "Origin");
    res.set_header("Access-Control-Expose-Headers", "X-Moss-Conversation-Id, Retry-After");
  });
}

}  // namespace moss::server
