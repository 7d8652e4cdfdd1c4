// Server lifecycle, and authentication / rate limiting / error mapping around every route.
#include "server/server.h"

#include <sys/socket.h>

#include <chrono>
#include <cstdio>

#include "server/auth.h"
#include "server/server_context.h"
#include "util/error.h"

namespace moss::server {

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

// ---------- routing ----------

namespace {
const char* method_name(Method m) {
  switch (m) {
    case Method::get: return "GET";
    case Method::post: return "POST";
    case Method::patch: return "PATCH";
    case Method::del: return "DELETE";
  }
  return "?";
}

UserRow authenticate(ServerContext& ctx, const httplib::Request& req) {
  // Open mode ends as soon as any user with a key exists (created by the API or `moss user add`).
  if (ctx.open_mode && ctx.store.count_key_users() > 0) ctx.open_mode = false;
  const std::string header = req.get_header_value("Authorization");
  std::optional<std::string> key = header.empty() ? std::nullopt : bearer_token(header);
  if (key) {
    if (auto u = ctx.store.user_by_key_hash(sha256_hex(*key))) return *u;
  }
  // In open mode any (or no) key is accepted: clients such as the openai npm package insist on
  // sending some key.
  if (ctx.open_mode) return ctx.store.open_mode_user();
  if (header.empty()) http_fail(401, "missing_api_key", "missing API key: send 'Authorization: Bearer KEY'");
  http_fail(401, "invalid_api_key", "invalid API key");
}
}  // namespace

void add_route(ServerContext& ctx, Method m, const std::string& pattern, const std::string& name, bool is_public,
               RouteHandler handler, bool rate_limited) {
  auto wrapped = [&ctx, name, is_public, rate_limited, handler = std::move(handler), m](const httplib::Request& req,
                                                                                         httplib::Response& res) {
    try {
      UserRow user;
      if (!is_public) {
        user = authenticate(ctx, req);
        if (int wait = rate_limited ? ctx.limiter.acquire(user.id) : 0) {
          res.set_header("Retry-After", std::to_string(wait));
          http_fail(429, "rate_limit_exceeded", "too many requests; retry in " + std::to_string(wait) + " s");
        }
      }
      handler(ctx, req, res, user);
    } catch (const HttpError& e) {
      send_json(res, e.status, error_body(e.status, e.code, e.message));
    } catch (const Error& e) {
      send_json(res, 400, error_body(400, "invalid_request", e.what()));
    } catch (const json::exception& e) {
      // A field of the wrong JSON type that a handler did not check explicitly.
      send_json(res, 400, error_body(400, "invalid_value", std::string("bad field type: ") + e.what()));
    } catch (const std::exception& e) {
      send_json(res, 500, error_body(500, "internal_error", e.what()));
    }
    ctx.metrics.count_request(method_name(m), name, res.status);
  };
  switch (m) {
    case Method::get: ctx.http.Get(pattern, wrapped); break;
    case Method::post: ctx.http.Post(pattern, wrapped); break;
    case Method::patch: ctx.http.Patch(pattern, wrapped); break;
    case Method::del: ctx.http.Delete(pattern, wrapped); break;
  }
}

// ---------- lifecycle ----------

Server::Server(ServerConfig config, Store& store, ChatEngine& engine)
    : ctx_(std::make_unique<ServerContext>(std::move(config), store, engine)) {
  auto& c = *ctx_;
  if (!c.config.moderation_file.empty()) c.moderator.emplace(c.config.moderation_file, c.config.moderation_mode);
  const size_t threads = static_cast<size_t>(std::max(2, c.config.threads));
  c.http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  c.http.set_payload_max_length(c.config.max_body_bytes);
  // The web UI: static files (GET/HEAD only; API routes are not files, so they fall through).
  if (!c.config.web_root.empty() && !c.http.set_mount_point("/", c.config.web_root))
    fail("web root ", c.config.web_root, " is not a folder");
  c.http.set_read_timeout(c.config.read_timeout_s, 0);
  c.http.set_write_timeout(c.config.write_timeout_s, 0);
  c.http.set_keep_alive_max_count(100);
  c.http.set_keep_alive_timeout(5);
  // Errors that never reached a handler (404, 413 body too large, 400 bad request line) get the
  // same JSON error shape; bodies set by our handlers are left alone.
  c.http.set_error_handler(httplib::Server::HandlerWithResponse([&c](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string code = res.status == 404 ? "not_found" : res.status == 413 ? "payload_too_large" : "bad_request";
    std::string msg = res.status == 404   ? "no such resource: " + req.method + " " + req.path
                      : res.status == 413 ? "request body larger than " + std::to_string(c.config.max_body_bytes) + " bytes"
                                          : "bad request";
    send_json(res, res.status, error_body(res.status, code, msg));
    if (res.status == 404 || res.status == 413) c.metrics.count_request(req.method, "unmatched", res.status);
    return httplib::Server::HandlerResponse::Handled;
  }));
  c.http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    send_json(res, 500, error_body(500, "internal_error", "internal error"));
  });
  if (c.config.log_requests)
    c.http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      std::fprintf(stderr, "%s %s %d %s\n", req.method.c_str(), req.path.c_str(), res.status, req.remote_addr.c_str());
    });
  add_openai_routes(c);
  add_moss_routes(c);
  add_conversation_routes(c);
  add_admin_routes(c);
  add_image_routes(c);
  install_cors(c);
}

Server::~Server() { stop(); }

bool Server::open_mode() const { return ctx_->open_mode; }

int Server::start() {
  auto& c = *ctx_;
  const bool loopback = is_loopback_host(c.config.host);
  const int64_t key_users = c.store.count_key_users();
  if (key_users == 0) {
    if (!loopback)
      fail("refusing to listen on ", c.config.host,
           " without API keys: create a user first with `moss user add NAME --db ...` (only loopback may run open)");
    c.open_mode = true;
  }
  // Our own socket options replace httplib's default (SO_REUSEADDR); we also keep the descriptor
  // to raise the listen backlog above httplib's built-in 5, so a burst of connections is queued by
  // the kernel instead of being dropped and retried.
  c.listen_fd = -1;
  c.http.set_socket_options([&c](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    c.listen_fd = sock;
  });
  if (c.config.port == 0) {
    port_ = c.http.bind_to_any_port(c.config.host);
    if (port_ <= 0) fail("cannot bind to ", c.config.host, " (any port)");
  } else {
    if (!c.http.bind_to_port(c.config.host, c.config.port))
      fail("cannot bind to ", c.config.host, ":", c.config.port, " (in use or not permitted?)");
    port_ = c.config.port;
  }
  if (c.listen_fd >= 0) ::listen(c.listen_fd, 1024);
  thread_ = std::thread([this] { ctx_->http.listen_after_bind(); });
  return port_;
}

void Server::stop() {
  if (!ctx_) return;
  // Running answers end now (stored as cancelled) so the worker threads can finish.
  ctx_->turns.cancel_all();
  ctx_->http.stop();
  ctx_->turns.cancel_all();  // any that started while the listener was closing
  if (thread_.joinable()) thread_.join();
}

void Server::wait() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace moss::server
