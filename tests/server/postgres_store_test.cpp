// Store behaviour beyond the shared suite: appends from many threads at once (both backends), and
// PostgreSQL-only cases: a killed connection is reconnected, calls are served on several
// connections (one waiting on a lock holds up no other), a newer schema is refused. The
// PostgreSQL cases run in the postgres.* ctest variants (MOSS_TEST_STORE=postgres); in the SQLite
// run they skip, saying where they run.
#include <cstdlib>
#include <future>
#include <set>
#include <thread>

#include "server_fixture.h"
#include "util/error.h"
#ifdef MOSS_HAVE_POSTGRES
#include <libpq-fe.h>
#endif

namespace moss::server::test {

class StoreExtra : public ServerTest {
 protected:
  // The PostgreSQL-only tests skip in the SQLite run and fail in a build without libpq.
  bool postgres_only() {
    if (!using_postgres()) return false;
#ifndef MOSS_HAVE_POSTGRES
    ADD_FAILURE() << "MOSS_TEST_STORE=postgres, but this build has no PostgreSQL support (libpq)";
    return false;
#else
    if (pg_url().empty()) {
      ADD_FAILURE() << "MOSS_TEST_STORE=postgres needs MOSS_TEST_POSTGRES_URL; start a local test server with "
                       "`export MOSS_TEST_POSTGRES_URL=$(bash scripts/start_postgres.sh)`";
      return false;
    }
    return true;
#endif
  }
};

#define MOSS_POSTGRES_ONLY()                                                                           \
  if (!using_postgres()) GTEST_SKIP() << "PostgreSQL only: runs as postgres.* (MOSS_TEST_STORE=postgres)"; \
  if (!postgres_only()) return

// The HTTP server calls the store from its worker threads: concurrent appends to one conversation
// get distinct consecutive positions and distinct ids, and none is lost.
TEST_F(StoreExtra, ConcurrentAppendsKeepEveryRecord) {
  auto sp = open_test_store();
  Store& s = *sp;
  UserRow a = s.create_user("alice", sha256_hex("ka"), false);
  const std::string shared = "000000000000000000000000000000aa";
  s.create_conversation(a.id, shared, "shared");
  constexpr int kThreads = 6, kEach = 8;
  std::vector<std::thread> threads;
  std::vector<std::string> errors(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        std::string own(32, '0');  // built in place: GCC 12 warns (-Wrestrict) on std::string concatenation here
        own[30] = 'b';
        own[31] = static_cast<char>('0' + t);
        s.create_conversation(a.id, own, "own");
        for (int i = 0; i < kEach; ++i) {
          s.append_record(a.id, shared, {"q", "", "", "", own}, "stop", {1, 1}, false);
          s.append_record(a.id, own, {"q", "", "", "", std::to_string(i)}, "stop", {1, 1}, false);
          s.list_conversations(a.id, 100);
        }
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& e : errors) EXPECT_EQ(e, "");
  auto recs = s.records(a.id, shared);
  ASSERT_EQ(recs.size(), static_cast<size_t>(kThreads * kEach));
  std::set<int64_t> ids;
  for (size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(recs[i].seq, static_cast<int64_t>(i + 1));
    ids.insert(recs[i].id);
  }
  EXPECT_EQ(ids.size(), recs.size());
  EXPECT_EQ(s.list_conversations(a.id, 100).size(), static_cast<size_t>(kThreads + 1));
}

#ifdef MOSS_HAVE_POSTGRES
namespace {
// The test's own connection, for doing things behind the store's back.
class Admin {
 public:
  explicit Admin(const std::string& url) : c_(PQconnectdb(url.c_str())) {}
  ~Admin() { PQfinish(c_); }
  bool ok() const { return PQstatus(c_) == CONNECTION_OK; }
  // Runs one statement; returns the first value of the result ("" if none), or "ERROR: ...".
  std::string run(const std::string& sql, const std::vector<std::string>& params = {}) {
    std::vector<const char*> v;
    for (const auto& p : params) v.push_back(p.c_str());
    PGresult* r = PQexecParams(c_, sql.c_str(), static_cast<int>(v.size()), nullptr, v.data(), nullptr, nullptr, 0);
    std::string out;
    const ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
      out = std::string("ERROR: ") + PQresultErrorMessage(r);
    else if (PQntuples(r) > 0)
      out = PQgetvalue(r, 0, 0);
    PQclear(r);
    return out;
  }
  // Ends the sessions named `app` and waits until they are gone, so no statement sent afterwards
  // can still be read by them. Returns how many there were.
  int kill(const std::string& app) {
    const std::string n =
        run("SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", {app});
    const bool gone = eventually([&] { return run("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1", {app}) == "0"; });
    return gone ? std::atoi(n.c_str()) : -1;
  }

 private:
  PGconn* c_;
};

// The URL with an application_name that marks this test's store connection.
std::string with_app_name(const std::string& url, const std::string& app) {
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0)
    return url + (url.find('?') == std::string::npos ? "?" : "&") + "application_name=" + app;
  return url + " application_name=" + app;  // keyword=value form
}
}  // namespace
#endif

