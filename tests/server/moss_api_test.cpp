// The MOSS API (/api/chat like moss_api_demo.py, spec 4.6) and the conversation resources:
// create/list/read/rename/delete, messages, regenerate, stop, feedback, one running answer per user.
#include "server_fixture.h"

namespace moss::server::test {

class MossApi : public ServerTest {};

TEST_F(MossApi, ChatKeepsHistoryByUid) {
  start();
  Reply r = http().post("/api/chat", json{{"prompt", "hello"}}, alice_);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.j();
  EXPECT_EQ(j["status"], 200);
  EXPECT_EQ(j["response"], "Hello! This is turn 1. You said: hello");
  EXPECT_EQ(j["history"], json::array({json::array({"hello", "Hello! This is turn 1. You said: hello"})}));
  EXPECT_EQ(j["time"].get<std::string>().size(), 19u);  // "YYYY-MM-DD HH:MM:SS"
  const std::string uid = j["uid"];
  r = http().post("/api/chat", json{{"prompt", "again"}, {"uid", uid}, {"max_length", 2048}, {"top_p", 0.8}, {"temperature", 0.7}},
                  alice_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j()["uid"], uid);
  EXPECT_EQ(r.j()["history"].size(), 2u);
  EXPECT_EQ(r.j()["response"], "Hello! This is turn 2. You said: again");
  // Bob using Alice's uid gets a fresh conversation of his own, not her history.
  r = http().post("/api/chat", json{{"prompt", "spy"}, {"uid", uid}}, bob_);
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.j()["uid"], uid);
  EXPECT_EQ(r.j()["history"].size(), 1u);
  EXPECT_EQ(http().get("/api/conversations/" + uid, alice_).j()["records"].size(), 2u);
  // Unknown fields and missing prompt are rejected.
  EXPECT_EQ(http().post("/api/chat", json{{"prompt", "x"}, {"extra", 1}}, alice_).status, 400);
  EXPECT_EQ(http().post("/api/chat", json{{"uid", uid}}, alice_).status, 400);
  EXPECT_EQ(http().post("/api/chat", json{{"prompt", 5}}, alice_).status, 400);
}

TEST_F(MossApi, ChatStreamEvents) {
  start();
  Reply r = http().post("/api/chat/stream", json{{"prompt", "calc 1+1"}, {"plugins", {"Calculate"}}}, alice_);
  ASSERT_EQ(r.status, 200);
  auto events = parse_sse(r.body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.front().event, "start");
  EXPECT_EQ(events.back().event, "done");
  std::map<std::string, std::string> text;
  for (const auto& e : events)
    if (e.event != "start" && e.event != "done") text[e.event] += json::parse(e.data)["text"].get<std::string>();
  EXPECT_EQ(text["commands"], "Calculate(\"1+1\")");
  EXPECT_EQ(text["answer"], "The result is 42.");
  json done = json::parse(events.back().data);
  EXPECT_EQ(done["response"], "The result is 42.");
  EXPECT_EQ(done["record"]["inner_thoughts"], "The user wants a calculation, I should use the calculator.");
  EXPECT_EQ(done["uid"], json::parse(events.front().data)["uid"]);
}

TEST_F(MossApi, ConversationLifecycle) {
  start();
  Reply c = http().post("/api/conversations", json{{"title", "Trip"}}, alice_);
  ASSERT_EQ(c.status, 201);
  const std::string id = c.j()["id"];
  EXPECT_EQ(id.size(), 32u);
  Reply m = http().post("/api/conversations/" + id + "/messages", json{{"prompt", "plan it"}}, alice_);
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_EQ(m.j()["record"]["answer"], "Hello! This is turn 1. You said: plan it");
  m = http().post("/api/conversations/" + id + "/messages", json{{"prompt", "more"}, {"stream", true}}, alice_);
  auto ev = parse_sse(m.body);
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().event, "done");
  EXPECT_EQ(json::parse(ev.back().data)["record"]["seq"], 2);

  Reply got = http().get("/api/conversations/" + id, alice_);
  ASSERT_EQ(got.j()["records"].size(), 2u);
  const int64_t first_last_id = got.j()["records"][1]["id"];

  // Regenerate replaces the last record (same seq, new id), keeps the earlier one.
  Reply g = http().post("/api/conversations/" + id + "/regenerate", json::object(), alice_);
  ASSERT_EQ(g.status, 200) << g.body;
  EXPECT_EQ(g.j()["record"]["seq"], 2);
  EXPECT_EQ(g.j()["record"]["human"], "more");
  got = http().get("/api/conversations/" + id, alice_);
  ASSERT_EQ(got.j()["records"].size(), 2u);
  EXPECT_NE(got.j()["records"][1]["id"].get<int64_t>(), first_last_id);

  // Feedback on a record.
  const int64_t rid = got.j()["records"][0]["id"];
  const std::string fb = "/api/conversations/" + id + "/records/" + std::to_string(rid) + "/feedback";
  Reply f = http().post(fb, json{{"rating", "like"}, {"feedback", "nice"}}, alice_);
  ASSERT_EQ(f.status, 200) << f.body;
  EXPECT_EQ(f.j()["rating"], "like");
  EXPECT_EQ(http().post(fb, json{{"rating", "dislike"}}, alice_).j()["rating"], "dislike");
  EXPECT_EQ(http().post(fb, json{{"rating", "meh"}}, alice_).status, 400);
  EXPECT_EQ(http().post("/api/conversations/" + id + "/records/999999/feedback", json{{"rating", "like"}}, alice_).status, 404);
  EXPECT_EQ(http().post(fb, json{{"rating", "like"}}, bob_).status, 404);

  // Rename, list, delete.
  EXPECT_EQ(http().call("PATCH", "/api/conversations/" + id, R"({"title":"Holiday"})", alice_).j()["title"], "Holiday");
  EXPECT_EQ(http().get("/api/conversations", alice_).j()["conversations"][0]["title"], "Holiday");
  EXPECT_EQ(http().call("DELETE", "/api/conversations/" + id, "", bob_).status, 404);
  EXPECT_EQ(http().call("DELETE", "/api/conversations/" + id, "", alice_).status, 200);
  EXPECT_EQ(http().get("/api/conversations/" + id, alice_).status, 404);
  // Nothing to regenerate in an empty conversation.
  const std::string empty = http().post("/api/conversations", json::object(), alice_).j()["id"];
  EXPECT_EQ(http().post("/api/conversations/" + empty + "/regenerate", json::object(), alice_).status, 409);
}

