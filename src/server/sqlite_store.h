// SQLite implementation of Store: one database file in WAL mode, one connection guarded by a mutex
// (turns take seconds, store calls microseconds, so a single writer is no bottleneck), cached
// prepared statements, a transaction per write, synchronous=FULL so a commit survives a kill.
#pragma once
#include <mutex>
#include <string>
#include <unordered_map>

#include "server/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace moss::server {

class SqliteStore : public Store {
 public:
  // Opens (creating if needed) the database file and migrates it to the current schema version.
  explicit SqliteStore(const std::string& path);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  static constexpr int kSchemaVersion = 2;  // 2: records.images, records.results_inline

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
  class Stmt;
  sqlite3_stmt* prepare(const char* sql);
  void exec(const char* sql);
  void migrate();
  std::optional<ConversationRow> conversation_locked(int64_t user_id, const std::string& id);

  std::string path_;
  sqlite3* db_ = nullptr;
  std::mutex mu_;
  std::unordered_map<std::string, sqlite3_stmt*> stmts_;  // cached prepared statements by SQL text
};

}  // namespace moss::server
