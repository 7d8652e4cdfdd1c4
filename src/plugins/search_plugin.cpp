// The Search plugin: backend hits -> `<|k|>: 'snippet'` lines (see search_plugin.h).
#include "plugins/search_plugin.h"

#include <exception>

#include "plugins/local_index.h"
#include "plugins/py_repr.h"
#include "plugins/search_text.h"
#include "util/error.h"

namespace moss {

std::unique_ptr<SearchBackend> make_search_backend(const SearchConfig& config) {
  if (config.backend.empty()) return nullptr;
  if (config.backend == "local") {
    if (config.local_db.empty()) fail("search: backend \"local\" needs \"db\" (the index file)");
    return std::make_unique<LocalIndex>(config.local_db, /*writable=*/false);
  }
  if (config.backend == "searxng") return std::make_unique<SearxngBackend>(config.searxng);
  if (config.backend == "json") return std::make_unique<JsonSearchBackend>(config.json);
  fail("search: unknown backend \"", config.backend, "\" (expected local, searxng or json)");
}

SearchPlugin::SearchPlugin(std::unique_ptr<SearchBackend> backend, int max_hits,
                           size_t snippet_chars)
    : backend_(std::move(backend)), max_hits_(max_hits), snippet_chars_(snippet_chars) {
  if (max_hits_ < 1) fail("search: max_hits must be at least 1");
  if (snippet_chars_ < 8) fail("search: snippet_chars must be at least 8");
}

SearchPlugin::SearchPlugin(const SearchConfig& config)
    : SearchPlugin(make_search_backend(config), config.max_hits, config.snippet_chars) {}

std::string SearchPlugin::hit_line(int k, const std::string& snippet) const {
  return "<|" + std::to_string(k) + "|>: " +
         py_repr_truncated(neutralize_markers(snippet), snippet_chars_);
}

ToolResult SearchPlugin::run(const std::string& argument, ToolTurnContext& ctx) {
  ToolResult result;
  if (!backend_) {
    result.ok = false;
    result.lines = {"Search failed: no search backend is configured."};
    return result;
  }
  std::vector<SearchHit> hits;
  try {
    hits = backend_->search(argument, max_hits_);
  } catch (const std::exception& e) {
    // Keep the reason on one line: the Results block is line oriented.
    std::string why = e.what();
    for (char& c : why) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    result.ok = false;
    result.lines = {"Search failed: " + neutralize_markers(why) + "."};
    return result;
  }
  for (const SearchHit& h : hits) {
    if (static_cast<int>(result.lines.size()) >= max_hits_) break;
    result.lines.push_back(hit_line(ctx.next_search_hit++, h.snippet));
  }
  if (result.lines.empty()) result.lines = {"No results."};
  return result;
}

std::string SearchPlugin::format(const std::string& argument, const ToolResult& result) const {
  // The argument is echoed as the model wrote it, between double quotes, unescaped (spec 7.2).
  std::string out = "Search(\"" + argument + "\") =>";
  for (const std::string& line : result.lines) out += "\n" + line;
  return out;
}

}  // namespace moss
