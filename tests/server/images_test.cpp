// Generated pictures end to end on the server: records store their image names and Results form
// (both stores; SQLite files of schema version 1 are migrated without losing rows), the records
// and both APIs expose the image URLs (also live in streams), and GET /api/images/NAME serves a
// picture only to its owner, with strict names and the right Content-Type.
#include <sqlite3.h>

#include <fstream>

#include "plugins/text2image_plugin.h"
#include "server_fixture.h"
#include "util/error.h"

namespace moss::server::test {

class Images : public ServerTest {
 protected:
  // A server whose fake engine draws placeholder PNGs into dir_/images, served from there.
  void start_drawing() {
    image_dir_ = dir_ / "images";
    config_.image_dir = image_dir_.string();
    engine_->set_text2image(make_text2image_placeholder_plugin(image_dir_.string()));
    start();
  }
  // Raw GET with a key; returns status, body and headers.
  Reply get_image(const std::string& path, const std::string& key) { return http().get(path, key); }

  std::filesystem::path image_dir_;
};

const char kPngSignature[] = "\x89PNG\r\n\x1a\n";

TEST(ImageNames, StrictValidation) {
  EXPECT_TRUE(valid_image_name("moss-20260101-120000-a-cat-1a2b3c.png"));
  EXPECT_TRUE(valid_image_name("x_Y-1.jpg"));
  EXPECT_TRUE(valid_image_name("a.jpeg"));
  EXPECT_TRUE(valid_image_name("a.webp"));
  for (const char* bad : {"", ".png", "-a.png", "a", "a.gif", "a.svg", "a.PNG", "a..png", "a.png.exe", "../a.png",
                          "a/b.png", "a%2fb.png", "a b.png", "a\\b.png", "..", "a.png/", "\xc3\xa9.png"})
    EXPECT_FALSE(valid_image_name(bad)) << bad;
  EXPECT_FALSE(valid_image_name(std::string(161, 'a') + ".png"));
  EXPECT_TRUE(valid_image_name(std::string(160, 'a') + ".png"));
  EXPECT_EQ(image_mime_for_name("a.png"), "image/png");
  EXPECT_EQ(image_mime_for_name("a.jpg"), "image/jpeg");
  EXPECT_EQ(image_mime_for_name("a.jpeg"), "image/jpeg");
  EXPECT_EQ(image_mime_for_name("a.webp"), "image/webp");
  EXPECT_EQ(images_to_column({}), "");
  EXPECT_EQ(images_from_column(images_to_column({"a.png", "b.jpg"})), (std::vector<std::string>{"a.png", "b.jpg"}));
  // A column not written by us yields no names rather than an error; invalid names are dropped.
  EXPECT_TRUE(images_from_column("not json").empty());
  EXPECT_EQ(images_from_column(R"(["../x.png", "ok.png", 3])"), std::vector<std::string>{"ok.png"});
}

// Both stores (this suite also runs as postgres.*): images and the Results form round-trip, and
// ownership follows the conversation's user.
TEST_F(Images, StoreRoundTripAndOwnership) {
  auto sp = open_test_store();
  Store& s = *sp;
  UserRow a = s.create_user("alice", sha256_hex("ka"), false);
  UserRow b = s.create_user("bob", sha256_hex("kb"), false);
  const std::string cid = "00000000000000000000000000000abc";
  s.create_conversation(a.id, cid, "pictures");
  TurnRecord drawn{"draw two", "think", "Text2Image(\"a\"), Text2Image(\"b\")", "Image generated successfully.", "here"};
  drawn.images = {"moss-1-a-000001.png", "moss-1-b-000002.jpg"};
  drawn.results_inline = true;
  s.append_record(a.id, cid, drawn, "stop", {1, 2}, false);
  s.append_record(a.id, cid, {"plain", "", "", "", "text"}, "stop", {1, 2}, false);
  auto recs = s.records(a.id, cid);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].turn.images, drawn.images);
  EXPECT_TRUE(recs[0].turn.results_inline);
  EXPECT_TRUE(recs[1].turn.images.empty());
  EXPECT_FALSE(recs[1].turn.results_inline);
  EXPECT_TRUE(s.user_has_image(a.id, "moss-1-a-000001.png"));
  EXPECT_TRUE(s.user_has_image(a.id, "moss-1-b-000002.jpg"));
  EXPECT_FALSE(s.user_has_image(b.id, "moss-1-a-000001.png"));
  // Whole names only: a prefix, a suffix or a name that is not valid never matches.
  EXPECT_FALSE(s.user_has_image(a.id, "moss-1-a-00000.png"));
  EXPECT_FALSE(s.user_has_image(a.id, "1-a-000001.png"));
  EXPECT_FALSE(s.user_has_image(a.id, "moss-1-a-000001.png\",\"x"));
  // Regenerating the last (plain) turn leaves the earlier picture record alone; deleting the
  // conversation takes the owner's access with its records.
  s.append_record(a.id, cid, {"plain again", "", "", "", "text"}, "stop", {1, 2}, true);
  EXPECT_TRUE(s.user_has_image(a.id, "moss-1-a-000001.png"));
  EXPECT_TRUE(s.delete_conversation(a.id, cid));
  EXPECT_FALSE(s.user_has_image(a.id, "moss-1-a-000001.png"));
}

