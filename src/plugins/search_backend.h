// The search backends' common interface: a query in, at most max_hits hits out. Backends: the
// offline SQLite FTS5 index (local_index.h), SearXNG and any JSON API (search_web.h). A backend
// throws moss::Error when the search itself failed (unreachable, malformed reply); "nothing found"
// is an empty list. SearchPlugin (search_plugin.h) turns both into result lines.
#pragma once
#include <string>
#include <vector>

namespace moss {

struct SearchHit {
  std::string title;
  std::string url;
  std::string snippet;  // plain UTF-8 text; the plugin renders it as a Python repr
};

class SearchBackend {
 public:
  virtual ~SearchBackend() = default;
  virtual std::vector<SearchHit> search(const std::string& query, int max_hits) = 0;
};

}  // namespace moss
