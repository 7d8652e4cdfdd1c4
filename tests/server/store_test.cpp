// SqliteStore: users, per-user isolation, records (append / replace / feedback), persistence and
// the schema version check.
#include <sqlite3.h>

#include "server_fixture.h"
#include "util/error.h"

namespace moss::server::test {

class StoreTest : public ServerTest {};

TEST_F(StoreTest, UsersAreUniqueAndFoundByKeyHash) {
  auto sp = open_test_store();
  Store& s = *sp;
  EXPECT_EQ(s.count_key_users(), 0);
  UserRow a = s.create_user("alice", sha256_hex("k1"), true);
  EXPECT_THROW(s.create_user("alice", sha256_hex("k2"), false), Error);
  EXPECT_THROW(s.create_user("bad name", sha256_hex("k3"), false), Error);
  EXPECT_THROW(s.create_user("", sha256_hex("k4"), false), Error);
  auto found = s.user_by_key_hash(sha256_hex("k1"));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, a.id);
  EXPECT_TRUE(found->is_admin);
  EXPECT_FALSE(s.user_by_key_hash(sha256_hex("k2")));
  // The open-mode user cannot authenticate and does not count as a key user.
  UserRow open = s.open_mode_user();
  EXPECT_FALSE(open.has_key);
  EXPECT_EQ(s.open_mode_user().id, open.id);
  EXPECT_EQ(s.count_key_users(), 1);
}

TEST_F(StoreTest, ConversationsAreIsolatedPerUser) {
  auto sp = open_test_store();
  Store& s = *sp;
  UserRow a = s.create_user("alice", sha256_hex("ka"), false);
  UserRow b = s.create_user("bob", sha256_hex("kb"), false);
  s.create_conversation(a.id, "0123456789abcdef0123456789abcdef", "hello");
  EXPECT_TRUE(s.conversation(a.id, "0123456789abcdef0123456789abcdef"));
  EXPECT_FALSE(s.conversation(b.id, "0123456789abcdef0123456789abcdef"));
  EXPECT_TRUE(s.list_conversations(b.id, 10).empty());
  EXPECT_THROW(s.append_record(b.id, "0123456789abcdef0123456789abcdef", TurnRecord{"x", "", "", "", "y"}, "stop", {}, false),
               Error);
  EXPECT_TRUE(s.records(b.id, "0123456789abcdef0123456789abcdef").empty());
  EXPECT_FALSE(s.delete_conversation(b.id, "0123456789abcdef0123456789abcdef"));
  EXPECT_FALSE(s.rename_conversation(b.id, "0123456789abcdef0123456789abcdef", "mine"));
  EXPECT_TRUE(s.conversation(a.id, "0123456789abcdef0123456789abcdef"));
}

TEST_F(StoreTest, RecordsAppendReplaceAndFeedback) {
  const std::string cid = "00000000000000000000000000000001";
  int64_t rid = 0;
  {
    auto sp = open_test_store();
    Store& s = *sp;
    UserRow a = s.create_user("alice", sha256_hex("ka"), false);
    s.create_conversation(a.id, cid, "t");
    s.append_record(a.id, cid, {"q1", "think", "Calculate(\"1+1\")", "Calculate(\"1+1\") => '2'", "a1"}, "stop", {10, 3}, false);
    RecordRow r2 = s.append_record(a.id, cid, {"q2", "", "", "", "a2"}, "length", {20, 5}, false);
    EXPECT_EQ(r2.seq, 2);
    RecordRow r2b = s.append_record(a.id, cid, {"q2", "", "", "", "a2 again"}, "stop", {20, 6}, true);
    EXPECT_EQ(r2b.seq, 2);
    rid = r2b.id;
    EXPECT_TRUE(s.set_feedback(a.id, cid, rid, 1, std::string("good")));
    EXPECT_FALSE(s.set_feedback(a.id, cid, rid + 100, -1, std::nullopt));
  }
  // Reopened: everything committed is there.
  auto sp = open_test_store();
  Store& s = *sp;
  auto u = s.user_by_key_hash(sha256_hex("ka"));
  ASSERT_TRUE(u);
  auto recs = s.records(u->id, cid);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].turn.inner_thoughts, "think");
  EXPECT_EQ(recs[0].turn.commands, "Calculate(\"1+1\")");
  EXPECT_EQ(recs[0].turn.results, "Calculate(\"1+1\") => '2'");
  EXPECT_EQ(recs[0].usage.prompt_tokens, 10);
  EXPECT_EQ(recs[1].turn.answer, "a2 again");
  EXPECT_EQ(recs[1].id, rid);
  EXPECT_EQ(recs[1].rating, 1);
  EXPECT_EQ(recs[1].feedback, "good");
  auto list = s.list_conversations(u->id, 10);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].record_count, 2);
  // Deleting the conversation deletes its records.
  EXPECT_TRUE(s.delete_conversation(u->id, cid));
  EXPECT_TRUE(s.records(u->id, cid).empty());
}

TEST_F(StoreTest, SqliteRefusesNewerSchemaAndGarbageFiles) {
  { SqliteStore s(db_path_); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_version VALUES (99)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  EXPECT_THROW(SqliteStore s(db_path_), Error);

  const std::string junk = (dir_ / "junk.db").string();
  {
    FILE* f = std::fopen(junk.c_str(), "wb");
    std::fputs("this is not a database, just some text that is long enough to have a header.........", f);
    std::fclose(f);
  }
  EXPECT_THROW(SqliteStore s(junk), Error);
  EXPECT_THROW(open_store("postgresql://127.0.0.1:1/nothing_listens_here"), Error);
  EXPECT_NO_THROW(open_store("sqlite:" + (dir_ / "other.db").string()));
}

}  // namespace moss::server::test
