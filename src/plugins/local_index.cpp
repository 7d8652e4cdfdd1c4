// SQLite FTS5 passage index over a folder of documents; see local_index.h for the ranking design.
#include "plugins/local_index.h"
#include "util/utf8.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "plugins/py_repr.h"
#include "plugins/search_text.h"
#include "util/error.h"

namespace fs = std::filesystem;

namespace moss {
namespace {

constexpr const char* kSchemaVersion = "1";
constexpr uintmax_t kMaxFileBytes = 16u << 20;

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &st_, nullptr) != SQLITE_OK) {
      fail("local index: cannot prepare query: ", sqlite3_errmsg(db));
    }
  }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  bool step() {
    const int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail("local index: ", sqlite3_errmsg(db_));
  }
  void reset() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  int64_t integer(int col) const { return sqlite3_column_int64(st_, col); }
  double real(int col) const { return sqlite3_column_double(st_, col); }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(st_, col))) : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
};

void exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    fail("local index: ", msg);
  }
}

std::string meta_get(sqlite3* db, const std::string& key) {
  Stmt st(db, "SELECT value FROM meta WHERE key = ?");
  st.bind(1, key);
  return st.step() ? st.text(0) : std::string();
}

void meta_set(sqlite3* db, const std::string& key, const std::string& value) {
  Stmt st(db, "INSERT INTO meta(key, value) VALUES(?, ?) "
              "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  st.bind(1, key).bind(2, value);
  st.step();
}

bool indexable(const fs::path& p) {
  std::string ext = p.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".txt" || ext == ".md" || ext == ".markdown" || ext == ".html" || ext == ".htm";
}

// Reads a document and returns (title, plain text).
std::pair<std::string, std::string> read_document(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) fail("cannot read ", p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string raw = ss.str();
  std::string ext = p.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string title;
  if (ext == ".html" || ext == ".htm") {
    std::string text = html_to_text(raw, &title);
    if (title.empty()) title = p.filename().string();
    return {title, text};
  }
  if (ext == ".md" || ext == ".markdown") {
    std::istringstream lines(raw);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("# ", 0) == 0) {
        title = line.substr(2);
        while (!title.empty() && (title.back() == '\r' || title.back() == ' ')) title.pop_back();
        break;
      }
    }
  }
  if (title.empty()) title = p.filename().string();
  return {title, raw};
}

