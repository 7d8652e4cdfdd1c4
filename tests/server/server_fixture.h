// Test harness for the server: a store, a FakeEngine, and a Server on 127.0.0.1 with a free port;
// plus a small HTTP helper and an SSE parser built on httplib::Client.
// The store is a SqliteStore in a temporary folder, or, with MOSS_TEST_STORE=postgres and
// MOSS_TEST_POSTGRES_URL=postgresql://... (scripts/start_postgres.sh prints one), a PgStore in a
// fresh schema per test: the same tests then run against PostgreSQL.
#pragma once
#include <gtest/gtest.h>
#include <httplib.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "server/auth.h"
#include "server/fake_engine.h"
#include "server/server.h"
#include "server/sqlite_store.h"
#ifdef MOSS_HAVE_POSTGRES
#include "server/pg_store.h"
#endif

namespace moss::server::test {

using json = nlohmann::json;

struct Reply {
  int status = 0;  // 0 = no response (connection failed)
  std::string body;
  httplib::Headers headers;
  json j() const { return json::parse(body, nullptr, false); }
};

struct SseEvent {
  std::string event;  // "" for unnamed (OpenAI) events
  std::string data;
};

// Splits an SSE byte stream into events ("event:" and "data:" lines, blank-line separated).
inline std::vector<SseEvent> parse_sse(const std::string& text) {
  std::vector<SseEvent> out;
  SseEvent cur;
  bool any = false;
  size_t i = 0;
  while (i < text.size()) {
    size_t nl = text.find('\n', i);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(i, nl - i);
    i = nl + 1;
    if (line.empty()) {
      if (any) out.push_back(cur);
      cur = {};
      any = false;
    } else if (line.rfind("event: ", 0) == 0) {
      cur.event = line.substr(7);
      any = true;
    } else if (line.rfind("data: ", 0) == 0) {
      cur.data += line.substr(6);
      any = true;
    }
  }
  return out;
}

class Http {
 public:
  explicit Http(int port) : port_(port) {}
  // One request on a fresh connection. `stop_after` > 0 closes the connection once that many body
  // bytes arrived (a client disconnecting mid-stream).
  Reply call(const std::string& method, const std::string& path, const std::string& body = "",
             const std::string& key = "", size_t stop_after = 0) const {
    httplib::Client cli("127.0.0.1", port_);
    cli.set_read_timeout(20, 0);
    cli.set_connection_timeout(5, 0);
    httplib::Request req;
    req.method = method;
    req.path = path;
    if (!key.empty()) req.headers.emplace("Authorization", "Bearer " + key);
    if (!body.empty() || method == "POST" || method == "PATCH") {
      req.body = body;
      req.headers.emplace("Content-Type", "application/json");
    }
    std::string received;
    req.content_receiver = [&](const char* d, size_t n, uint64_t, uint64_t) {
      received.append(d, n);
      return stop_after == 0 || received.size() < stop_after;
    };
    auto res = cli.send(req);
    Reply r;
    if (res) {
      r.status = res->status;
      r.headers = res->headers;
    }
    r.body = received;
    return r;
  }
  Reply get(const std::string& path, const std::string& key = "") const { return call("GET", path, "", key); }
  Reply post(const std::string& path, const json& body, const std::string& key = "") const {
    return call("POST", path, body.dump(), key);
  }

 private:
  int port_;
};

// Waits (bounded) until pred() holds; returns whether it did. Used to wait for the server to reach
// a state, never to assert on timing.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(10000)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("moss_server_test_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" +
            std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_path_ = (dir_ / "moss.db").string();
    config_.host = "127.0.0.1";
    config_.port = 0;
    config_.rate_per_minute = 0;  // rate limits are tested explicitly
    engine_ = std::make_unique<FakeEngine>(std::chrono::milliseconds(0));
    std::string suffix = std::string(info->test_suite_name()) + "_" + info->name();
    pg_schema_ = std::string("t").append(std::to_string(::getpid())).append("_");
    for (char c : suffix)
      if (pg_schema_.size() < 63) pg_schema_ += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
  }
  void TearDown() override {
    stop();
    std::filesystem::remove_all(dir_);
#ifdef MOSS_HAVE_POSTGRES
    if (using_postgres()) PgStore::drop_schema(pg_url(), pg_schema_);
#endif
  }

  static std::string pg_url() {
    const char* u = std::getenv("MOSS_TEST_POSTGRES_URL");
    return u ? u : "";
  }
  // Whether this test runs on PostgreSQL (MOSS_TEST_STORE=postgres) instead of SQLite.
  bool using_postgres() const {
    const char* s = std::getenv("MOSS_TEST_STORE");
    return !force_sqlite_ && s && std::string(s) == "postgres";
  }
  std::unique_ptr<Store> open_test_store() {
    if (using_postgres()) {
#ifdef MOSS_HAVE_POSTGRES
      if (pg_url().empty())
        throw std::runtime_error(
            "MOSS_TEST_STORE=postgres needs MOSS_TEST_POSTGRES_URL; start a local test server with "
            "`export MOSS_TEST_POSTGRES_URL=$(bash scripts/start_postgres.sh)` (scripts/test.sh does this)");
      return std::make_unique<PgStore>(pg_url(), pg_schema_);
#else
      throw std::runtime_error("MOSS_TEST_STORE=postgres, but this build has no PostgreSQL support");
#endif
    }
    return std::make_unique<SqliteStore>(db_path_);
  }

  // Opens the store (adds users alice and bob unless open) and starts the server.
  void start(bool with_users = true) {
    store_ = open_test_store();
    if (with_users && alice_.empty()) {
      alice_ = add_user("alice", true);
      bob_ = add_user("bob", false);
    }
    server_ = std::make_unique<Server>(config_, *store_, *engine_);
    port_ = server_->start();
    http_ = std::make_unique<Http>(port_);
  }
  void stop() {
    if (engine_) engine_->release_held();
    server_.reset();
    store_.reset();
  }
  std::string add_user(const std::string& name, bool admin) {
    const std::string key = generate_api_key();
    store_->create_user(name, sha256_hex(key), admin);
    return key;
  }
  const Http& http() { return *http_; }

  std::filesystem::path dir_;
  std::string db_path_;
  ServerConfig config_;
  std::unique_ptr<FakeEngine> engine_;
  std::unique_ptr<Store> store_;
  std::string pg_schema_;
  bool force_sqlite_ = false;  // for tests of SQLite files and of the CLI
  std::unique_ptr<Server> server_;
  std::unique_ptr<Http> http_;
  int port_ = 0;
  std::string alice_, bob_;  // API keys
};

}  // namespace moss::server::test
