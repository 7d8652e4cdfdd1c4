// CORS (`moss serve --cors-origin`): preflight answers for /v1 and /api paths, the headers on
// ordinary replies, refusal of other origins, and no CORS at all by default.
#include "server_fixture.h"
#include "util/error.h"

namespace moss::server::test {

class Cors : public ServerTest {
 protected:
  Reply send(const std::string& method, const std::string& path, const httplib::Headers& headers,
             const std::string& key = "") {
    httplib::Client cli("127.0.0.1", port_);
    cli.set_read_timeout(20, 0);
    httplib::Request req;
    req.method = method;
    req.path = path;
    req.headers = headers;
    if (!key.empty()) req.headers.emplace("Authorization", "Bearer " + key);
    auto res = cli.send(req);
    Reply r;
    if (res) {
      r.status = res->status;
      r.headers = res->headers;
      r.body = res->body;
    }
    return r;
  }
  static std::string header(const Reply& r, const std::string& k) {
    auto it = r.headers.find(k);
    return it == r.headers.end() ? std::string() : it->second;
  }
};

TEST_F(Cors, PreflightAndRepliesForAllowedOrigins) {
  config_.cors_origins = {"https://app.example.org", " http://localhost:5173"};  // blanks from "a, b" are trimmed
  start();
  for (const char* path : {"/v1/chat/completions", "/api/conversations", "/api/images/x.png"}) {
    Reply p = send("OPTIONS", path,
                   {{"Origin", "http://localhost:5173"},
                    {"Access-Control-Request-Method", "POST"},
                    {"Access-Control-Request-Headers", "authorization, content-type, x-stainless-os"}});
    EXPECT_EQ(p.status, 204) << path;
    EXPECT_EQ(header(p, "Access-Control-Allow-Origin"), "http://localhost:5173") << path;
    EXPECT_NE(header(p, "Access-Control-Allow-Methods").find("POST"), std::string::npos);
    EXPECT_NE(header(p, "Access-Control-Allow-Methods").find("DELETE"), std::string::npos);
    EXPECT_EQ(header(p, "Access-Control-Allow-Headers"), "authorization, content-type, x-stainless-os");
    EXPECT_EQ(header(p, "Vary"), "Origin");
    EXPECT_TRUE(header(p, "Access-Control-Allow-Credentials").empty());
  }
  // Without a list of asked headers, the two the API needs.
  Reply p = send("OPTIONS", "/api/chat", {{"Origin", "https://app.example.org"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(p.status, 204);
  EXPECT_EQ(header(p, "Access-Control-Allow-Headers"), "Authorization, Content-Type");

  // Ordinary replies (success, errors) carry the origin; the conversation id header is readable.
  Reply ok = send("GET", "/v1/models", {{"Origin", "https://app.example.org"}}, alice_);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(header(ok, "Access-Control-Allow-Origin"), "https://app.example.org");
  EXPECT_NE(header(ok, "Access-Control-Expose-Headers").find("X-Moss-Conversation-Id"), std::string::npos);
  Reply denied = send("GET", "/api/conversations", {{"Origin", "https://app.example.org"}});
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(header(denied, "Access-Control-Allow-Origin"), "https://app.example.org");

  // Other origins: preflight refused, replies without CORS headers (the browser blocks them).
  Reply evil = send("OPTIONS", "/v1/chat/completions", {{"Origin", "https://evil.example"}});
  EXPECT_EQ(evil.status, 403);
  EXPECT_TRUE(header(evil, "Access-Control-Allow-Origin").empty());
  Reply evil_get = send("GET", "/v1/models", {{"Origin", "https://evil.example"}}, alice_);
  EXPECT_EQ(evil_get.status, 200);
  EXPECT_TRUE(header(evil_get, "Access-Control-Allow-Origin").empty());
  // No Origin header (curl, SDKs outside browsers): no CORS headers.
  EXPECT_TRUE(header(send("GET", "/v1/models", {}, alice_), "Access-Control-Allow-Origin").empty());
  // Only the API paths get preflight answers.
  EXPECT_EQ(send("OPTIONS", "/health", {{"Origin", "https://app.example.org"}}).status, 404);
}

TEST_F(Cors, WildcardAllowsAnyOrigin) {
  config_.cors_origins = {"*"};
  start();
  Reply p = send("OPTIONS", "/v1/models", {{"Origin", "https://anything.example"}});
  EXPECT_EQ(p.status, 204);
  EXPECT_EQ(header(p, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(header(send("GET", "/v1/models", {{"Origin", "null"}}, alice_), "Access-Control-Allow-Origin"), "*");
}

TEST_F(Cors, NoneByDefault) {
  start();
  Reply p = send("OPTIONS", "/v1/chat/completions", {{"Origin", "https://app.example.org"}});
  EXPECT_EQ(p.status, 404);
  EXPECT_TRUE(header(p, "Access-Control-Allow-Origin").empty());
  Reply g = send("GET", "/v1/models", {{"Origin", "https://app.example.org"}}, alice_);
  EXPECT_EQ(g.status, 200);
  EXPECT_TRUE(header(g, "Access-Control-Allow-Origin").empty());
}

TEST_F(Cors, InvalidOriginsAreRefusedAtStart) {
  store_ = open_test_store();
  for (const char* bad : {"https://app.example.org/", "app.example.org", "https://a.example/path", "https://"}) {
    ServerConfig c = config_;
    c.cors_origins = {bad};
    EXPECT_THROW(Server(c, *store_, *engine_), Error) << bad;
  }
}

}  // namespace moss::server::test
