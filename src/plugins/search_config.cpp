// Reading SearchConfig from the "search" section of a JSON config (schema: docs/plugins.md).
#include "plugins/http_client_json.h"
#include "plugins/search_plugin.h"
#include "util/error.h"

namespace moss {

SearchConfig search_config_from_json(std::string_view text) {
  using namespace config;
  const std::string what = "search config";
  const auto obj = parse_object(text, what);
  check_keys(obj, what, {"backend", "max_hits", "snippet_chars", "local", "searxng", "json"});
  SearchConfig c;
  c.backend = get_string(obj, "backend", what, "");
  c.max_hits = static_cast<int>(get_int(obj, "max_hits", what, c.max_hits, 1, 20));
  c.snippet_chars =
      static_cast<size_t>(get_int(obj, "snippet_chars", what, static_cast<long>(c.snippet_chars), 8, 100000));
  auto section = [&](const char* key) {
    if (!obj.contains(key)) return nlohmann::json::object();
    if (!obj[key].is_object()) fail(what, ": \"", key, "\" must be an object");
    return obj[key];
  };
  {
    const auto s = section("local");
    const std::string w = what + " (local)";
    check_keys(s, w, {"db"});
    c.local_db = get_string(s, "db", w, "");
  }
  {
    const auto s = section("searxng");
    const std::string w = what + " (searxng)";
    check_keys(s, w, {"base_url", "language", "categories"});
    c.searxng.base_url = get_string(s, "base_url", w, "");
    c.searxng.language = get_string(s, "language", w, "");
    c.searxng.categories = get_string(s, "categories", w, "");
    read_http_options(s, w, c.searxng.http);
  }
  {
    const auto s = section("json");
    const std::string w = what + " (json)";
    check_keys(s, w, {"url_template", "headers", "results", "title", "url", "snippet"});
    JsonSearchConfig& j = c.json;
    j.url_template = get_string(s, "url_template", w, "");
    j.results_pointer = get_string(s, "results", w, j.results_pointer);
    j.title_pointer = get_string(s, "title", w, j.title_pointer);
    j.url_pointer = get_string(s, "url", w, j.url_pointer);
    j.snippet_pointer = get_string(s, "snippet", w, j.snippet_pointer);
    if (s.contains("headers")) {
      if (!s["headers"].is_object()) fail(w, ": \"headers\" must be an object of strings");
      for (auto it = s["headers"].begin(); it != s["headers"].end(); ++it) {
        if (!it.value().is_string()) fail(w, ": header \"", it.key(), "\" must be a string");
        j.headers.emplace_back(it.key(), resolve_secret(it.value().get<std::string>()));
      }
    }
    read_http_options(s, w, j.http);
  }
  return c;
}

SearchConfig search_config_from_file(const std::string& path) {
  const std::string section = config::file_section(path, "search");
  return section.empty() ? SearchConfig{} : search_config_from_json(section);
}

}  // namespace moss