TEST_F(MossApi, IsolationGuessedIdsAre404) {
  start();
  const std::string id = http().post("/api/chat", json{{"prompt", "secret"}}, alice_).j()["uid"];
  EXPECT_EQ(http().get("/api/conversations/" + id, bob_).status, 404);
  EXPECT_EQ(http().post("/api/conversations/" + id + "/messages", json{{"prompt", "x"}}, bob_).status, 404);
  EXPECT_EQ(http().post("/api/conversations/" + id + "/regenerate", json::object(), bob_).status, 404);
  EXPECT_EQ(http().post("/api/conversations/" + id + "/stop", json::object(), bob_).status, 404);
  EXPECT_EQ(http().get("/api/conversations/00000000000000000000000000000000", alice_).status, 404);
  EXPECT_EQ(http().get("/api/conversations/../../etc/passwd", alice_).status, 404);
  EXPECT_EQ(http().get("/api/conversations/1%20OR%201=1", alice_).status, 404);
  EXPECT_TRUE(http().get("/api/conversations", bob_).j()["conversations"].empty());
  // The id is in Alice's list, intact.
  EXPECT_EQ(http().get("/api/conversations", alice_).j()["conversations"][0]["id"], id);
}

TEST_F(MossApi, OneRunningAnswerPerUserAndStop) {
  start();
  const std::string id = http().post("/api/conversations", json::object(), alice_).j()["id"];
  Reply streamed;
  std::thread t([&] {
    streamed = http().post("/api/conversations/" + id + "/messages",
                           json{{"prompt", "[hold] long answer please"}, {"stream", true}}, alice_);
  });
  ASSERT_TRUE(eventually([&] { return engine_->held_count() == 1; }));
  // Alice's second answer is refused while the first runs; Bob is not affected.
  Reply busy = http().post("/api/chat", json{{"prompt", "me too"}}, alice_);
  EXPECT_EQ(busy.status, 409);
  EXPECT_EQ(busy.j()["error"]["code"], "turn_in_progress");
  EXPECT_EQ(http().post("/api/chat", json{{"prompt", "bob here"}}, bob_).status, 200);
  EXPECT_TRUE(http().get("/api/conversations/" + id, alice_).j()["running"].get<bool>());
  EXPECT_EQ(http().call("DELETE", "/api/conversations/" + id, "", alice_).status, 409);
  // Bob cannot stop it; Alice can.
  EXPECT_EQ(http().post("/api/conversations/" + id + "/stop", json::object(), bob_).status, 404);
  EXPECT_EQ(http().post("/api/conversations/" + id + "/stop", json::object(), alice_).status, 200);
  t.join();
  auto ev = parse_sse(streamed.body);
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().event, "done");
  json rec = json::parse(ev.back().data)["record"];
  EXPECT_EQ(rec["finish_reason"], "cancelled");
  EXPECT_EQ(rec["answer"], "Hello! ");  // what was generated before the stop is kept
  EXPECT_EQ(http().post("/api/conversations/" + id + "/stop", json::object(), alice_).status, 409);
  // The slot is free again.
  EXPECT_EQ(http().post("/api/chat", json{{"prompt", "now"}}, alice_).status, 200);
}

}  // namespace moss::server::test