// A SQLite file written by the version-1 schema (before images existed) opens with its rows intact;
// the new columns are added, and the old inline Text2Image results are recognised once.
TEST_F(Images, SqliteVersion1FileIsMigrated) {
  force_sqlite_ = true;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
  const char* v1 =
      "CREATE TABLE schema_version (version INTEGER NOT NULL);"
      "INSERT INTO schema_version VALUES (1);"
      "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, key_hash TEXT UNIQUE,"
      " is_admin INTEGER NOT NULL DEFAULT 0, created_at BIGINT NOT NULL);"
      "CREATE TABLE conversations (id TEXT PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
      " title TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
      "CREATE INDEX conversations_by_user ON conversations(user_id, updated_at);"
      "CREATE TABLE records (id INTEGER PRIMARY KEY AUTOINCREMENT,"
      " conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE, seq INTEGER NOT NULL,"
      " human TEXT NOT NULL, inner_thoughts TEXT NOT NULL, commands TEXT NOT NULL, results TEXT NOT NULL,"
      " answer TEXT NOT NULL, finish_reason TEXT NOT NULL, prompt_tokens INTEGER NOT NULL,"
      " completion_tokens INTEGER NOT NULL, created_at BIGINT NOT NULL, rating INTEGER NOT NULL DEFAULT 0,"
      " feedback TEXT NOT NULL DEFAULT '', UNIQUE (conversation_id, seq));"
      "INSERT INTO users VALUES (1, 'alice', 'h', 0, 5);"
      "INSERT INTO conversations VALUES ('c1', 1, 'old', 6, 7);"
      "INSERT INTO records (conversation_id, seq, human, inner_thoughts, commands, results, answer, finish_reason,"
      " prompt_tokens, completion_tokens, created_at, rating, feedback) VALUES"
      " ('c1', 1, 'draw', 't', 'Text2Image(\"x\")', 'Image generated successfully.', 'done', 'stop', 3, 4, 8, 1, 'nice'),"
      " ('c1', 2, 'calc', 't', 'Calculate(\"1\")', 'Calculate(\"1\") => ''1''', 'one', 'stop', 3, 4, 9, 0, '');";
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db, v1, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_close(db);

  for (int open = 0; open < 2; ++open) {  // the second open finds version 2 and changes nothing
    SqliteStore s(db_path_);
    auto recs = s.records(1, "c1");
    ASSERT_EQ(recs.size(), 2u + static_cast<size_t>(open));  // the first open appends one
    EXPECT_EQ(recs[0].turn.answer, "done");
    EXPECT_EQ(recs[0].feedback, "nice");
    EXPECT_EQ(recs[0].rating, 1);
    EXPECT_TRUE(recs[0].turn.results_inline);
    EXPECT_TRUE(recs[0].turn.images.empty());
    EXPECT_FALSE(recs[1].turn.results_inline);
    EXPECT_EQ(recs[1].turn.results, "Calculate(\"1\") => '1'");
    TurnRecord t{"new", "", "", "", "a"};
    t.images = {"n.png"};
    if (open == 0) s.append_record(1, "c1", t, "stop", {}, false);
    EXPECT_TRUE(s.user_has_image(1, "n.png"));
  }
  ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT MAX(version) FROM schema_version", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), SqliteStore::kSchemaVersion);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_F(Images, TurnShowsImageAndOnlyTheOwnerFetchesIt) {
  start_drawing();
  Reply r = http().post("/api/chat", json{{"prompt", "draw a red cat"}, {"plugins", {"Text2Image"}}}, alice_);
  ASSERT_EQ(r.status, 200) << r.body;
  const json rec = r.j()["record"];
  EXPECT_EQ(rec["results"], "Image generated successfully.");
  ASSERT_EQ(rec["images"].size(), 1u) << rec.dump();
  const std::string name = rec["images"][0]["name"];
  const std::string url = rec["images"][0]["url"];
  EXPECT_EQ(url, "/api/images/" + name);
  EXPECT_EQ(rec["images"][0]["mime_type"], "image/png");
  EXPECT_TRUE(std::filesystem::exists(image_dir_ / name));
  // The stored conversation shows the same.
  const json conv = http().get("/api/conversations/" + r.j()["uid"].get<std::string>(), alice_).j();
  EXPECT_EQ(conv["records"][0]["images"], rec["images"]);

  Reply img = get_image(url, alice_);
  ASSERT_EQ(img.status, 200) << img.body;
  EXPECT_EQ(img.body.substr(0, 8), std::string(kPngSignature, 8));
  auto header = [&](const Reply& x, const std::string& k) {
    auto it = x.headers.find(k);
    return it == x.headers.end() ? std::string() : it->second;
  };
  EXPECT_EQ(header(img, "Content-Type"), "image/png");
  EXPECT_EQ(header(img, "X-Content-Type-Options"), "nosniff");
  std::ifstream in(image_dir_ / name, std::ios::binary);
  const std::string on_disk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(img.body, on_disk);

  // Another user, no key, a wrong key: not served (a foreign picture looks like a missing one).
  EXPECT_EQ(get_image(url, bob_).status, 404);
  EXPECT_EQ(get_image(url, "").status, 401);
  EXPECT_EQ(get_image(url, "sk-wrong").status, 401);
  // A file in the folder that no record of the caller lists is not served either.
  { std::ofstream(image_dir_ / "stray.png") << "x"; }
  EXPECT_EQ(get_image("/api/images/stray.png", alice_).status, 404);
  // Bad names never reach the file system.
  for (const char* bad : {"/api/images/..%2Fmoss.db", "/api/images/%2e%2e", "/api/images/moss.db",
                          "/api/images/a.svg", "/api/images/x%00.png", "/api/images/-x.png"}) {
    Reply b = get_image(bad, alice_);
    EXPECT_TRUE(b.status == 400 || b.status == 404) << bad << " -> " << b.status;
    EXPECT_EQ(b.body.find("SQLite"), std::string::npos) << bad;
  }
  EXPECT_EQ(get_image("/api/images/moss.db", alice_).status, 400);
  // A record whose file is gone: 404, not an error.
  std::filesystem::remove(image_dir_ / name);
  EXPECT_EQ(get_image(url, alice_).status, 404);
}

