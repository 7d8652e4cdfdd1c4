// SqliteStore: schema, migrations and queries (see sqlite_store.h). The DDL sticks to types and
// constraints PostgreSQL accepts too (TEXT, BIGINT, INTEGER, REFERENCES ... ON DELETE CASCADE);
// the one SQLite-only spelling (INTEGER PRIMARY KEY [AUTOINCREMENT]) is noted where it is used.
#include "server/sqlite_store.h"

#include <sqlite3.h>

#include <cctype>
#include <chrono>

#include "util/error.h"
#include "util/unix_time.h"

namespace moss::server {

namespace {

const char* kSchemaV1[] = {
    "CREATE TABLE users ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " key_hash TEXT UNIQUE,"  // hex SHA-256 of the API key; NULL for the open-mode user
    " is_admin INTEGER NOT NULL DEFAULT 0,"
    " created_at BIGINT NOT NULL)",
    "CREATE TABLE conversations ("
    " id TEXT PRIMARY KEY,"  // 128 random bits, hex: not guessable
    " user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " title TEXT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL)",
    "CREATE INDEX conversations_by_user ON conversations(user_id, updated_at)",
    "CREATE TABLE records ("
    // AUTOINCREMENT: ids are never reused, so feedback aimed at a regenerated (deleted) record
    // cannot land on its replacement. PostgreSQL: BIGINT GENERATED ALWAYS AS IDENTITY.
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL,"
    " human TEXT NOT NULL,"
    " inner_thoughts TEXT NOT NULL,"
    " commands TEXT NOT NULL,"
    " results TEXT NOT NULL,"
    " answer TEXT NOT NULL,"
    " finish_reason TEXT NOT NULL,"
    " prompt_tokens INTEGER NOT NULL,"
    " completion_tokens INTEGER NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " rating INTEGER NOT NULL DEFAULT 0,"
    " feedback TEXT NOT NULL DEFAULT '',"
    " UNIQUE (conversation_id, seq))",
};

// Version 2: the pictures of a record (JSON array of file names, "" = none) and whether its
// Results field has the one-line Text2Image form. Added with ALTER TABLE to existing files.
const char* kRecordColumnsV2[][2] = {
    {"images", "TEXT NOT NULL DEFAULT ''"},
    {"results_inline", "INTEGER NOT NULL DEFAULT 0"},
};

const char* kOpenUserName = "(open)";  // not a valid name for create_user, so it cannot clash

}  // namespace

// A cached statement bound for one use; reset on destruction.
class SqliteStore::Stmt {
 public:
  Stmt(SqliteStore& s, const char* sql) : db_(s.db_), st_(s.prepare(sql)) {}
  ~Stmt() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  Stmt& bind(int i, int64_t v) {
    check(sqlite3_bind_int64(st_, i, v));
    return *this;
  }
  Stmt& bind(int i, const std::string& v) {
    check(sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& bind_null(int i) {
    check(sqlite3_bind_null(st_, i));
    return *this;
  }
  // Steps once; true when a row is available.
  bool step() {
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    if (rc == SQLITE_CONSTRAINT) fail("database constraint violated: ", sqlite3_errmsg(db_));
    fail("database error: ", sqlite3_errmsg(db_));
  }
  int64_t i64(int c) { return sqlite3_column_int64(st_, c); }
  std::string text(int c) {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st_, c));
    return p ? std::string(p, sqlite3_column_bytes(st_, c)) : std::string();
  }
  bool is_null(int c) { return sqlite3_column_type(st_, c) == SQLITE_NULL; }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) fail("database bind error: ", sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* st_;
};

namespace {
// BEGIN IMMEDIATE ... COMMIT, rolled back if an exception leaves the scope.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) { run("BEGIN IMMEDIATE"); }
  ~Transaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    run("COMMIT");
    done_ = true;
  }

 private:
  void run(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown";
      sqlite3_free(err);
      fail("database error in ", sql, ": ", msg);
    }
  }
  sqlite3* db_;
  bool done_ = false;
};
}  // namespace

SqliteStore::SqliteStore(const std::string& path) : path_(path) {
  if (path.empty()) fail("sqlite database path is empty");
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    fail("cannot open database '", path, "': ", msg);
  }
  try {
    sqlite3_busy_timeout(db_, 5000);  // another process (moss user add) may hold the write lock briefly
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec("PRAGMA foreign_keys=ON");
    migrate();
  } catch (...) {
    for (auto& [k, st] : stmts_) sqlite3_finalize(st);
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

SqliteStore::~SqliteStore() {
  for (auto& [k, st] : stmts_) sqlite3_finalize(st);
  if (db_) sqlite3_close(db_);
}

void SqliteStore::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    fail("database '", path_, "': ", msg, " (in: ", std::string(sql).substr(0, 60), ")");
  }
}

