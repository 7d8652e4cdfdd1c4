// The OpenAI-compatible routes against the FakeEngine: models, JSON and SSE completions, usage,
// sampling fields, plugin steps in the "moss" extension, continuing a stored conversation, and
// the 4xx answers to bad requests.
#include "server_fixture.h"

namespace moss::server::test {

class OpenAiApi : public ServerTest {};

json chat_body(const std::string& prompt) {
  return json{{"model", "moss-fake"}, {"messages", json::array({json{{"role", "user"}, {"content", prompt}}})}};
}

TEST_F(OpenAiApi, ModelsList) {
  start();
  Reply r = http().get("/v1/models", alice_);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.j()["object"], "list");
  EXPECT_EQ(r.j()["data"][0]["id"], "moss-fake");
  EXPECT_EQ(http().get("/v1/models/moss-fake", alice_).status, 200);
  EXPECT_EQ(http().get("/v1/models/gpt-4", alice_).status, 404);
}

TEST_F(OpenAiApi, CompletionIsStoredAsConversation) {
  start();
  json body = chat_body("hi there");
  body["messages"].insert(body["messages"].begin(), json{{"role", "system"}, {"content", "be brief"}});
  Reply r = http().post("/v1/chat/completions", body, alice_);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.j();
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Hello! This is turn 1. You said: hi there");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(j["usage"]["completion_tokens"], 9);  // the fake engine counts words
  EXPECT_EQ(j["usage"]["total_tokens"], j["usage"]["prompt_tokens"].get<int>() + 9);
  const std::string cid = j["moss"]["conversation_id"];
  // Stored before the answer was sent.
  Reply c = http().get("/api/conversations/" + cid, alice_);
  ASSERT_EQ(c.status, 200);
  EXPECT_EQ(c.j()["records"].size(), 1u);
  EXPECT_EQ(c.j()["records"][0]["human"], "hi there");
  EXPECT_EQ(c.j()["records"][0]["answer"], "Hello! This is turn 1. You said: hi there");
  Reply list = http().get("/api/conversations", alice_);
  ASSERT_EQ(list.j()["conversations"].size(), 1u);
  EXPECT_EQ(list.j()["conversations"][0]["title"], "hi there");
}

TEST_F(OpenAiApi, HistoryFromMessagesAndContinuation) {
  start();
  json body{{"messages", json::array({json{{"role", "user"}, {"content", "first"}},
                                      json{{"role", "assistant"}, {"content", "one"}},
                                      json{{"role", "user"}, {"content", [] {
                                          return json::array({json{{"type", "text"}, {"text", "sec"}},
                                                              json{{"type", "text"}, {"text", "ond"}}});
                                        }()}}})}};
  Reply r = http().post("/v1/chat/completions", body, alice_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j()["choices"][0]["message"]["content"], "Hello! This is turn 2. You said: second");
  const std::string cid = r.j()["moss"]["conversation_id"];
  Reply c = http().get("/api/conversations/" + cid, alice_);
  ASSERT_EQ(c.j()["records"].size(), 2u);
  EXPECT_EQ(c.j()["records"][0]["answer"], "one");
  EXPECT_EQ(c.j()["records"][0]["finish_reason"], "history");
  // Continue it by id: stored history is used.
  json next = chat_body("third");
  next["conversation_id"] = cid;
  r = http().post("/v1/chat/completions", next, alice_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j()["choices"][0]["message"]["content"], "Hello! This is turn 3. You said: third");
  // Bob cannot continue Alice's conversation.
  EXPECT_EQ(http().post("/v1/chat/completions", next, bob_).status, 404);
}

TEST_F(OpenAiApi, SamplingFields) {
  start();
  json body = chat_body("alpha beta gamma delta");
  body["max_tokens"] = 4;
  body["temperature"] = 0.2;
  body["top_p"] = 0.5;
  body["seed"] = 1234;
  Reply r = http().post("/v1/chat/completions", body, alice_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j()["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(r.j()["usage"]["completion_tokens"], 4);
  body = chat_body("alpha beta");
  body["stop"] = json::array({"You said", "zzz"});
  r = http().post("/v1/chat/completions", body, alice_);
  EXPECT_EQ(r.j()["choices"][0]["message"]["content"], "Hello! This is turn 1. ");
  body["stop"] = "turn";
  r = http().post("/v1/chat/completions", body, alice_);
  EXPECT_EQ(r.j()["choices"][0]["message"]["content"], "Hello! This is ");
}

TEST_F(OpenAiApi, StreamingChunksAndUsage) {
  start();
  json body = chat_body("stream me");
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};
  Reply r = http().post("/v1/chat/completions", body, alice_);
  ASSERT_EQ(r.status, 200);
  auto events = parse_sse(r.body);
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.back().data, "[DONE]");
  std::string text;
  std::string finish;
  json usage;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    json c = json::parse(events[i].data);
    EXPECT_EQ(c["object"], "chat.completion.chunk");
    if (c.contains("usage")) {
      usage = c["usage"];
      continue;
    }
    const json& ch = c["choices"][0];
    if (ch["delta"].contains("content")) text += ch["delta"]["content"].get<std::string>();
    if (!ch["finish_reason"].is_null()) finish = ch["finish_reason"];
  }
  EXPECT_EQ(text, "Hello! This is turn 1. You said: stream me");
  EXPECT_EQ(finish, "stop");
  EXPECT_EQ(usage["completion_tokens"], 9);
}

