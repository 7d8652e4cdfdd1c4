// PostgreSQL implementation of Store (libpq), built when libpq is found (MOSS_HAVE_POSTGRES). Same
// tables as SqliteStore (schema in pg_store.cpp; only the identity-column spelling differs), a
// transaction per write, parameters always bound (never spliced). The HTTP server calls the store
// from its worker threads: each call borrows one of at most kMaxSessions connections (opened when
// first needed), so a slow round trip to a remote server does not hold up the other requests. A
// broken connection is reconnected on its next use (see run() in pg_store.cpp).
// An optional schema name keeps several deployments (or test runs) apart in one database.
#pragma once
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/store.h"

struct pg_conn;
struct pg_result;

namespace moss::server {

class PgStore : public Store {
 public:
  // url: a libpq connection string or postgresql:// URL. schema: "" = the default search path;
  // otherwise created if missing and used for every table.
  explicit PgStore(const std::string& url, const std::string& schema = "");
  ~PgStore() override;
  PgStore(const PgStore&) = delete;
  PgStore& operator=(const PgStore&) = delete;

  static constexpr int kSchemaVersion = 2;  // 2: records.images, records.results_inline
  static constexpr size_t kMaxSessions = 8;
  // Drops a schema and everything in it (tests clean up with this).
  static void drop_schema(const std::string& url, const std::string& schema);

  UserRow create_user(const std::string& name, const std::string& key_hash, bool is_admin) override;
  std::optional<UserRow> user_by_key_hash(const std::string& key_hash) override;
  std::vector<UserRow> list_users() override;
  bool delete_user(const std::string& name) override;
  int64_t count_key_users() override;
  UserRow open_mode_user() override;

  ConversationRow create_conversation(int64_t user_id, const std::string& id, const std::string& title) override;
  std::optional<ConversationRow> conversation(int64_t user_id, const std::string& id) override;
  std::vector<ConversationRow> list_conversations(int64_t user_id, int limit) override;
  bool delete_conversation(int64_t user_id, const std::string& id) override;
  bool rename_conversation(int64_t user_id, const std::string& id, const std::string& title) override;

  std::vector<RecordRow> records(int64_t user_id, const std::string& conversation_id) override;
  RecordRow append_record(int64_t user_id, const std::string& conversation_id, const TurnRecord& turn,
                          const std::string& finish_reason, const TurnUsage& usage, bool replace_last) override;
  bool set_feedback(int64_t user_id, const std::string& conversation_id, int64_t record_id,
                    std::optional<int> rating, std::optional<std::string> feedback) override;
  bool user_has_image(int64_t user_id, const std::string& name) override;

 private:
  class Result;
  class Lease;
  struct Session {  // one connection; used by one call at a time
    pg_conn* conn = nullptr;  // null until first used
    bool in_tx = false;       // between a BEGIN and its COMMIT/ROLLBACK (a broken connection hides this)
    ~Session();
  };
  Result run(Session& s, const char* sql, const std::vector<std::string>& params = {});
  pg_result* exec(Session& s, const char* sql, const std::vector<std::string>& params);
  void setup_session(Session& s);
  void reconnect(Session& s);
  void migrate(Session& s);
  std::optional<ConversationRow> conversation_locked(Session& s, int64_t user_id, const std::string& id);

  std::string url_;
  std::string schema_;  // validated; "" = the default search path
  std::mutex mu_;       // guards the pool below
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Session>> sessions_;
  std::vector<Session*> idle_;
};

}  // namespace moss::server
