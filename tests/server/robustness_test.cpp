// Hostile and heavy traffic: bad keys, huge bodies and prompts, a client vanishing mid-stream, a
// burst of 200 concurrent connections, rate limits, restart persistence, open mode rules, admin
// key management, moderation and /metrics. The server must answer 4xx and keep serving.
#include <atomic>

#include "server_fixture.h"
#include "util/error.h"

namespace moss::server::test {

class Robustness : public ServerTest {};

TEST_F(Robustness, AuthErrors) {
  start();
  EXPECT_EQ(http().get("/api/conversations").status, 401);
  EXPECT_EQ(http().get("/api/conversations", "moss-0000").status, 401);
  Reply r = http().call("GET", "/v1/models", "", "");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.j()["error"]["type"], "authentication_error");
  EXPECT_EQ(http().post("/v1/chat/completions", json{{"messages", {{{"role", "user"}, {"content", "x"}}}}}, "nope").status, 401);
  // Public routes need no key.
  EXPECT_EQ(http().get("/health").status, 200);
  EXPECT_EQ(http().get("/metrics").status, 200);
  EXPECT_EQ(http().get("/no/such/route", alice_).status, 404);
  EXPECT_EQ(http().get("/no/such/route", alice_).j()["error"]["code"], "not_found");
}

TEST_F(Robustness, HugeBodiesAndPrompts) {
  config_.max_body_bytes = 256 * 1024;
  config_.max_prompt_chars = 32768;
  start();
  // A body over the limit: 413 with a JSON error, server fine afterwards.
  Reply big = http().call("POST", "/api/chat", json{{"prompt", std::string(400 * 1024, 'a')}}.dump(), alice_);
  EXPECT_EQ(big.status, 413);
  // A 100k-character prompt inside the body limit: 400 context_length_exceeded.
  Reply longp = http().post("/api/chat", json{{"prompt", std::string(100000, 'b')}}, alice_);
  EXPECT_EQ(longp.status, 400);
  EXPECT_EQ(longp.j()["error"]["code"], "context_length_exceeded");
  json oa{{"messages", {{{"role", "user"}, {"content", std::string(100000, 'c')}}}}};
  EXPECT_EQ(http().post("/v1/chat/completions", oa, alice_).status, 400);
  // Odd but valid UTF-8 and control characters are stored and returned intact.
  const std::string odd = "被\u0001\"\\</script>\xF0\x9F\x98\x80";
  Reply ok = http().post("/api/chat", json{{"prompt", odd}}, alice_);
  ASSERT_EQ(ok.status, 200);
  EXPECT_EQ(ok.j()["history"][0][0], odd);
  // Invalid UTF-8 inside JSON is rejected by the parser.
  EXPECT_EQ(http().call("POST", "/api/chat", "{\"prompt\":\"\xff\xfe\"}", alice_).status, 400);
  EXPECT_EQ(http().get("/health").status, 200);
  EXPECT_TRUE(http().get("/api/conversations", alice_).j()["conversations"].size() == 1);
}

TEST_F(Robustness, ClientDisconnectMidStreamIsRecorded) {
  engine_ = std::make_unique<FakeEngine>(std::chrono::milliseconds(2));
  std::string words;
  for (int i = 0; i < 400; ++i) words += "word" + std::to_string(i) + " ";
  engine_->script("tell me a long story", TurnRecord{"", "", "", "", words});
  start();
  const std::string id = http().post("/api/conversations", json::object(), alice_).j()["id"];
  // Read ~200 bytes of the stream, then hang up.
  Reply cut = http().call("POST", "/api/conversations/" + id + "/messages",
                          json{{"prompt", "tell me a long story"}, {"stream", true}}.dump(), alice_, 200);
  EXPECT_LT(cut.body.size(), 2000u);
  // The server notices at its next write, cancels the turn and stores what was generated.
  ASSERT_TRUE(eventually([&] {
    return http().get("/api/conversations/" + id, alice_).j()["records"].size() == 1;
  }));
  json rec = http().get("/api/conversations/" + id, alice_).j()["records"][0];
  EXPECT_EQ(rec["finish_reason"], "cancelled");
  const std::string answer = rec["answer"];
  EXPECT_EQ(answer.rfind("word0 word1 ", 0), 0u);
  EXPECT_LT(answer.size(), words.size());
  // And keeps serving, with Alice's slot free again.
  EXPECT_TRUE(eventually([&] { return http().post("/api/chat", json{{"prompt", "still there?"}}, alice_).status == 200; }));
}