TEST_F(OpenAiApi, PluginStepsInMossExtension) {
  start();
  json body = chat_body("calc 6*7");
  body["plugins"] = json::array({"Calculate"});
  Reply r = http().post("/v1/chat/completions", body, alice_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j()["choices"][0]["message"]["content"], "The result is 42.");
  EXPECT_EQ(r.j()["moss"]["commands"], "Calculate(\"6*7\")");
  EXPECT_EQ(r.j()["moss"]["results"], "Calculate(\"6*7\") => '42'");
  body["stream"] = true;
  r = http().post("/v1/chat/completions", body, alice_);
  std::map<std::string, std::string> stages;
  std::string content;
  for (const auto& e : parse_sse(r.body)) {
    if (e.data == "[DONE]") continue;
    json c = json::parse(e.data);
    if (c.contains("moss") && c["moss"].contains("stage")) {
      stages[c["moss"]["stage"]] += c["moss"]["text"].get<std::string>();
      EXPECT_FALSE(c["choices"][0]["delta"].contains("content"));  // plain clients see nothing
    }
    if (c["choices"][0]["delta"].contains("content")) content += c["choices"][0]["delta"]["content"].get<std::string>();
  }
  EXPECT_EQ(stages["inner_thoughts"], "The user wants a calculation, I should use the calculator.");
  EXPECT_EQ(stages["commands"], "Calculate(\"6*7\")");
  EXPECT_EQ(stages["results"], "Calculate(\"6*7\") => '42'");
  EXPECT_EQ(content, "The result is 42.");
}

TEST_F(OpenAiApi, BadRequestsGetClear4xx) {
  start();
  auto status_code = [&](const std::string& raw) {
    Reply r = http().call("POST", "/v1/chat/completions", raw, alice_);
    json j = r.j();
    EXPECT_TRUE(j.contains("error")) << raw;
    return std::make_pair(r.status, j.is_object() && j.contains("error") ? j["error"].value("code", "") : "");
  };
  EXPECT_EQ(status_code("{not json").first, 400);
  EXPECT_EQ(status_code("[1,2]").first, 400);
  EXPECT_EQ(status_code("").first, 400);
  EXPECT_EQ(status_code(R"({"messages":[]})").first, 400);
  EXPECT_EQ(status_code(R"({"messages":[{"role":"user","content":"x"}],"bogus":1})").second, "unknown_field");
  EXPECT_EQ(status_code(R"({"messages":[{"role":"user","content":"x"}],"n":2})").first, 400);
  EXPECT_EQ(status_code(R"({"messages":[{"role":"tool","content":"x"}]})").first, 400);
  EXPECT_EQ(status_code(R"({"messages":[{"role":"user","content":"x"},{"role":"assistant","content":"y"}]})").first, 400);
  EXPECT_EQ(status_code(R"({"messages":[{"role":"user","content":"x"}],"temperature":"hot"})").first, 400);
  EXPECT_EQ(status_code(R"({"messages":[{"role":"user","content":"x"}],"temperature":9})").first, 400);
  EXPECT_EQ(status_code(R"({"messages":[{"role":"user","content":"x"}],"max_tokens":0})").first, 400);
  EXPECT_EQ(status_code(R"({"messages":[{"role":"user","content":"x"}],"stop":[1]})").first, 400);
  EXPECT_EQ(status_code(R"({"messages":[{"role":"user","content":"x"}],"plugins":["rm -rf"]})").first, 400);
  EXPECT_EQ(status_code(R"({"messages":[{"role":"user","content":"[fail]"}]})").second, "engine_error");
  EXPECT_EQ(status_code(R"({"messages":[{"role":"user","content":"x"}],"stream":null,"stream_options":{"include_usage":1}})").first, 400);
  EXPECT_EQ(status_code(R"({"messages":[{"role":"user","content":[{"type":5,"text":"x"}]}]})").first, 400);
  EXPECT_EQ(status_code(R"({"messages":[{"role":"user","content":"x"}],"stream":"yes"})").first, 400);
  EXPECT_EQ(status_code(R"({"messages":[{"role":"user","content":"x"}],"seed":1.5})").first, 400);
  EXPECT_EQ(status_code(R"({"messages":[{"role":"user","content":"x"}],"conversation_id":7})").first, 400);
  // Accepted-and-ignored OpenAI fields do not fail.
  Reply ok = http().call("POST", "/v1/chat/completions",
                         R"({"model":"x","messages":[{"role":"user","content":"x"}],"presence_penalty":0,"user":"u"})",
                         alice_);
  EXPECT_EQ(ok.status, 200);
  // A failed turn leaves no conversation behind.
  EXPECT_EQ(http().get("/api/conversations", alice_).j()["conversations"].size(), 1u);
}

}  // namespace moss::server::test
