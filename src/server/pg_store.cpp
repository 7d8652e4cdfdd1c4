// PgStore: schema, migrations and queries on PostgreSQL (see pg_store.h). Compiled only when the
// build found libpq (MOSS_HAVE_POSTGRES).
#ifdef MOSS_HAVE_POSTGRES
#include "server/pg_store.h"

#include <libpq-fe.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "util/error.h"
#include "util/unix_time.h"

namespace moss::server {

namespace {

// The SqliteStore tables with PostgreSQL identity columns.
const char* kSchemaV1[] = {
    "CREATE TABLE users ("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " key_hash TEXT UNIQUE,"
    " is_admin INTEGER NOT NULL DEFAULT 0,"
    " created_at BIGINT NOT NULL)",
    "CREATE TABLE conversations ("
    " id TEXT PRIMARY KEY,"
    " user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " title TEXT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL)",
    "CREATE INDEX conversations_by_user ON conversations(user_id, updated_at)",
    "CREATE TABLE records ("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
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

// Version 2 (as SqliteStore): the pictures of a record and the one-line Results form.
const char* kSchemaV2[] = {
    "ALTER TABLE records ADD COLUMN IF NOT EXISTS images TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE records ADD COLUMN IF NOT EXISTS results_inline INTEGER NOT NULL DEFAULT 0",
    "UPDATE records SET results_inline = 1 WHERE results = 'Image generated successfully.'",
};

const char* kOpenUserName = "(open)";
const std::string kNull = std::string("\0NULL", 5);  // parameter marker for SQL NULL

bool valid_schema_name(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_'))
      return false;
  return true;
}

bool valid_user_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '@')) return false;
  return true;
}

pg_conn* connect(const std::string& url) {
  pg_conn* c = PQconnectdb(url.c_str());
  if (!c || PQstatus(c) != CONNECTION_OK) {
    std::string msg = c ? PQerrorMessage(c) : "out of memory";
    if (c) PQfinish(c);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    fail("cannot connect to PostgreSQL: ", msg);
  }
  return c;
}

}  // namespace

class PgStore::Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  Result(Result&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  ~Result() {
    if (r_) PQclear(r_);
  }
  int rows() const { return PQntuples(r_); }
  std::string text(int row, int col) const { return std::string(PQgetvalue(r_, row, col), PQgetlength(r_, row, col)); }
  int64_t i64(int row, int col) const { return std::strtoll(PQgetvalue(r_, row, col), nullptr, 10); }
  bool is_null(int row, int col) const { return PQgetisnull(r_, row, col); }
  int64_t affected() const { return std::strtoll(PQcmdTuples(r_), nullptr, 10); }

 private:
  PGresult* r_;
};

namespace {
std::string trimmed(std::string msg) {
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}
bool starts_with(const char* s, const char* prefix) { return std::strncmp(s, prefix, std::strlen(prefix)) == 0; }
}  // namespace

PGresult* PgStore::exec(Session& s, const char* sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  for (const auto& p : params) {
    const bool null = p == kNull;
    values.push_back(null ? nullptr : p.data());
    lengths.push_back(null ? 0 : static_cast<int>(p.size()));
  }
  return PQexecParams(s.conn, sql, static_cast<int>(params.size()), nullptr, values.data(), lengths.data(), nullptr, 0);
}

// Sets what every session of this store needs; run again after a reconnect, since a new session
// starts from the server defaults.
void PgStore::setup_session(Session& s) {
  run(s, "SET client_min_messages TO WARNING");
  // The name was validated in the constructor, so it can be written into the statement.
  if (!schema_.empty()) run(s, ("SET search_path TO " + schema_).c_str());
}

// Opens the session's connection, or reopens a broken one, and sets it up.
void PgStore::reconnect(Session& s) {
  s.in_tx = false;
  if (!s.conn) {
    s.conn = connect(url_);
  } else {
    PQreset(s.conn);
    if (PQstatus(s.conn) != CONNECTION_OK)
      fail("lost the connection to PostgreSQL and cannot reconnect: ", trimmed(PQerrorMessage(s.conn)));
  }
  setup_session(s);
}

