// SearXNG and generic JSON search backends (see search_web.h).
#include "plugins/search_web.h"

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace moss {
namespace {

using nlohmann::json;

json parse_reply(const HttpResponse& resp, const std::string& what) {
  json doc = json::parse(resp.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) fail(what, ": the reply is not valid JSON");
  return doc;
}

// The string at a JSON pointer below `node` ("" or missing or not a string -> "").
std::string string_at(const json& node, const std::string& pointer, const std::string& what) {
  if (pointer.empty()) return {};
  try {
    const json::json_pointer ptr(pointer);
    if (!node.contains(ptr)) return {};
    const json& v = node.at(ptr);
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number()) return v.dump();
    return {};
  } catch (const json::exception& e) {
    fail(what, ": bad JSON pointer '", pointer, "': ", e.what());
  }
}

}  // namespace

SearxngBackend::SearxngBackend(SearxngConfig config)
    : config_(std::move(config)), client_(config_.http) {
  if (config_.base_url.empty()) fail("searxng search: base_url is not set");
  while (!config_.base_url.empty() && config_.base_url.back() == '/') config_.base_url.pop_back();
}

std::vector<SearchHit> SearxngBackend::search(const std::string& query, int max_hits) {
  std::string url = config_.base_url + "/search?q=" + url_encode(query) + "&format=json";
  if (!config_.language.empty()) url += "&language=" + url_encode(config_.language);
  if (!config_.categories.empty()) url += "&categories=" + url_encode(config_.categories);
  const json doc = parse_reply(client_.get(url, {{"Accept", "application/json"}}), "searxng search");
  if (!doc.is_object() || !doc.contains("results") || !doc["results"].is_array()) {
    fail("searxng search: the reply has no \"results\" array");
  }
  std::vector<SearchHit> hits;
  for (const json& r : doc["results"]) {
    if (static_cast<int>(hits.size()) >= max_hits) break;
    if (!r.is_object()) continue;
    SearchHit h{string_at(r, "/title", "searxng"), string_at(r, "/url", "searxng"),
                string_at(r, "/content", "searxng")};
    if (h.snippet.empty()) h.snippet = h.title;  // some engines return a title only
    if (!h.snippet.empty()) hits.push_back(std::move(h));
  }
  return hits;
}

std::string expand_url_template(const std::string& tmpl, const std::string& query, int max_hits) {
  std::string out;
  for (size_t i = 0; i < tmpl.size();) {
    if (tmpl.compare(i, 7, "{query}") == 0) {
      out += url_encode(query);
      i += 7;
    } else if (tmpl.compare(i, 10, "{max_hits}") == 0) {
      out += std::to_string(max_hits);
      i += 10;
    } else {
      out += tmpl[i++];
    }
  }
  return out;
}

JsonSearchBackend::JsonSearchBackend(JsonSearchConfig config)
    : config_(std::move(config)), client_(config_.http) {
  if (config_.url_template.find("{query}") == std::string::npos) {
    fail("json search: url_template must contain {query}");
  }
  for (const std::string* p : {&config_.results_pointer, &config_.title_pointer,
                               &config_.url_pointer, &config_.snippet_pointer}) {
    if (!p->empty() && (*p)[0] != '/') fail("json search: JSON pointer '", *p, "' must start with /");
  }
}

std::vector<SearchHit> JsonSearchBackend::search(const std::string& query, int max_hits) {
  const std::string url = expand_url_template(config_.url_template, query, max_hits);
  const json doc = parse_reply(client_.get(url, config_.headers), "json search");
  const json* list = &doc;
  json::json_pointer ptr;
  try {
    ptr = json::json_pointer(config_.results_pointer);
  } catch (const json::exception& e) {
    fail("json search: bad results pointer '", config_.results_pointer, "': ", e.what());
  }
  if (!config_.results_pointer.empty()) {
    if (!doc.contains(ptr)) fail("json search: the reply has nothing at ", config_.results_pointer);
    list = &doc.at(ptr);
  }
  if (!list->is_array()) fail("json search: ", config_.results_pointer, " is not an array");
  std::vector<SearchHit> hits;
  for (const json& r : *list) {
    if (static_cast<int>(hits.size()) >= max_hits) break;
    SearchHit h{string_at(r, config_.title_pointer, "json search"),
                string_at(r, config_.url_pointer, "json search"),
                r.is_string() ? r.get<std::string>()
                              : string_at(r, config_.snippet_pointer, "json search")};
    if (!h.snippet.empty()) hits.push_back(std::move(h));
  }
  return hits;
}

}  // namespace moss