// Pictures leave the disk with the records that list them: regenerating an answer removes the
// replaced answer's picture, deleting the conversation removes the rest; other files stay.
TEST_F(Images, FilesGoWithTheirRecords) {
  start_drawing();
  Reply r = http().post("/api/chat", json{{"prompt", "draw a red cat"}, {"plugins", {"Text2Image"}}}, alice_);
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string cid = r.j()["uid"];
  const std::string first = r.j()["record"]["images"][0]["name"];
  ASSERT_TRUE(std::filesystem::exists(image_dir_ / first));
  { std::ofstream(image_dir_ / "unrelated.png") << "x"; }

  Reply g = http().post("/api/conversations/" + cid + "/regenerate", json{{"plugins", {"Text2Image"}}}, alice_);
  ASSERT_EQ(g.status, 200) << g.body;
  ASSERT_EQ(g.j()["record"]["images"].size(), 1u) << g.body;
  const std::string second = g.j()["record"]["images"][0]["name"];
  ASSERT_NE(second, first);
  EXPECT_FALSE(std::filesystem::exists(image_dir_ / first)) << "the replaced answer's picture stayed";
  EXPECT_TRUE(std::filesystem::exists(image_dir_ / second));

  // Bob cannot delete Alice's conversation, and her picture stays.
  EXPECT_EQ(http().call("DELETE", "/api/conversations/" + cid, "", bob_).status, 404);
  EXPECT_TRUE(std::filesystem::exists(image_dir_ / second));
  ASSERT_EQ(http().call("DELETE", "/api/conversations/" + cid, "", alice_).status, 200);
  EXPECT_FALSE(std::filesystem::exists(image_dir_ / second)) << "the deleted conversation's picture stayed";
  EXPECT_TRUE(std::filesystem::exists(image_dir_ / "unrelated.png"));
}