TEST_F(Robustness, BurstOf200Connections) {
  config_.threads = 32;
  start();
  // 20 users each send one chat; everything else asks for the model list.
  std::vector<std::string> keys;
  for (int i = 0; i < 20; ++i) keys.push_back(add_user(std::string("u").append(std::to_string(i)), false));
  std::atomic<int> ok{0}, bad{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 200; ++i) {
    threads.emplace_back([&, i] {
      Reply r = i % 10 == 0 ? http().post("/api/chat", json{{"prompt", "burst " + std::to_string(i)}}, keys[i / 10])
                            : http().get("/v1/models", alice_);
      (r.status == 200 ? ok : bad)++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 200);
  EXPECT_EQ(bad.load(), 0);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(http().get("/api/conversations", keys[i]).j()["conversations"].size(), 1u);
}

TEST_F(Robustness, RateLimitPerUser) {
  config_.rate_per_minute = 1;  // refills one request per minute: no refill during the test
  config_.rate_burst = 3;
  start();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(http().get("/api/conversations", alice_).status, 200);
  Reply r = http().get("/api/conversations", alice_);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.j()["error"]["type"], "rate_limit_error");
  EXPECT_FALSE(r.headers.find("Retry-After") == r.headers.end());
  EXPECT_EQ(http().get("/api/conversations", bob_).status, 200);
}

TEST_F(Robustness, PersistsAcrossRestart) {
  start();
  const std::string uid = http().post("/api/chat", json{{"prompt", "remember me"}}, alice_).j()["uid"];
  stop();
  start();  // same file, same users
  Reply r = http().get("/api/conversations/" + uid, alice_);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.j()["records"][0]["human"], "remember me");
  EXPECT_EQ(http().post("/api/chat", json{{"prompt", "again"}, {"uid", uid}}, alice_).j()["history"].size(), 2u);
}

TEST_F(Robustness, ShutdownStoresRunningAnswersAsCancelled) {
  start();
  const std::string id = http().post("/api/conversations", json::object(), alice_).j()["id"];
  Reply streamed;
  std::thread t([&] {
    streamed = http().post("/api/conversations/" + id + "/messages", json{{"prompt", "[hold] x"}, {"stream", true}}, alice_);
  });
  ASSERT_TRUE(eventually([&] { return engine_->held_count() == 1; }));
  server_->stop();  // must not hang on the held turn
  t.join();
  auto ev = parse_sse(streamed.body);
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().event, "done");
  stop();
  start();
  json recs = http().get("/api/conversations/" + id, alice_).j()["records"];
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0]["finish_reason"], "cancelled");
}

TEST_F(Robustness, OpenModeOnlyOnLoopbackWithoutUsers) {
  config_.host = "0.0.0.0";
  store_ = open_test_store();
  {
    Server s(config_, *store_, *engine_);
    EXPECT_THROW(s.start(), Error);
  }
  config_.host = "127.0.0.1";
  start(false);
  EXPECT_TRUE(server_->open_mode());
  // No key, or any key (clients like the openai package always send one), works.
  EXPECT_EQ(http().post("/api/chat", json{{"prompt", "open"}}).status, 200);
  EXPECT_EQ(http().get("/api/conversations", "sk-anything").j()["conversations"].size(), 1u);
  // The open user is admin and may create the first key; from then on keys are required.
  Reply u = http().post("/api/users", json{{"name", "carol"}, {"admin", true}});
  ASSERT_EQ(u.status, 201) << u.body;
  const std::string carol = u.j()["api_key"];
  EXPECT_EQ(http().get("/api/conversations").status, 401);
  EXPECT_EQ(http().get("/api/me", carol).j()["name"], "carol");
  EXPECT_TRUE(http().get("/api/conversations", carol).j()["conversations"].empty());
}