sqlite3_stmt* SqliteStore::prepare(const char* sql) {
  auto it = stmts_.find(sql);
  if (it != stmts_.end()) return it->second;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) != SQLITE_OK)
    fail("database '", path_, "': cannot prepare statement: ", sqlite3_errmsg(db_));
  stmts_.emplace(sql, st);
  return st;
}

void SqliteStore::migrate() {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  int64_t version = 0;
  {
    Stmt q(*this, "SELECT MAX(version) FROM schema_version");
    if (q.step() && !q.is_null(0)) version = q.i64(0);
  }
  if (version > kSchemaVersion)
    fail("database '", path_, "' has schema version ", version, ", newer than this moss (", kSchemaVersion, ")");
  if (version < 1) {
    for (const char* sql : kSchemaV1) exec(sql);
    exec("INSERT INTO schema_version (version) VALUES (1)");
  }
  if (version < 2) {
    // Add each column only if missing (a file may have been half-migrated by hand); existing rows
    // keep everything and get the defaults.
    for (const auto& [column, type] : kRecordColumnsV2) {
      bool present = false;
      {
        Stmt q(*this, "SELECT 1 FROM pragma_table_info('records') WHERE name = ?");
        q.bind(1, std::string(column));
        present = q.step();
      }
      if (present) continue;
      exec(("ALTER TABLE records ADD COLUMN " + std::string(column) + " " + type).c_str());
      // Rows written before version 2 had their inline form recognised by the text alone.
      if (std::string(column) == "results_inline")
        exec("UPDATE records SET results_inline = 1 WHERE results = 'Image generated successfully.'");
    }
    exec("INSERT INTO schema_version (version) VALUES (2)");
  }
  tx.commit();
}

static bool valid_user_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '@')) return false;
  return true;
}

UserRow SqliteStore::create_user(const std::string& name, const std::string& key_hash, bool is_admin) {
  if (!valid_user_name(name)) fail("invalid user name '", name.substr(0, 80), "': use 1-64 of [A-Za-z0-9_.@-]");
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  {
    Stmt q(*this, "SELECT 1 FROM users WHERE name = ?");
    q.bind(1, name);
    if (q.step()) fail("user '", name, "' already exists");
  }
  UserRow u;
  u.name = name;
  u.is_admin = is_admin;
  u.has_key = true;
  u.created_at = unix_time_ms() / 1000;
  {
    Stmt ins(*this, "INSERT INTO users (name, key_hash, is_admin, created_at) VALUES (?, ?, ?, ?)");
    ins.bind(1, name).bind(2, key_hash).bind(3, is_admin ? 1 : 0).bind(4, u.created_at);
    ins.step();
  }
  u.id = sqlite3_last_insert_rowid(db_);
  tx.commit();
  return u;
}

std::optional<UserRow> SqliteStore::user_by_key_hash(const std::string& key_hash) {
  std::lock_guard lock(mu_);
  Stmt q(*this, "SELECT id, name, is_admin, created_at FROM users WHERE key_hash = ?");
  q.bind(1, key_hash);
  if (!q.step()) return std::nullopt;
  return UserRow{q.i64(0), q.text(1), q.i64(2) != 0, true, q.i64(3)};
}

std::vector<UserRow> SqliteStore::list_users() {
  std::lock_guard lock(mu_);
  Stmt q(*this, "SELECT id, name, is_admin, key_hash IS NOT NULL, created_at FROM users ORDER BY id");
  std::vector<UserRow> out;
  while (q.step()) out.push_back({q.i64(0), q.text(1), q.i64(2) != 0, q.i64(3) != 0, q.i64(4)});
  return out;
}

bool SqliteStore::delete_user(const std::string& name) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  Stmt q(*this, "DELETE FROM users WHERE name = ?");
  q.bind(1, name);
  q.step();
  const bool changed = sqlite3_changes(db_) > 0;
  tx.commit();
  return changed;
}

int64_t SqliteStore::count_key_users() {
  std::lock_guard lock(mu_);
  Stmt q(*this, "SELECT COUNT(*) FROM users WHERE key_hash IS NOT NULL");
  q.step();
  return q.i64(0);
}

