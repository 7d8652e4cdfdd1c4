// Helpers for reading plugin configuration from JSON (private to the plugins layer: includes
// nlohmann/json). Strict: unknown keys and wrong types throw moss::Error naming the key, so a typo
// in a config file is reported instead of silently ignored.
#pragma once
#include <nlohmann/json.hpp>
#include <initializer_list>
#include <string>
#include <string_view>

#include "plugins/http_client.h"

namespace moss::config {

nlohmann::json parse_object(std::string_view text, const std::string& what);
void check_keys(const nlohmann::json& obj, const std::string& what,
                std::initializer_list<const char*> allowed);
std::string get_string(const nlohmann::json& obj, const char* key, const std::string& what,
                       const std::string& fallback);
long get_int(const nlohmann::json& obj, const char* key, const std::string& what, long fallback,
             long min, long max);
// "timeout_ms", "connect_timeout_ms", "max_response_bytes", "max_redirects" of obj into `http`.
void read_http_options(const nlohmann::json& obj, const std::string& what, HttpOptions& http);
inline constexpr const char* kHttpKeys[] = {"timeout_ms", "connect_timeout_ms",
                                            "max_response_bytes", "max_redirects"};
// A secret given as "env:NAME" is read from the environment (empty if unset), so config files
// need not hold API keys; any other string is used as is.
std::string resolve_secret(const std::string& value);
// The JSON text of top-level key `key` of the config file at path, or "" when absent.
std::string file_section(const std::string& path, const char* key);

}  // namespace moss::config
