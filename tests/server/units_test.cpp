// Small server pieces: SHA-256 and keys, the bearer parser, the rate limiter (explicit clock),
// moderation masking (also across stream pieces) and the fake engine's stages and limits.
#include <gtest/gtest.h>

#include "server/auth.h"
#include "server/fake_engine.h"
#include "server/moderation.h"
#include "server/rate_limiter.h"
#include "server/server.h"

namespace moss::server {

TEST(Auth, Sha256KnownVectors) {
  // FIPS 180-2 examples.
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Auth, KeysAreRandomAndWellFormed) {
  const std::string a = generate_api_key(), b = generate_api_key();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 5u + 64u);
  EXPECT_EQ(a.rfind("moss-", 0), 0u);
}

TEST(Auth, BearerParsing) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer   abc  "), "abc");
  EXPECT_FALSE(bearer_token("Basic abc"));
  EXPECT_FALSE(bearer_token("Bearer "));
  EXPECT_FALSE(bearer_token("Bearer"));
  EXPECT_FALSE(bearer_token("Bearer " + std::string(300, 'x')));
}

TEST(Server, LoopbackHosts) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.1.2.3"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(is_loopback_host("192.168.1.2"));
  EXPECT_FALSE(is_loopback_host("::"));
}

TEST(RateLimit, BucketEmptiesAndRefills) {
  RateLimiter lim(60, 3);  // one request per second, burst of 3
  auto t = RateLimiter::Clock::now();
  EXPECT_EQ(lim.acquire(1, t), 0);
  EXPECT_EQ(lim.acquire(1, t), 0);
  EXPECT_EQ(lim.acquire(1, t), 0);
  EXPECT_EQ(lim.acquire(1, t), 1);  // empty: 1 s until the next token
  EXPECT_EQ(lim.acquire(2, t), 0);  // other users are independent
  EXPECT_EQ(lim.acquire(1, t + std::chrono::milliseconds(1500)), 0);
  RateLimiter off(0, 0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(off.acquire(1, t), 0);
}

TEST(Moderation, MasksCaseInsensitively) {
  Moderator m({"badword", "evil plan"}, Moderator::Mode::mask);
  EXPECT_TRUE(m.contains("a BadWord here"));
  EXPECT_FALSE(m.contains("a good word"));
  EXPECT_EQ(m.mask("a BadWord and an Evil Plan."), "a ******* and an *********.");
}

TEST(Moderation, StreamMaskerCatchesWordsAcrossPieces) {
  Moderator m({"badword"}, Moderator::Mode::mask);
  StreamMasker sm(&m);
  std::string out;
  for (const char* p : {"this is a b", "adw", "ord, ", "no ", "more ", "被 ", "ok"}) out += sm.feed(p);
  out += sm.flush();
  EXPECT_EQ(out, "this is a *******, no more 被 ok");
}

TEST(FakeEngine, StagesLimitsAndCancel) {
  FakeEngine e;
  TurnRequest rq;
  rq.prompt = "calc 6*7";
  rq.plugins = {"Calculate"};
  std::vector<std::pair<Stage, std::string>> pieces;
  TurnCallbacks cb;
  cb.on_piece = [&](Stage s, std::string_view p) { pieces.emplace_back(s, std::string(p)); };
  TurnResult r = e.run_turn(rq, cb);
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.record.commands, "Calculate(\"6*7\")");
  EXPECT_EQ(r.record.answer, "The result is 42.");
  ASSERT_FALSE(pieces.empty());
  EXPECT_EQ(pieces.front().first, Stage::inner_thoughts);
  EXPECT_EQ(pieces.back().first, Stage::answer);

  rq.plugins.clear();
  rq.prompt = "one two three four five";
  rq.sampling.max_tokens = 3;
  r = e.run_turn(rq, cb);
  EXPECT_EQ(r.finish_reason, "length");
  EXPECT_EQ(r.usage.completion_tokens, 3);

  rq.sampling.max_tokens = 100;
  rq.sampling.stop = {"You said"};
  r = e.run_turn(rq, cb);
  EXPECT_EQ(r.record.answer, "Hello! This is turn 1. ");

  std::atomic<bool> cancel{true};
  rq.cancel = &cancel;
  r = e.run_turn(rq, cb);
  EXPECT_EQ(r.finish_reason, "cancelled");
  EXPECT_EQ(r.record.answer, "");
}

}  // namespace moss::server