TEST_F(Images, StreamsAnnounceTheImageBeforeTheAnswer) {
  start_drawing();
  Reply r = http().post("/api/chat/stream", json{{"prompt", "draw a dog"}, {"plugins", {"Text2Image"}}}, alice_);
  ASSERT_EQ(r.status, 200);
  auto events = parse_sse(r.body);
  int image_at = -1, first_answer = -1;
  std::string name;
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].event == "image" && image_at < 0) {
      image_at = static_cast<int>(i);
      name = json::parse(events[i].data)["name"];
    }
    if (events[i].event == "answer" && first_answer < 0) first_answer = static_cast<int>(i);
  }
  ASSERT_GE(image_at, 0) << r.body;
  EXPECT_LT(image_at, first_answer);
  const json done = json::parse(events.back().data);
  EXPECT_EQ(events.back().event, "done");
  EXPECT_EQ(done["record"]["images"][0]["name"], name);
  EXPECT_EQ(get_image("/api/images/" + name, alice_).status, 200);

  // OpenAI-compatible: non-streamed "moss.images", streamed chunks with moss.image and the final
  // chunk's moss.images; the answer text stays plain for OpenAI clients.
  r = http().post("/v1/chat/completions",
                  json{{"messages", {{{"role", "user"}, {"content", "draw a fish"}}}}, {"plugins", {"Text2Image"}}}, alice_);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.j()["moss"]["images"].size(), 1u) << r.body;
  EXPECT_EQ(r.j()["choices"][0]["message"]["content"], "Here is the picture of a fish.");
  const std::string fish = r.j()["moss"]["images"][0]["url"];
  EXPECT_EQ(get_image(fish, alice_).status, 200);
  r = http().post("/v1/chat/completions",
                  json{{"messages", {{{"role", "user"}, {"content", "draw a bird"}}}}, {"plugins", {"Text2Image"}}, {"stream", true}},
                  alice_);
  ASSERT_EQ(r.status, 200);
  std::string live, final_url;
  for (const auto& e : parse_sse(r.body)) {
    if (e.data == "[DONE]") continue;
    const json c = json::parse(e.data);
    if (!c.contains("moss")) continue;
    if (c["moss"].contains("image")) live = c["moss"]["image"]["url"];
    if (c["moss"].contains("images") && !c["moss"]["images"].empty()) final_url = c["moss"]["images"][0]["url"];
  }
  EXPECT_FALSE(live.empty()) << r.body;
  EXPECT_EQ(live, final_url);
}

// A page loads every picture of a conversation at once: image fetches are authenticated but not
// counted by the per-user rate limit (turns still are).
TEST_F(Images, FetchesAreNotRateLimited) {
  config_.rate_per_minute = 1;
  config_.rate_burst = 1;
  start_drawing();
  Reply r = http().post("/api/chat", json{{"prompt", "draw a cat"}, {"plugins", {"Text2Image"}}}, alice_);
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string url = r.j()["record"]["images"][0]["url"];
  for (int i = 0; i < 5; ++i) EXPECT_EQ(get_image(url, alice_).status, 200) << i;
  EXPECT_EQ(get_image(url, "").status, 401);
  EXPECT_EQ(http().post("/api/chat", json{{"prompt", "again"}}, alice_).status, 429);
}

TEST_F(Images, WithoutAPluginThereIsNoPicture) {
  start();  // no image folder, no Text2Image executor: the fake answers like the stub
  Reply r = http().post("/api/chat", json{{"prompt", "draw a cat"}, {"plugins", {"Text2Image"}}}, alice_);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.j()["record"]["results"], "Image generated successfully.");
  EXPECT_TRUE(r.j()["record"]["images"].empty());
  EXPECT_EQ(http().get("/api/images/a.png", alice_).status, 404);
}

}  // namespace moss::server::test