UserRow SqliteStore::open_mode_user() {
  std::lock_guard lock(mu_);
  {
    Stmt q(*this, "SELECT id, created_at FROM users WHERE name = ?");
    q.bind(1, std::string(kOpenUserName));
    if (q.step()) return UserRow{q.i64(0), kOpenUserName, true, false, q.i64(1)};
  }
  Transaction tx(db_);
  const int64_t t = unix_time_ms() / 1000;
  {
    Stmt ins(*this, "INSERT INTO users (name, key_hash, is_admin, created_at) VALUES (?, NULL, 1, ?)");
    ins.bind(1, std::string(kOpenUserName)).bind(2, t);
    ins.step();
  }
  UserRow u{sqlite3_last_insert_rowid(db_), kOpenUserName, true, false, t};
  tx.commit();
  return u;
}

ConversationRow SqliteStore::create_conversation(int64_t user_id, const std::string& id, const std::string& title) {
  std::lock_guard lock(mu_);
  ConversationRow c{id, user_id, title, unix_time_ms(), 0, 0};
  c.updated_at = c.created_at;
  Transaction tx(db_);
  {
    Stmt ins(*this, "INSERT INTO conversations (id, user_id, title, created_at, updated_at) VALUES (?, ?, ?, ?, ?)");
    ins.bind(1, id).bind(2, user_id).bind(3, title).bind(4, c.created_at).bind(5, c.updated_at);
    ins.step();
  }
  tx.commit();
  return c;
}

#define MOSS_CONV_COLUMNS \
  "c.id, c.user_id, c.title, c.created_at, c.updated_at, (SELECT COUNT(*) FROM records r WHERE r.conversation_id = c.id)"

std::optional<ConversationRow> SqliteStore::conversation_locked(int64_t user_id, const std::string& id) {
  Stmt q(*this, "SELECT " MOSS_CONV_COLUMNS " FROM conversations c WHERE c.id = ? AND c.user_id = ?");
  q.bind(1, id).bind(2, user_id);
  if (!q.step()) return std::nullopt;
  return ConversationRow{q.text(0), q.i64(1), q.text(2), q.i64(3), q.i64(4), q.i64(5)};
}

std::optional<ConversationRow> SqliteStore::conversation(int64_t user_id, const std::string& id) {
  std::lock_guard lock(mu_);
  return conversation_locked(user_id, id);
}

std::vector<ConversationRow> SqliteStore::list_conversations(int64_t user_id, int limit) {
  std::lock_guard lock(mu_);
  Stmt q(*this, "SELECT " MOSS_CONV_COLUMNS
                " FROM conversations c WHERE c.user_id = ? ORDER BY c.updated_at DESC, c.id LIMIT ?");
  q.bind(1, user_id).bind(2, static_cast<int64_t>(limit));
  std::vector<ConversationRow> out;
  while (q.step()) out.push_back({q.text(0), q.i64(1), q.text(2), q.i64(3), q.i64(4), q.i64(5)});
  return out;
}

bool SqliteStore::delete_conversation(int64_t user_id, const std::string& id) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  Stmt q(*this, "DELETE FROM conversations WHERE id = ? AND user_id = ?");
  q.bind(1, id).bind(2, user_id);
  q.step();
  const bool changed = sqlite3_changes(db_) > 0;
  tx.commit();
  return changed;
}

bool SqliteStore::rename_conversation(int64_t user_id, const std::string& id, const std::string& title) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  Stmt q(*this, "UPDATE conversations SET title = ? WHERE id = ? AND user_id = ?");
  q.bind(1, title).bind(2, id).bind(3, user_id);
  q.step();
  const bool changed = sqlite3_changes(db_) > 0;
  tx.commit();
  return changed;
}

#define MOSS_RECORD_COLUMNS                                                                                  \
  "r.id, r.conversation_id, r.seq, r.human, r.inner_thoughts, r.commands, r.results, r.answer, r.finish_reason, " \
  "r.prompt_tokens, r.completion_tokens, r.created_at, r.rating, r.feedback, r.images, r.results_inline"

