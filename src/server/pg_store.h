// PostgreSQL implementation of Store (libpq), built when libpq is found (MOSS_HAVE_POSTGRES). Same
// tables as SqliteStore (schema in pg_store.cpp; only the identity-column spelling differs), one
// connection guarded by a mutex, a transaction per write, parameters always bound (never spliced).
// A broken connection is reconnected on the next call (see run() in pg_store.cpp).
// An optional schema name keeps several deployments (or test runs) apart in one database.
#pragma once
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

  static constexpr int kSchemaVersion = 1;
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

 private:
  class Result;
  Result run(const char* sql, const std::vector<std::string>& params = {});
  pg_result* exec(const char* sql, const std::vector<std::string>& params);
  void setup_session();
  void reconnect();
  void migrate();
  std::optional<ConversationRow> conversation_locked(int64_t user_id, const std::string& id);

  pg_conn* conn_ = nullptr;
  std::string schema_;
  bool in_tx_ = false;  // between a BEGIN and its COMMIT/ROLLBACK (a broken connection hides this)
  std::mutex mu_;
};

}  // namespace moss::server
