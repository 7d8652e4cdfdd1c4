// JSON configuration helpers for the plugins (see http_client_json.h).
#include "plugins/http_client_json.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "util/error.h"

namespace moss::config {

using nlohmann::json;

json parse_object(std::string_view text, const std::string& what) {
  json doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded()) fail(what, ": not valid JSON");
  if (!doc.is_object()) fail(what, ": expected a JSON object");
  return doc;
}

void check_keys(const json& obj, const std::string& what, std::initializer_list<const char*> allowed) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const bool ok = std::any_of(allowed.begin(), allowed.end(),
                                [&](const char* k) { return it.key() == k; }) ||
                    std::any_of(std::begin(kHttpKeys), std::end(kHttpKeys),
                                [&](const char* k) { return it.key() == k; });
    if (!ok) fail(what, ": unknown key \"", it.key(), "\"");
  }
}

std::string get_string(const json& obj, const char* key, const std::string& what,
                       const std::string& fallback) {
  if (!obj.contains(key)) return fallback;
  if (!obj[key].is_string()) fail(what, ": \"", key, "\" must be a string");
  return obj[key].get<std::string>();
}

long get_int(const json& obj, const char* key, const std::string& what, long fallback, long min,
             long max) {
  if (!obj.contains(key)) return fallback;
  const json& v = obj[key];
  if (!v.is_number_integer()) fail(what, ": \"", key, "\" must be an integer");
  const long long n = v.get<long long>();
  if (n < min || n > max) fail(what, ": \"", key, "\" must be between ", min, " and ", max);
  return static_cast<long>(n);
}

void read_http_options(const json& obj, const std::string& what, HttpOptions& http) {
  http.timeout_ms = get_int(obj, "timeout_ms", what, http.timeout_ms, 1, 3600000);
  http.connect_timeout_ms =
      get_int(obj, "connect_timeout_ms", what, http.connect_timeout_ms, 1, 600000);
  http.max_response_bytes = static_cast<size_t>(
      get_int(obj, "max_response_bytes", what, static_cast<long>(http.max_response_bytes), 1024,
              1L << 30));
  http.max_redirects = static_cast<int>(get_int(obj, "max_redirects", what, http.max_redirects, 0, 20));
}

std::string resolve_secret(const std::string& value) {
  if (value.rfind("env:", 0) != 0) return value;
  const char* v = std::getenv(value.substr(4).c_str());
  return v ? v : "";
}

std::string file_section(const std::string& path, const char* key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read config file ", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  const json doc = parse_object(ss.str(), "config file " + path);
  if (!doc.contains(key)) return {};
  return doc[key].dump();
}

}  // namespace moss::config
