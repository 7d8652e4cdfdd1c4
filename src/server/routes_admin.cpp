// Service routes: GET /health and GET /metrics (public, no user data), GET /api/me, and the admin
// user routes (POST/GET /api/users, DELETE /api/users/NAME) that create and revoke API keys.
#include "server/auth.h"
#include "server/server_context.h"
#include "util/error.h"

namespace moss::server {

namespace {
void require_admin(const UserRow& user) {
  if (!user.is_admin) http_fail(403, "forbidden", "this needs an admin API key");
}
json user_json(const UserRow& u) {
  return json{{"id", u.id}, {"name", u.name}, {"admin", u.is_admin}, {"created_at", u.created_at}};
}
}  // namespace

void add_admin_routes(ServerContext& ctx) {
  using Req = const httplib::Request&;
  using Res = httplib::Response&;
  add_route(ctx, Method::get, "/health", "/health", true, [](ServerContext& c, Req, Res res, const UserRow&) {
    const EngineStats s = c.engine.stats();
    send_json(res, 200,
              json{{"status", "ok"}, {"model", c.engine.model_name()}, {"open_mode", c.open_mode.load()},
                   {"queue_depth", s.queue_depth}, {"running", s.running}});
  });
  add_route(ctx, Method::get, "/metrics", "/metrics", true, [](ServerContext& c, Req, Res res, const UserRow&) {
    res.set_content(c.metrics.render(c.engine.stats()), "text/plain; version=0.0.4");
  });
  add_route(ctx, Method::get, "/api/me", "/api/me", false, [](ServerContext& c, Req, Res res, const UserRow& user) {
    json j = user_json(user);
    j["open_mode"] = c.open_mode.load();
    send_json(res, 200, j);
  });
  add_route(ctx, Method::post, "/api/users", "/api/users", false,
            [](ServerContext& c, Req req, Res res, const UserRow& user) {
              require_admin(user);
              json body = parse_body(req);
              check_fields(body, {"name", "admin"});
              if (!body.contains("name") || !body["name"].is_string())
                http_fail(400, "invalid_value", "name (string) is required");
              if (body.contains("admin") && !body["admin"].is_boolean())
                http_fail(400, "invalid_value", "admin must be a boolean");
              const std::string key = generate_api_key();
              UserRow u;
              try {
                u = c.store.create_user(body["name"].get<std::string>(), sha256_hex(key), body.value("admin", false));
              } catch (const Error& e) {
                http_fail(std::string(e.what()).find("already exists") != std::string::npos ? 409 : 400,
                          "invalid_user", e.what());
              }
              json j = user_json(u);
              j["api_key"] = key;  // shown once; only its hash is stored
              send_json(res, 201, j);
            });
  add_route(ctx, Method::get, "/api/users", "/api/users", false,
            [](ServerContext& c, Req, Res res, const UserRow& user) {
              require_admin(user);
              json list = json::array();
              for (const auto& u : c.store.list_users())
                if (u.has_key) list.push_back(user_json(u));
              send_json(res, 200, json{{"users", std::move(list)}});
            });
  add_route(ctx, Method::del, R"(/api/users/([A-Za-z0-9_.@-]{1,64}))", "/api/users/{name}", false,
            [](ServerContext& c, Req req, Res res, const UserRow& user) {
              require_admin(user);
              const std::string name = req.matches[1];
              if (name == user.name) http_fail(400, "invalid_value", "an admin cannot delete itself");
              if (!c.store.delete_user(name)) http_fail(404, "not_found", "no such user");
              send_json(res, 200, json{{"name", name}, {"deleted", true}});
            });
}

}  // namespace moss::server
