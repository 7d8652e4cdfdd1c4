// `moss index`: builds or refreshes the offline search index used by the Search plugin's "local"
// backend, and lets you try a query against it.
//   moss index DIR --db FILE [--passage-chars N]   add/update/remove documents of DIR (by mtime)
//   moss index --db FILE --query TEXT [--hits N]   print the Results block the model would see
// Indexed files: .txt .md .markdown .html .htm (recursively). See docs/plugins.md.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "plugins/local_index.h"
#include "plugins/search_plugin.h"
#include "util/error.h"

namespace moss::cli {
namespace {

struct IndexArgs {
  std::string dir;
  std::string db;
  std::string query;
  int passage_chars = 300;
  int hits = 3;
  int snippet_chars = 300;
};

int run_index(const IndexArgs& a) {
  if (a.dir.empty() == a.query.empty()) {
    fail("moss index: give either a folder to index or --query TEXT (not both, not neither)");
  }
  if (!a.dir.empty()) {
    if (a.passage_chars < 16 || a.passage_chars > 100000) {
      fail("moss index: --passage-chars must be between 16 and 100000");
    }
    LocalIndex index(a.db, /*writable=*/true);
    const IndexStats s = index.index_folder(a.dir, static_cast<size_t>(a.passage_chars));
    std::printf(
        "indexed %s into %s: %lld added, %lld updated, %lld unchanged, %lld removed, %lld skipped; "
        "%lld passages written; the index holds %lld documents, %lld passages\n",
        a.dir.c_str(), a.db.c_str(), static_cast<long long>(s.added),
        static_cast<long long>(s.updated), static_cast<long long>(s.unchanged),
        static_cast<long long>(s.removed), static_cast<long long>(s.skipped),
        static_cast<long long>(s.passages_written), static_cast<long long>(s.total_documents),
        static_cast<long long>(s.total_passages));
    return 0;
  }
  auto index = std::make_unique<LocalIndex>(a.db);
  const std::vector<SearchHit> hits = index->search(a.query, a.hits);
  SearchPlugin plugin(std::make_unique<LocalIndex>(a.db), a.hits,
                      static_cast<size_t>(a.snippet_chars));
  ToolTurnContext ctx;
  const ToolResult result = plugin.run(a.query, ctx);
  std::printf("%s\n", plugin.format(a.query, result).c_str());
  for (size_t i = 0; i < hits.size(); ++i) {
    std::fprintf(stderr, "  <|%zu|> %s  %s\n", i + 1, hits[i].title.c_str(), hits[i].url.c_str());
  }
  return result.ok ? 0 : 1;
}

const CommandRegistration reg(
    "index", "build/refresh the offline search index of a folder, or query it", [](CLI::App& sub) {
      auto a = std::make_shared<IndexArgs>();
      sub.add_option("dir", a->dir, "folder of .txt/.md/.html documents to add or refresh");
      sub.add_option("--db", a->db, "the index database (SQLite; created if missing)")->required();
      sub.add_option("--passage-chars", a->passage_chars,
                     "passage size in characters (default 300; changing it re-splits everything)");
      sub.add_option("--query", a->query, "search the index and print the Search results block");
      sub.add_option("--hits", a->hits, "hits to show with --query (default 3)")
          ->check(CLI::Range(1, 50));
      sub.add_option("--snippet-chars", a->snippet_chars,
                     "snippet cut with --query, counting the opening quote (default 300)")
          ->check(CLI::Range(8, 100000));
      return [a] { return run_index(*a); };
    });

}  // namespace
}  // namespace moss::cli