// Runs one statement. A broken connection (server restart, idle timeout, killed backend) is
// reconnected before the next statement that starts fresh: a BEGIN, a SELECT or a SET outside a
// transaction is even repeated once on the new connection, as it cannot have changed anything. A
// lost transaction or a lost single write is not repeated (it may have been applied): that call
// fails with "lost the connection", and the next one reconnects.
PgStore::Result PgStore::run(Session& s, const char* sql, const std::vector<std::string>& params) {
  const bool begin = std::strcmp(sql, "BEGIN") == 0;
  const bool end = std::strcmp(sql, "COMMIT") == 0 || std::strcmp(sql, "ROLLBACK") == 0;
  if (!s.conn) {
    reconnect(s);
  } else if (PQstatus(s.conn) == CONNECTION_BAD) {
    if (s.in_tx && std::strcmp(sql, "ROLLBACK") == 0) {
      s.in_tx = false;  // the server ended the transaction when the connection went
      return Result(nullptr);
    }
    if (s.in_tx) fail("lost the connection to PostgreSQL during a transaction; it was not committed");
    reconnect(s);
  }
  PGresult* r = exec(s, sql, params);
  ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  const bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
  const bool repeatable = !s.in_tx && (begin || starts_with(sql, "SELECT ") || starts_with(sql, "SET "));
  if (!ok && PQstatus(s.conn) == CONNECTION_BAD && repeatable) {
    PQclear(r);
    reconnect(s);
    r = exec(s, sql, params);
    st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  }
  Result res(r);
  if (end) s.in_tx = false;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    if (PQstatus(s.conn) == CONNECTION_BAD)
      fail("lost the connection to PostgreSQL", s.in_tx || end ? " during a transaction" : "", ": ",
           trimmed(r ? PQresultErrorMessage(r) : PQerrorMessage(s.conn)));
    std::string msg = trimmed(r ? PQresultErrorMessage(r) : PQerrorMessage(s.conn));
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    if (state && std::string(state).rfind("23", 0) == 0) fail("database constraint violated: ", msg);
    fail("database error: ", msg);
  }
  if (begin) s.in_tx = true;
  return res;
}

namespace {
// BEGIN ... COMMIT on the store's connection, rolled back if an exception leaves the scope.
template <typename Run>
class PgTransaction {
 public:
  explicit PgTransaction(Run run) : run_(run) { run_("BEGIN"); }
  ~PgTransaction() {
    if (!done_) {
      try {
        run_("ROLLBACK");
      } catch (...) {
      }
    }
  }
  void commit() {
    run_("COMMIT");
    done_ = true;
  }

 private:
  Run run_;
  bool done_ = false;
};
}  // namespace

#define MOSS_PG_TX                                                  \
  auto tx_run = [this, &s](const char* sql) { run(*s, sql); };      \
  PgTransaction<decltype(tx_run)> tx(tx_run)

PgStore::Session::~Session() {
  if (conn) PQfinish(conn);
}