std::vector<RecordRow> SqliteStore::records(int64_t user_id, const std::string& conversation_id) {
  std::lock_guard lock(mu_);
  Stmt q(*this, "SELECT " MOSS_RECORD_COLUMNS
                " FROM records r JOIN conversations c ON c.id = r.conversation_id"
                " WHERE r.conversation_id = ? AND c.user_id = ? ORDER BY r.seq");
  q.bind(1, conversation_id).bind(2, user_id);
  std::vector<RecordRow> out;
  while (q.step()) {
    RecordRow r;
    r.id = q.i64(0);
    r.conversation_id = q.text(1);
    r.seq = q.i64(2);
    r.turn = {q.text(3), q.text(4), q.text(5), q.text(6), q.text(7)};
    r.finish_reason = q.text(8);
    r.usage = {static_cast<int>(q.i64(9)), static_cast<int>(q.i64(10))};
    r.created_at = q.i64(11);
    r.rating = static_cast<int>(q.i64(12));
    r.feedback = q.text(13);
    r.turn.images = images_from_column(q.text(14));
    r.turn.results_inline = q.i64(15) != 0;
    out.push_back(std::move(r));
  }
  return out;
}

RecordRow SqliteStore::append_record(int64_t user_id, const std::string& conversation_id, const TurnRecord& turn,
                                     const std::string& finish_reason, const TurnUsage& usage, bool replace_last) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  if (!conversation_locked(user_id, conversation_id)) fail("conversation ", conversation_id, " not found");
  if (replace_last) {
    Stmt del(*this,
             "DELETE FROM records WHERE conversation_id = ? AND seq = (SELECT MAX(seq) FROM records WHERE conversation_id = ?)");
    del.bind(1, conversation_id).bind(2, conversation_id);
    del.step();
  }
  RecordRow r;
  r.conversation_id = conversation_id;
  r.turn = turn;
  r.finish_reason = finish_reason;
  r.usage = usage;
  r.created_at = unix_time_ms();
  {
    Stmt q(*this, "SELECT COALESCE(MAX(seq), 0) + 1 FROM records WHERE conversation_id = ?");
    q.bind(1, conversation_id);
    q.step();
    r.seq = q.i64(0);
  }
  {
    Stmt ins(*this,
             "INSERT INTO records (conversation_id, seq, human, inner_thoughts, commands, results, answer, finish_reason,"
             " prompt_tokens, completion_tokens, created_at, images, results_inline)"
             " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    ins.bind(1, conversation_id).bind(2, r.seq).bind(3, turn.human).bind(4, turn.inner_thoughts).bind(5, turn.commands);
    ins.bind(6, turn.results).bind(7, turn.answer).bind(8, finish_reason).bind(9, static_cast<int64_t>(usage.prompt_tokens));
    ins.bind(10, static_cast<int64_t>(usage.completion_tokens)).bind(11, r.created_at);
    ins.bind(12, images_to_column(turn.images)).bind(13, turn.results_inline ? 1 : 0);
    ins.step();
  }
  r.id = sqlite3_last_insert_rowid(db_);
  {
    Stmt up(*this, "UPDATE conversations SET updated_at = ? WHERE id = ?");
    up.bind(1, r.created_at).bind(2, conversation_id);
    up.step();
  }
  tx.commit();
  return r;
}

bool SqliteStore::set_feedback(int64_t user_id, const std::string& conversation_id, int64_t record_id,
                               std::optional<int> rating, std::optional<std::string> feedback) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  if (!conversation_locked(user_id, conversation_id)) return false;
  bool changed = false;
  if (rating) {
    Stmt q(*this, "UPDATE records SET rating = ? WHERE id = ? AND conversation_id = ?");
    q.bind(1, static_cast<int64_t>(*rating)).bind(2, record_id).bind(3, conversation_id);
    q.step();
    changed = sqlite3_changes(db_) > 0;
  }
  if (feedback) {
    Stmt q(*this, "UPDATE records SET feedback = ? WHERE id = ? AND conversation_id = ?");
    q.bind(1, *feedback).bind(2, record_id).bind(3, conversation_id);
    q.step();
    changed = sqlite3_changes(db_) > 0;
  }
  if (!rating && !feedback) {
    Stmt q(*this, "SELECT 1 FROM records WHERE id = ? AND conversation_id = ?");
    q.bind(1, record_id).bind(2, conversation_id);
    changed = q.step();
  }
  tx.commit();
  return changed;
}

bool SqliteStore::user_has_image(int64_t user_id, const std::string& name) {
  if (!valid_image_name(name)) return false;
  std::lock_guard lock(mu_);
  // Names hold no quotes, so the quoted name matches exactly one element of the JSON array.
  Stmt q(*this,
         "SELECT 1 FROM records r JOIN conversations c ON c.id = r.conversation_id"
         " WHERE c.user_id = ? AND r.images <> '' AND instr(r.images, ?) > 0 LIMIT 1");
  q.bind(1, user_id).bind(2, "\"" + name + "\"");
  return q.step();
}

}  // namespace moss::server
