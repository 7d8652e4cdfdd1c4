// HttpClient against a mock server on 127.0.0.1: bodies, JSON POST, HTTP errors, timeouts, the
// response-size cap, and the http/https-only rule (also for redirects).
#include "plugins/http_client.h"

#include <gtest/gtest.h>

#include "http_test_server.h"
#include "util/error.h"

namespace moss {
namespace {

using testing::TestServer;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& s = srv.server();
    s.Get("/hello", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content("hi " + req.get_param_value("q") + " " + req.get_header_value("X-Key"),
                      "text/plain");
    });
    s.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.get_header_value("Content-Type") + "|" + req.body, "application/json");
    });
    s.Get("/missing", [](const httplib::Request&, httplib::Response& res) {
      res.status = 404;
      res.set_content("no such\nthing", "text/plain");
    });
    s.Get("/slow", [this](const httplib::Request&, httplib::Response& res) {
      srv.wait_or_stop(3000);
      res.set_content("late", "text/plain");
    });
    s.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(100000, 'x'), "text/plain");
    });
    s.Get("/to-file", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("file:///etc/passwd");
    });
    s.Get("/to-hello", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("/hello?q=moved");
    });
    srv.start();
  }
  TestServer srv;
};

TEST_F(HttpClientTest, GetWithHeadersAndQuery) {
  HttpClient c;
  const HttpResponse r = c.get(srv.base_url() + "/hello?q=" + url_encode("a b"), {{"X-Key", "k1"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hi a b k1");
  EXPECT_EQ(r.content_type.rfind("text/plain", 0), 0u);
}

TEST_F(HttpClientTest, PostJson) {
  HttpClient c;
  const HttpResponse r = c.post_json(srv.base_url() + "/echo", R"({"a":1})");
  EXPECT_EQ(r.body, R"(application/json|{"a":1})");
}

TEST_F(HttpClientTest, HttpErrorStatusThrowsWithStatusAndBody) {
  HttpClient c;
  const std::string msg = error_of([&] { c.get(srv.base_url() + "/missing?key=secret"); });
  EXPECT_NE(msg.find("HTTP 404"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no such thing"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("secret"), std::string::npos) << "query strings are not echoed: " << msg;
}

TEST_F(HttpClientTest, TimeoutIsAnError) {
  HttpOptions o;
  o.timeout_ms = 200;
  HttpClient c(o);
  const std::string msg = error_of([&] { c.get(srv.base_url() + "/slow"); });
  EXPECT_NE(msg.find("timed out after 200 ms"), std::string::npos) << msg;
}

TEST_F(HttpClientTest, ResponseSizeIsCapped) {
  HttpOptions o;
  o.max_response_bytes = 1024;
  HttpClient c(o);
  const std::string msg = error_of([&] { c.get(srv.base_url() + "/big"); });
  EXPECT_NE(msg.find("larger than 1024 bytes"), std::string::npos) << msg;
}

TEST_F(HttpClientTest, RedirectsStayOnHttp) {
  HttpClient c;
  EXPECT_EQ(c.get(srv.base_url() + "/to-hello").body, "hi moved ");
  const std::string msg = error_of([&] { c.get(srv.base_url() + "/to-file"); });
  EXPECT_NE(msg, "<no error>");
  HttpOptions none;
  none.max_redirects = 0;
  EXPECT_EQ(HttpClient(none).get(srv.base_url() + "/to-hello").status, 302);
}

TEST_F(HttpClientTest, OnlyHttpSchemes) {
  HttpClient c;
  EXPECT_NE(error_of([&] { c.get("file:///etc/passwd"); }).find("only http://"), std::string::npos);
  EXPECT_NE(error_of([&] { c.get("ftp://127.0.0.1/"); }).find("only http://"), std::string::npos);
}

TEST(HttpClient, ConnectionRefusedIsAnError) {
  int port;
  {
    TestServer s;
    s.start();
    port = s.port();
  }  // closed: nothing listens there now (the OS does not hand the port out again at once)
  HttpClient c;
  const std::string msg = error_of([&] { c.get("http://127.0.0.1:" + std::to_string(port) + "/"); });
  EXPECT_NE(msg.find("GET http://127.0.0.1:"), std::string::npos) << msg;
}

TEST(HttpClient, UrlEncode) {
  EXPECT_EQ(url_encode("a b&c=d/é~_.-"), "a%20b%26c%3Dd%2F%C3%A9~_.-");
  EXPECT_EQ(url_encode("乔布斯"), "%E4%B9%94%E5%B8%83%E6%96%AF");
}

}  // namespace
}  // namespace moss
