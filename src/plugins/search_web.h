// HTTP search backends: SearXNG's JSON API and any JSON search API described by a URL template
// and JSON pointers. Both throw moss::Error (via HttpClient or on a malformed reply); hits with no
// snippet text are skipped.
#pragma once
#include <string>
#include <vector>

#include "plugins/http_client.h"
#include "plugins/search_backend.h"

namespace moss {

struct SearxngConfig {
  std::string base_url;    // e.g. http://127.0.0.1:8888 ; GET {base_url}/search?q=..&format=json
  std::string language;    // optional: &language=
  std::string categories;  // optional: &categories=
  HttpOptions http;
};

class SearxngBackend : public SearchBackend {
 public:
  explicit SearxngBackend(SearxngConfig config);
  std::vector<SearchHit> search(const std::string& query, int max_hits) override;

 private:
  SearxngConfig config_;
  HttpClient client_;
};

struct JsonSearchConfig {
  // {query} is replaced by the percent-encoded query, {max_hits} by the number wanted.
  std::string url_template;
  HttpHeaders headers;                    // e.g. {"Authorization", "Bearer ..."}
  std::string results_pointer = "/results";  // JSON pointer to the array of results
  std::string title_pointer = "/title";   // relative to one result; "" = not used
  std::string url_pointer = "/url";
  std::string snippet_pointer = "/snippet";
  HttpOptions http;
};

class JsonSearchBackend : public SearchBackend {
 public:
  explicit JsonSearchBackend(JsonSearchConfig config);
  std::vector<SearchHit> search(const std::string& query, int max_hits) override;

 private:
  JsonSearchConfig config_;
  HttpClient client_;
};

// Builds the request URL of a JSON backend (exposed for tests).
std::string expand_url_template(const std::string& url_template, const std::string& query,
                                int max_hits);

}  // namespace moss