TEST_F(Robustness, AdminCreatesAndRevokesKeys) {
  start();
  EXPECT_EQ(http().post("/api/users", json{{"name", "dave"}}, bob_).status, 403);
  Reply u = http().post("/api/users", json{{"name", "dave"}}, alice_);
  ASSERT_EQ(u.status, 201);
  const std::string dave = u.j()["api_key"];
  EXPECT_EQ(http().post("/api/users", json{{"name", "dave"}}, alice_).status, 409);
  EXPECT_EQ(http().post("/api/users", json{{"name", "no spaces"}}, alice_).status, 400);
  EXPECT_EQ(http().get("/api/me", dave).j()["admin"], false);
  EXPECT_EQ(http().get("/api/users", alice_).j()["users"].size(), 3u);
  // The key is stored hashed: the plain key is nowhere in the database file.
  stop();
  if (!using_postgres()) {
    FILE* f = std::fopen(db_path_.c_str(), "rb");
    std::string all;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) all.append(buf, n);
    std::fclose(f);
    EXPECT_EQ(all.find(dave), std::string::npos);
    EXPECT_NE(all.find(sha256_hex(dave)), std::string::npos);
  }
  start();
  EXPECT_EQ(http().call("DELETE", "/api/users/dave", "", alice_).status, 200);
  EXPECT_EQ(http().get("/api/me", dave).status, 401);
}

TEST_F(Robustness, ModerationBlocksPromptsAndMasksAnswers) {
  const std::string list = (dir_ / "words.txt").string();
  {
    FILE* f = std::fopen(list.c_str(), "w");
    std::fputs("# blocked words\nforbidden\nsecretword\n", f);
    std::fclose(f);
  }
  config_.moderation_file = list;
  config_.moderation_mode = "block";
  engine_->script("tell", TurnRecord{"", "", "", "", "the SecretWord is out"});
  start();
  Reply r = http().post("/api/chat", json{{"prompt", "say FORBIDDEN things"}}, alice_);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.j()["error"]["code"], "sensitive");
  EXPECT_EQ(http().post("/api/chat", json{{"prompt", "tell"}}, alice_).j()["response"], "the ********** is out");
  Reply s = http().post("/api/chat/stream", json{{"prompt", "tell"}}, alice_);
  std::string text;
  for (const auto& e : parse_sse(s.body))
    if (e.event == "answer") text += json::parse(e.data)["text"].get<std::string>();
  EXPECT_EQ(text, "the ********** is out");
}

TEST_F(Robustness, MetricsReportTraffic) {
  start();
  http().post("/api/chat", json{{"prompt", "count me"}}, alice_);
  http().get("/api/conversations", "bad-key");
  std::string m = http().get("/metrics").body;
  EXPECT_NE(m.find("moss_http_requests_total{method=\"POST\",route=\"/api/chat\",code=\"200\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("route=\"/api/conversations\",code=\"401\"} 1"), std::string::npos);
  EXPECT_NE(m.find("moss_turns_total{finish_reason=\"stop\"} 1"), std::string::npos);
  EXPECT_NE(m.find("moss_completion_tokens_total 9"), std::string::npos);
  EXPECT_NE(m.find("moss_queue_depth 0"), std::string::npos);
  EXPECT_NE(m.find("moss_kv_cache_usage_ratio"), std::string::npos);
  EXPECT_NE(m.find("moss_tokens_per_second"), std::string::npos);
  // The fake engine has no batched model: its batch counters are there and zero.
  EXPECT_NE(m.find("moss_batch_steps_total 0"), std::string::npos) << m;
  EXPECT_NE(m.find("moss_batch_tokens_total 0"), std::string::npos);
  EXPECT_NE(m.find("moss_kv_cache_used_bytes 0"), std::string::npos);
}

}  // namespace moss::server::test