// A server restart, an idle timeout or an administrator ends the store's session: reads and new
// transactions carry on over a new connection (in the same schema), a lost single write fails
// clearly and the call after it reconnects.
TEST_F(StoreExtra, PostgresReconnectsAfterTheSessionIsKilled) {
  MOSS_POSTGRES_ONLY();
#ifdef MOSS_HAVE_POSTGRES
  Admin admin(pg_url());
  ASSERT_TRUE(admin.ok());
  const std::string app = pg_schema_;  // unique per process and test, at most 63 characters
  PgStore s(with_app_name(pg_url(), app), pg_schema_);
  const std::string cid = "000000000000000000000000000000cc";
  UserRow a = s.create_user("alice", sha256_hex("ka"), false);
  s.create_conversation(a.id, cid, "t");

  ASSERT_EQ(admin.kill(app), 1);
  EXPECT_EQ(s.list_users().size(), 1u);  // a read: repeated on a new session

  ASSERT_EQ(admin.kill(app), 1);
  s.append_record(a.id, cid, {"q", "", "", "", "a"}, "stop", {1, 1}, false);  // a transaction: BEGIN repeated
  EXPECT_EQ(s.records(a.id, cid).size(), 1u);

  ASSERT_EQ(admin.kill(app), 1);
  try {
    s.rename_conversation(a.id, cid, "renamed");  // a single write: not repeated
    ADD_FAILURE() << "a write on a killed session did not fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lost the connection to PostgreSQL"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(s.rename_conversation(a.id, cid, "renamed"));
  EXPECT_EQ(s.conversation(a.id, cid)->title, "renamed");
  // Still in the test's schema, not the default one.
  EXPECT_EQ(admin.run("SELECT COUNT(*) FROM " + pg_schema_ + ".records"), "1");
#endif
}

// The store serves calls on several connections: while one call waits on a row lock, another one
// still goes through. (With one shared connection the second call would wait for the first.)
TEST_F(StoreExtra, PostgresServesOtherCallsWhileOneWaits) {
  MOSS_POSTGRES_ONLY();
#ifdef MOSS_HAVE_POSTGRES
  Admin locker(pg_url()), watcher(pg_url());
  ASSERT_TRUE(locker.ok() && watcher.ok());
  const std::string app = pg_schema_;
  PgStore s(with_app_name(pg_url(), app), pg_schema_);
  const std::string cid = "000000000000000000000000000000dd";
  UserRow a = s.create_user("alice", sha256_hex("ka"), false);
  s.create_conversation(a.id, cid, "t");

  ASSERT_EQ(locker.run("BEGIN"), "");
  ASSERT_EQ(locker.run("SELECT id FROM " + pg_schema_ + ".conversations WHERE id = $1 FOR UPDATE", {cid}), cid);
  std::thread writer([&] { s.append_record(a.id, cid, {"q", "", "", "", "a"}, "stop", {1, 1}, false); });
  // Wait (bounded) until the append is blocked on the lock.
  const bool blocked = eventually([&] {
    return watcher.run("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
                       {app}) == "1";
  });
  auto reader = std::async(std::launch::async, [&] { return s.list_users().size(); });
  // Bounded so that a store with one connection fails here instead of hanging the test.
  const bool served = reader.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
  locker.run("COMMIT");
  writer.join();
  EXPECT_TRUE(blocked);
  EXPECT_TRUE(served) << "a call waited for another call's connection";
  EXPECT_EQ(reader.get(), 1u);
  EXPECT_EQ(s.records(a.id, cid).size(), 1u);
#endif
}

TEST_F(StoreExtra, PostgresRefusesNewerSchema) {
  MOSS_POSTGRES_ONLY();
#ifdef MOSS_HAVE_POSTGRES
  { PgStore s(pg_url(), pg_schema_); }
  Admin admin(pg_url());
  ASSERT_EQ(admin.run("INSERT INTO " + pg_schema_ + ".schema_version VALUES (99)"), "");
  try {
    PgStore s(pg_url(), pg_schema_);
    ADD_FAILURE() << "a newer schema was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("newer than this moss"), std::string::npos) << e.what();
  }
  EXPECT_THROW(PgStore(pg_url(), "Bad-Name"), Error);
#endif
}

// A database of schema version 1 (before records had images) is migrated on open: the columns
// are added, rows are kept, and old inline Text2Image results are recognised.
TEST_F(StoreExtra, PostgresMigratesVersion1) {
  MOSS_POSTGRES_ONLY();
#ifdef MOSS_HAVE_POSTGRES
  const std::string cid = "000000000000000000000000000000ee";
  int64_t uid = 0;
  {
    PgStore s(pg_url(), pg_schema_);
    uid = s.create_user("alice", sha256_hex("ka"), false).id;
    s.create_conversation(uid, cid, "old");
    s.append_record(uid, cid, {"draw", "t", "Text2Image(\"x\")", "Image generated successfully.", "done"}, "stop", {1, 2}, false);
    s.append_record(uid, cid, {"q", "", "", "", "a"}, "stop", {1, 2}, false);
  }
  Admin admin(pg_url());
  ASSERT_TRUE(admin.ok());
  ASSERT_EQ(admin.run("ALTER TABLE " + pg_schema_ + ".records DROP COLUMN images"), "");
  ASSERT_EQ(admin.run("ALTER TABLE " + pg_schema_ + ".records DROP COLUMN results_inline"), "");
  ASSERT_EQ(admin.run("DELETE FROM " + pg_schema_ + ".schema_version WHERE version = 2"), "");
  PgStore s(pg_url(), pg_schema_);
  auto recs = s.records(uid, cid);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].turn.answer, "done");
  EXPECT_TRUE(recs[0].turn.results_inline);
  EXPECT_TRUE(recs[0].turn.images.empty());
  EXPECT_FALSE(recs[1].turn.results_inline);
  EXPECT_EQ(admin.run("SELECT MAX(version) FROM " + pg_schema_ + ".schema_version"), "2");
#endif
}

}  // namespace moss::server::test