// Borrows an idle session for one store call, or makes a new one while there are fewer than
// kMaxSessions; otherwise waits for one to come back.
class PgStore::Lease {
 public:
  explicit Lease(PgStore& st) : st_(st) {
    std::unique_lock lock(st.mu_);
    st.returned_.wait(lock, [&] { return !st.idle_.empty() || st.sessions_.size() < kMaxSessions; });
    if (!st.idle_.empty()) {
      s_ = st.idle_.back();
      st.idle_.pop_back();
    } else {
      st.sessions_.push_back(std::make_unique<Session>());  // connected by its first run()
      s_ = st.sessions_.back().get();
    }
  }
  ~Lease() {
    {
      std::lock_guard lock(st_.mu_);
      st_.idle_.push_back(s_);
    }
    st_.returned_.notify_one();
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  Session& operator*() const { return *s_; }

 private:
  PgStore& st_;
  Session* s_ = nullptr;
};

PgStore::PgStore(const std::string& url, const std::string& schema) : url_(url), schema_(schema) {
  if (!schema.empty() && !valid_schema_name(schema))
    fail("invalid PostgreSQL schema name '", schema, "': use 1-63 of [a-z0-9_]");
  Lease s(*this);
  // The name was validated above, so it can be written into the statement.
  if (!schema.empty()) {
    run(*s, ("CREATE SCHEMA IF NOT EXISTS " + schema).c_str());
    setup_session(*s);
  }
  migrate(*s);
}

PgStore::~PgStore() = default;

void PgStore::drop_schema(const std::string& url, const std::string& schema) {
  if (!valid_schema_name(schema)) fail("invalid PostgreSQL schema name '", schema, "'");
  pg_conn* c = connect(url);
  PGresult* r = PQexec(c, ("DROP SCHEMA IF EXISTS " + schema + " CASCADE").c_str());
  PQclear(r);
  PQfinish(c);
}

void PgStore::migrate(Session& session) {
  Session* s = &session;  // as a Lease reads in the other methods
  MOSS_PG_TX;
  // Serialises concurrent first starts of several servers on one database.
  run(*s, "SELECT pg_advisory_xact_lock(4242003)");
  run(*s, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  Result v = run(*s, "SELECT MAX(version) FROM schema_version");
  const int64_t version = v.is_null(0, 0) ? 0 : v.i64(0, 0);
  if (version > kSchemaVersion)
    fail("PostgreSQL database has schema version ", version, ", newer than this moss (", kSchemaVersion, ")");
  if (version < 1) {
    for (const char* sql : kSchemaV1) run(*s, sql);
    run(*s, "INSERT INTO schema_version (version) VALUES (1)");
  }
  if (version < 2) {
    for (const char* sql : kSchemaV2) run(*s, sql);
    run(*s, "INSERT INTO schema_version (version) VALUES (2)");
  }
  tx.commit();
}

UserRow PgStore::create_user(const std::string& name, const std::string& key_hash, bool is_admin) {
  if (!valid_user_name(name)) fail("invalid user name '", name.substr(0, 80), "': use 1-64 of [A-Za-z0-9_.@-]");
  Lease s(*this);
  MOSS_PG_TX;
  if (run(*s, "SELECT 1 FROM users WHERE name = $1", {name}).rows() > 0) fail("user '", name, "' already exists");
  UserRow u{0, name, is_admin, true, unix_time_ms() / 1000};
  Result r = run(*s, "INSERT INTO users (name, key_hash, is_admin, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                 {name, key_hash, is_admin ? "1" : "0", std::to_string(u.created_at)});
  u.id = r.i64(0, 0);
  tx.commit();
  return u;
}

std::optional<UserRow> PgStore::user_by_key_hash(const std::string& key_hash) {
  Lease s(*this);
  Result r = run(*s, "SELECT id, name, is_admin, created_at FROM users WHERE key_hash = $1", {key_hash});
  if (r.rows() == 0) return std::nullopt;
  return UserRow{r.i64(0, 0), r.text(0, 1), r.i64(0, 2) != 0, true, r.i64(0, 3)};
}

std::vector<UserRow> PgStore::list_users() {
  Lease s(*this);
  Result r = run(*s, "SELECT id, name, is_admin, (key_hash IS NOT NULL)::int, created_at FROM users ORDER BY id");
  std::vector<UserRow> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back({r.i64(i, 0), r.text(i, 1), r.i64(i, 2) != 0, r.i64(i, 3) != 0, r.i64(i, 4)});
  return out;
}

bool PgStore::delete_user(const std::string& name) {
  Lease s(*this);
  return run(*s, "DELETE FROM users WHERE name = $1", {name}).affected() > 0;
}

int64_t PgStore::count_key_users() {
  Lease s(*this);
  return run(*s, "SELECT COUNT(*) FROM users WHERE key_hash IS NOT NULL").i64(0, 0);
}

UserRow PgStore::open_mode_user() {
  Lease s(*this);
  Result r = run(*s, "SELECT id, created_at FROM users WHERE name = $1", {kOpenUserName});
  if (r.rows() > 0) return UserRow{r.i64(0, 0), kOpenUserName, true, false, r.i64(0, 1)};
  const int64_t t = unix_time_ms() / 1000;
  Result ins = run(*s, 
      "INSERT INTO users (name, key_hash, is_admin, created_at) VALUES ($1, $2, 1, $3)"
      " ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id, created_at",
      {kOpenUserName, kNull, std::to_string(t)});
  return UserRow{ins.i64(0, 0), kOpenUserName, true, false, ins.i64(0, 1)};
}

ConversationRow PgStore::create_conversation(int64_t user_id, const std::string& id, const std::string& title) {
  Lease s(*this);
  ConversationRow c{id, user_id, title, unix_time_ms(), 0, 0};
  c.updated_at = c.created_at;
  run(*s, "INSERT INTO conversations (id, user_id, title, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)",
      {id, std::to_string(user_id), title, std::to_string(c.created_at), std::to_string(c.updated_at)});
  return c;
}

#define MOSS_PG_CONV_COLUMNS \
  "c.id, c.user_id, c.title, c.created_at, c.updated_at, (SELECT COUNT(*) FROM records r WHERE r.conversation_id = c.id)"

std::optional<ConversationRow> PgStore::conversation_locked(Session& session, int64_t user_id,
                                                            const std::string& id) {
  Session* s = &session;  // as a Lease reads in the other methods
  Result r = run(*s, "SELECT " MOSS_PG_CONV_COLUMNS " FROM conversations c WHERE c.id = $1 AND c.user_id = $2",
                 {id, std::to_string(user_id)});
  if (r.rows() == 0) return std::nullopt;
  return ConversationRow{r.text(0, 0), r.i64(0, 1), r.text(0, 2), r.i64(0, 3), r.i64(0, 4), r.i64(0, 5)};
}

std::optional<ConversationRow> PgStore::conversation(int64_t user_id, const std::string& id) {
  Lease s(*this);
  return conversation_locked(*s, user_id, id);
}

std::vector<ConversationRow> PgStore::list_conversations(int64_t user_id, int limit) {
  Lease s(*this);
  Result r = run(*s, "SELECT " MOSS_PG_CONV_COLUMNS
                 " FROM conversations c WHERE c.user_id = $1 ORDER BY c.updated_at DESC, c.id LIMIT $2",
                 {std::to_string(user_id), std::to_string(limit)});
  std::vector<ConversationRow> out;
  for (int i = 0; i < r.rows(); ++i)
    out.push_back({r.text(i, 0), r.i64(i, 1), r.text(i, 2), r.i64(i, 3), r.i64(i, 4), r.i64(i, 5)});
  return out;
}

bool PgStore::delete_conversation(int64_t user_id, const std::string& id) {
  Lease s(*this);
  return run(*s, "DELETE FROM conversations WHERE id = $1 AND user_id = $2", {id, std::to_string(user_id)}).affected() > 0;
}

bool PgStore::rename_conversation(int64_t user_id, const std::string& id, const std::string& title) {
  Lease s(*this);
  return run(*s, "UPDATE conversations SET title = $1 WHERE id = $2 AND user_id = $3", {title, id, std::to_string(user_id)})
             .affected() > 0;
}

std::vector<RecordRow> PgStore::records(int64_t user_id, const std::string& conversation_id) {
  Lease s(*this);
  Result q = run(*s, 
      "SELECT r.id, r.conversation_id, r.seq, r.human, r.inner_thoughts, r.commands, r.results, r.answer,"
      " r.finish_reason, r.prompt_tokens, r.completion_tokens, r.created_at, r.rating, r.feedback,"
      " r.images, r.results_inline"
      " FROM records r JOIN conversations c ON c.id = r.conversation_id"
      " WHERE r.conversation_id = $1 AND c.user_id = $2 ORDER BY r.seq",
      {conversation_id, std::to_string(user_id)});
  std::vector<RecordRow> out;
  for (int i = 0; i < q.rows(); ++i) {
    RecordRow r;
    r.id = q.i64(i, 0);
    r.conversation_id = q.text(i, 1);
    r.seq = q.i64(i, 2);
    r.turn = {q.text(i, 3), q.text(i, 4), q.text(i, 5), q.text(i, 6), q.text(i, 7)};
    r.finish_reason = q.text(i, 8);
    r.usage = {static_cast<int>(q.i64(i, 9)), static_cast<int>(q.i64(i, 10))};
    r.created_at = q.i64(i, 11);
    r.rating = static_cast<int>(q.i64(i, 12));
    r.feedback = q.text(i, 13);
    r.turn.images = images_from_column(q.text(i, 14));
    r.turn.results_inline = q.i64(i, 15) != 0;
    out.push_back(std::move(r));
  }
  return out;
}

RecordRow PgStore::append_record(int64_t user_id, const std::string& conversation_id, const TurnRecord& turn,
                                 const std::string& finish_reason, const TurnUsage& usage, bool replace_last) {
  Lease s(*this);
  MOSS_PG_TX;
  // Row lock on the conversation: appends to one conversation are serialised across servers.
  if (run(*s, "SELECT 1 FROM conversations WHERE id = $1 AND user_id = $2 FOR UPDATE", {conversation_id, std::to_string(user_id)})
          .rows() == 0)
    fail("conversation ", conversation_id, " not found");
  if (replace_last)
    run(*s, "DELETE FROM records WHERE conversation_id = $1 AND seq = (SELECT MAX(seq) FROM records WHERE conversation_id = $1)",
        {conversation_id});
  RecordRow r;
  r.conversation_id = conversation_id;
  r.turn = turn;
  r.finish_reason = finish_reason;
  r.usage = usage;
  r.created_at = unix_time_ms();
  r.seq = run(*s, "SELECT COALESCE(MAX(seq), 0) + 1 FROM records WHERE conversation_id = $1", {conversation_id}).i64(0, 0);
  Result ins = run(*s, 
      "INSERT INTO records (conversation_id, seq, human, inner_thoughts, commands, results, answer, finish_reason,"
      " prompt_tokens, completion_tokens, created_at, images, results_inline)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
      {conversation_id, std::to_string(r.seq), turn.human, turn.inner_thoughts, turn.commands, turn.results, turn.answer,
       finish_reason, std::to_string(usage.prompt_tokens), std::to_string(usage.completion_tokens),
       std::to_string(r.created_at), images_to_column(turn.images), turn.results_inline ? "1" : "0"});
  r.id = ins.i64(0, 0);
  run(*s, "UPDATE conversations SET updated_at = $1 WHERE id = $2", {std::to_string(r.created_at), conversation_id});
  tx.commit();
  return r;
}

bool PgStore::set_feedback(int64_t user_id, const std::string& conversation_id, int64_t record_id,
                           std::optional<int> rating, std::optional<std::string> feedback) {
  Lease s(*this);
  if (!conversation_locked(*s, user_id, conversation_id)) return false;
  const std::string rid = std::to_string(record_id);
  MOSS_PG_TX;
  bool changed = false;
  if (rating)
    changed = run(*s, "UPDATE records SET rating = $1 WHERE id = $2 AND conversation_id = $3",
                  {std::to_string(*rating), rid, conversation_id})
                  .affected() > 0;
  if (feedback)
    changed = run(*s, "UPDATE records SET feedback = $1 WHERE id = $2 AND conversation_id = $3", {*feedback, rid, conversation_id})
                  .affected() > 0;
  if (!rating && !feedback)
    changed = run(*s, "SELECT 1 FROM records WHERE id = $1 AND conversation_id = $2", {rid, conversation_id}).rows() > 0;
  tx.commit();
  return changed;
}

bool PgStore::user_has_image(int64_t user_id, const std::string& name) {
  if (!valid_image_name(name)) return false;
  Lease s(*this);
  // Names hold no quotes, so the quoted name matches exactly one element of the JSON array.
  return run(*s,
             "SELECT 1 FROM records r JOIN conversations c ON c.id = r.conversation_id"
             " WHERE c.user_id = $1 AND r.images <> '' AND strpos(r.images, $2) > 0 LIMIT 1",
             {std::to_string(user_id), "\"" + name + "\""})
             .rows() > 0;
}

}  // namespace moss::server
#endif  // MOSS_HAVE_POSTGRES
