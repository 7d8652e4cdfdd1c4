// The Search plugin (spec 7.5): `Search("query")` runs the configured backend and yields one line
// per hit, `<|k|>: 'snippet'`, the snippet rendered as a Python repr, k continuing across the
// Search calls of one turn (ToolTurnContext::next_search_hit).
//
// Choices (the data leaves these open):
// * Cut snippets: the data's cut snippets are repr(text)[:300] with no closing quote. We cut the
//   text to the longest prefix whose repr, without the closing quote, has at most snippet_chars
//   code points, then repr it: the same length as the data, but well formed.
// * Untrusted text: the chat loop tokenizes results without special-token parsing, so "<eom>" in
//   a snippet cannot end a turn; still, the model was trained on data where such strings were the
//   protocol, so snippets and titles are passed through neutralize_markers() (end markers and
//   "<|...|>" tags such as fake citation anchors become a space).
// * No hits: one line "No results."; a failed search (unreachable, timeout, bad reply): one line
//   "Search failed: <reason>." with ok = false, never an exception.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "plugins/plugin.h"
#include "plugins/search_backend.h"
#include "plugins/search_web.h"

namespace moss {

struct SearchConfig {
  std::string backend;      // "" = disabled, "local", "searxng", "json"
  std::string local_db;     // backend "local": the database built by `moss index`
  SearxngConfig searxng;    // backend "searxng"
  JsonSearchConfig json;    // backend "json"
  int max_hits = 3;         // the data has 1-3 hits per Search block
  size_t snippet_chars = 300;
};

// From the JSON object of the "search" section (schema in docs/plugins.md). Throws moss::Error
// naming the bad key.
SearchConfig search_config_from_json(std::string_view json_text);
// Reads the "search" section of a JSON config file; a file without it gives a disabled config.
SearchConfig search_config_from_file(const std::string& path);

// The backend a config names; nullptr when backend is "". Throws moss::Error for unknown names or
// an unusable configuration (missing URL, missing index file).
std::unique_ptr<SearchBackend> make_search_backend(const SearchConfig& config);

class SearchPlugin : public Plugin {
 public:
  SearchPlugin(std::unique_ptr<SearchBackend> backend, int max_hits = 3,
               size_t snippet_chars = 300);
  explicit SearchPlugin(const SearchConfig& config);

  bool configured() const { return backend_ != nullptr; }
  std::string api_name() const override { return "Search"; }
  ToolResult run(const std::string& argument, ToolTurnContext& ctx) override;
  // `Search("q") =>` then the lines, joined by "\n" (no trailing newline).
  std::string format(const std::string& argument, const ToolResult& result) const override;

  // One hit line: `<|k|>: ` + repr of the (neutralized, cut) snippet.
  std::string hit_line(int k, const std::string& snippet) const;

 private:
  std::unique_ptr<SearchBackend> backend_;
  int max_hits_;
  size_t snippet_chars_;
};

}  // namespace moss
