// The offline search backend: a SQLite database holding passages of a folder of documents (.txt,
// .md, .html) in an FTS5 index, built and refreshed by `moss index DIR --db FILE`.
//
// Why trigram: FTS5's unicode61 tokenizer splits on spaces, so a run of Chinese text becomes one
// huge token and "引力" could never match inside "木星的引力加速度". The trigram tokenizer indexes
// every 3-character window, so any substring of 3+ characters matches, in any script. Queries are
// split into words (latin runs) and CJK runs; each word or CJK run of 3+ characters becomes a
// phrase (CJK runs longer than 3 contribute all their trigrams, so a query sentence need not occur
// verbatim), OR-ed and ranked by bm25. Pieces of 1-2 characters (e.g. "行星", "AI") cannot use the
// trigram index: they re-rank the FTS candidates (passages containing more of them first) and,
// when FTS finds fewer than max_hits, are searched with LIKE (a scan; fine for the small personal
// corpora this is meant for), ranked by how many of them match, then by occurrences.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "plugins/search_backend.h"

struct sqlite3;

namespace moss {

struct IndexStats {
  int64_t added = 0, updated = 0, unchanged = 0, removed = 0, skipped = 0;
  int64_t passages_written = 0;
  int64_t total_documents = 0, total_passages = 0;
};

class LocalIndex : public SearchBackend {
 public:
  // writable: create the database and schema if needed. Read-only opening of a missing or
  // foreign file throws moss::Error.
  explicit LocalIndex(const std::string& db_path, bool writable = false);
  ~LocalIndex() override;
  LocalIndex(const LocalIndex&) = delete;
  LocalIndex& operator=(const LocalIndex&) = delete;

  // Adds new files under dir, re-reads files whose mtime or size changed, drops documents under
  // dir that no longer exist. Files over 16 MiB or unreadable are skipped (counted). Changing
  // passage_chars re-splits every document. One transaction: an error leaves the index as it was.
  IndexStats index_folder(const std::string& dir, size_t passage_chars = 300);

  std::vector<SearchHit> search(const std::string& query, int max_hits) override;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
  std::mutex mu_;  // one connection, used by one caller at a time
};

}  // namespace moss