std::string lower_ascii(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

size_t count_occurrences(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

struct QueryPlan {
  std::vector<std::string> fts_phrases;  // 3+ code points each
  std::vector<std::string> short_terms;  // 1-2 code points, lowercased ASCII
};

QueryPlan plan_query(const std::string& query) {
  QueryPlan plan;
  std::vector<std::u32string> words, cjk_runs;
  std::u32string cur;
  bool cur_cjk = false;
  auto flush = [&] {
    if (!cur.empty()) (cur_cjk ? cjk_runs : words).push_back(cur);
    cur.clear();
  };
  for (char32_t c : utf8::to_code_points(query)) {
    const bool cjk = is_cjk(c);
    if (!cjk && !is_word_char(c)) {
      flush();
      continue;
    }
    if (!cur.empty() && cjk != cur_cjk) flush();
    cur_cjk = cjk;
    cur += c;
  }
  flush();
  std::set<std::string> seen;
  auto add_phrase = [&](const std::u32string& t) {
    std::string s = lower_ascii(utf8::from_code_points(t));
    if (seen.insert(s).second) plan.fts_phrases.push_back(s);
  };
  std::vector<std::string> short_words;
  for (const auto& w : words) {
    if (w.size() >= 3) {
      add_phrase(w);
    } else {
      short_words.push_back(lower_ascii(utf8::from_code_points(w)));
    }
  }
  for (const auto& r : cjk_runs) {
    if (r.size() < 3) {
      plan.short_terms.push_back(utf8::from_code_points(r));
    } else {
      for (size_t i = 0; i + 3 <= r.size(); ++i) add_phrase(r.substr(i, 3));
    }
  }
  // One- and two-letter words ("a", "of", "AI") match almost everywhere as substrings; use them
  // only when the query has nothing else.
  if (plan.fts_phrases.empty() && plan.short_terms.empty()) plan.short_terms = short_words;
  std::sort(plan.short_terms.begin(), plan.short_terms.end());
  plan.short_terms.erase(std::unique(plan.short_terms.begin(), plan.short_terms.end()),
                         plan.short_terms.end());
  return plan;
}

std::string fts_match_expr(const std::vector<std::string>& phrases) {
  std::string expr;
  for (const auto& p : phrases) {
    if (!expr.empty()) expr += " OR ";
    expr += '"';
    for (char c : p) {
      if (c == '"') expr += '"';  // FTS5 string literal: "" inside quotes
      expr += c;
    }
    expr += '"';
  }
  return expr;
}

std::string like_pattern(const std::string& term) {
  std::string p = "%";
  for (char c : term) {
    if (c == '%' || c == '_' || c == '\\') p += '\\';
    p += c;
  }
  return p + "%";
}

struct Candidate {
  int64_t id;
  SearchHit hit;
  size_t short_matched = 0;
  size_t occurrences = 0;
  double bm25 = 0;  // lower is better (SQLite's bm25() is negated)
};

}  // namespace

LocalIndex::LocalIndex(const std::string& db_path, bool writable) : path_(db_path) {
  if (!writable && !fs::exists(db_path)) {
    fail("local index ", db_path, " does not exist; build it with `moss index DIR --db ", db_path,
         "`");
  }
  const int flags = writable ? (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) : SQLITE_OPEN_READONLY;
  if (sqlite3_open_v2(db_path.c_str(), &db_, flags | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    fail("cannot open local index ", db_path, ": ", msg);
  }
  sqlite3_busy_timeout(db_, 5000);
  try {
    if (writable) {
      exec(db_,
           "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
           "CREATE TABLE IF NOT EXISTS docs(id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL,"
           " mtime INTEGER NOT NULL, size INTEGER NOT NULL, title TEXT NOT NULL);"
           "CREATE TABLE IF NOT EXISTS passages(id INTEGER PRIMARY KEY, doc_id INTEGER NOT NULL,"
           " ord INTEGER NOT NULL, text TEXT NOT NULL);"
           "CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_id);"
           "CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(text, content='passages',"
           " content_rowid='id', tokenize='trigram');"
           "CREATE TRIGGER IF NOT EXISTS passages_ai AFTER INSERT ON passages BEGIN"
           " INSERT INTO passages_fts(rowid, text) VALUES(new.id, new.text); END;"
           "CREATE TRIGGER IF NOT EXISTS passages_ad AFTER DELETE ON passages BEGIN"
           " INSERT INTO passages_fts(passages_fts, rowid, text) VALUES('delete', old.id, old.text);"
           " END;");
      const std::string v = meta_get(db_, "schema_version");
      if (v.empty()) meta_set(db_, "schema_version", kSchemaVersion);
    }
    const std::string v = meta_get(db_, "schema_version");
    if (v != kSchemaVersion) {
      fail("unsupported schema version '", v, "' (expected ", kSchemaVersion, ")");
    }
  } catch (const Error& e) {
    sqlite3_close(db_);
    db_ = nullptr;
    fail(db_path, " is not a moss local index: ", e.what());
  }
}

LocalIndex::~LocalIndex() { sqlite3_close(db_); }

IndexStats LocalIndex::index_folder(const std::string& dir, size_t passage_chars) {
  std::lock_guard lock(mu_);
  std::error_code ec;
  const fs::path root = fs::canonical(dir, ec);
  if (ec || !fs::is_directory(root)) fail("moss index: ", dir, " is not a readable folder");
  IndexStats stats;

  exec(db_, "BEGIN IMMEDIATE");
  try {
    const std::string chars_key = std::to_string(passage_chars);
    const bool resplit_all = meta_get(db_, "passage_chars") != chars_key;
    meta_set(db_, "passage_chars", chars_key);

    std::map<std::string, std::pair<int64_t, std::pair<int64_t, int64_t>>> known;  // path -> id, mtime, size
    {
      Stmt st(db_, "SELECT id, path, mtime, size FROM docs");
      while (st.step()) known[st.text(1)] = {st.integer(0), {st.integer(2), st.integer(3)}};
    }
    Stmt del_passages(db_, "DELETE FROM passages WHERE doc_id = ?");
    Stmt del_doc(db_, "DELETE FROM docs WHERE id = ?");
    Stmt ins_doc(db_, "INSERT INTO docs(path, mtime, size, title) VALUES(?, ?, ?, ?)");
    Stmt upd_doc(db_, "UPDATE docs SET mtime = ?, size = ?, title = ? WHERE id = ?");
    Stmt ins_passage(db_, "INSERT INTO passages(doc_id, ord, text) VALUES(?, ?, ?)");

    std::set<std::string> present;
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
    if (ec) fail("moss index: cannot list ", root.string(), ": ", ec.message());
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) fail("moss index: cannot list ", root.string(), ": ", ec.message());
      const fs::directory_entry& entry = *it;
      std::error_code fe;
      if (!entry.is_regular_file(fe) || !indexable(entry.path())) continue;
      const std::string path = entry.path().string();
      const uintmax_t size = entry.file_size(fe);
      const auto mtime_raw = entry.last_write_time(fe);
      if (fe || size > kMaxFileBytes) {
        ++stats.skipped;
        continue;
      }
      const int64_t mtime = static_cast<int64_t>(mtime_raw.time_since_epoch().count());
      present.insert(path);
      auto k = known.find(path);
      const bool exists = k != known.end();
      if (exists && !resplit_all && k->second.second.first == mtime &&
          k->second.second.second == static_cast<int64_t>(size)) {
        ++stats.unchanged;
        continue;
      }
      std::pair<std::string, std::string> doc;
      try {
        doc = read_document(entry.path());
      } catch (const Error&) {
        ++stats.skipped;
        continue;
      }
      int64_t doc_id;
      if (exists) {
        doc_id = k->second.first;
        del_passages.reset();
        del_passages.bind(1, doc_id).step();
        upd_doc.reset();
        upd_doc.bind(1, mtime).bind(2, static_cast<int64_t>(size)).bind(3, doc.first).bind(4, doc_id);
        upd_doc.step();
        ++stats.updated;
      } else {
        ins_doc.reset();
        ins_doc.bind(1, path).bind(2, mtime).bind(3, static_cast<int64_t>(size)).bind(4, doc.first);
        ins_doc.step();
        doc_id = sqlite3_last_insert_rowid(db_);
        ++stats.added;
      }
      int64_t ord = 0;
      for (const std::string& passage : split_passages(doc.second, passage_chars)) {
        ins_passage.reset();
        ins_passage.bind(1, doc_id).bind(2, ord++).bind(3, passage);
        ins_passage.step();
        ++stats.passages_written;
      }
    }
    // Documents under this root that are gone (documents of other roots are left alone).
    std::string prefix = root.string();
    if (prefix.back() != '/') prefix += '/';
    for (const auto& [path, info] : known) {
      if (path.rfind(prefix, 0) == 0 && !present.count(path)) {
        del_passages.reset();
        del_passages.bind(1, info.first).step();
        del_doc.reset();
        del_doc.bind(1, info.first).step();
        ++stats.removed;
      }
    }
    exec(db_, "COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  Stmt docs(db_, "SELECT count(*) FROM docs");
  docs.step();
  stats.total_documents = docs.integer(0);
  Stmt passages(db_, "SELECT count(*) FROM passages");
  passages.step();
  stats.total_passages = passages.integer(0);
  return stats;
}

std::vector<SearchHit> LocalIndex::search(const std::string& query, int max_hits) {
  std::lock_guard lock(mu_);
  std::vector<SearchHit> out;
  if (max_hits <= 0) return out;
  const QueryPlan plan = plan_query(query);
  std::vector<Candidate> ranked;
  std::set<int64_t> taken;

  auto fill = [&](Candidate& c) {
    const std::string lowered = lower_ascii(c.hit.snippet);
    for (const std::string& t : plan.short_terms) {
      const size_t n = count_occurrences(lowered, t);
      c.short_matched += n > 0;
      c.occurrences += n;
    }
  };

  if (!plan.fts_phrases.empty()) {
    Stmt st(db_,
            "SELECT p.id, p.text, d.title, d.path, bm25(passages_fts) AS r FROM passages_fts"
            " JOIN passages p ON p.id = passages_fts.rowid JOIN docs d ON d.id = p.doc_id"
            " WHERE passages_fts MATCH ? ORDER BY r LIMIT ?");
    st.bind(1, fts_match_expr(plan.fts_phrases)).bind(2, std::max<int64_t>(50, 10 * max_hits));
    std::vector<Candidate> fts;
    while (st.step()) {
      Candidate c{st.integer(0), {st.text(2), "file://" + st.text(3), st.text(1)}};
      c.bm25 = st.real(4);
      fill(c);
      fts.push_back(std::move(c));
    }
    std::stable_sort(fts.begin(), fts.end(), [](const Candidate& a, const Candidate& b) {
      if (a.short_matched != b.short_matched) return a.short_matched > b.short_matched;
      return a.bm25 < b.bm25;
    });
    for (auto& c : fts) {
      taken.insert(c.id);
      ranked.push_back(std::move(c));
    }
  }
  if (static_cast<int>(ranked.size()) < max_hits && !plan.short_terms.empty()) {
    std::string sql =
        "SELECT p.id, p.text, d.title, d.path FROM passages p JOIN docs d ON d.id = p.doc_id WHERE ";
    for (size_t i = 0; i < plan.short_terms.size(); ++i) {
      sql += i ? " OR " : "";
      sql += "p.text LIKE ? ESCAPE '\\'";
    }
    sql += " LIMIT 2000";
    Stmt st(db_, sql.c_str());
    for (size_t i = 0; i < plan.short_terms.size(); ++i) {
      st.bind(static_cast<int>(i + 1), like_pattern(plan.short_terms[i]));
    }
    std::vector<Candidate> like;
    while (st.step()) {
      Candidate c{st.integer(0), {st.text(2), "file://" + st.text(3), st.text(1)}};
      if (taken.count(c.id)) continue;
      fill(c);
      like.push_back(std::move(c));
    }
    std::stable_sort(like.begin(), like.end(), [](const Candidate& a, const Candidate& b) {
      if (a.short_matched != b.short_matched) return a.short_matched > b.short_matched;
      if (a.occurrences != b.occurrences) return a.occurrences > b.occurrences;
      return a.hit.snippet.size() < b.hit.snippet.size();
    });
    for (auto& c : like) ranked.push_back(std::move(c));
  }
  for (auto& c : ranked) {
    if (static_cast<int>(out.size()) >= max_hits) break;
    out.push_back(std::move(c.hit));
  }
  return out;
}

}  // namespace moss
