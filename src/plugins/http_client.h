// A small blocking HTTP client over libcurl for the plugins' web backends (search, text-to-image).
// Bounded by design: total and connect timeouts, a cap on the response size, only http/https
// (also for redirects, which are limited in number). Every failure (cannot connect, timeout,
// too large, HTTP status >= 400) throws moss::Error naming the method, the URL and the cause.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace moss {

struct HttpOptions {
  long timeout_ms = 15000;         // whole request, connect included
  long connect_timeout_ms = 5000;
  size_t max_response_bytes = 32u << 20;  // 32 MiB: room for a few base64 PNGs
  int max_redirects = 3;           // 0 = do not follow redirects
  std::string user_agent = "moss.cpp";
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  long status = 0;
  std::string body;
  std::string content_type;
};

class HttpClient {
 public:
  explicit HttpClient(HttpOptions options = {});
  const HttpOptions& options() const { return options_; }

  // Throw moss::Error on transport failures and on HTTP status >= 400 (the message carries the
  // status and the start of the body).
  HttpResponse get(const std::string& url, const HttpHeaders& headers = {}) const;
  HttpResponse post_json(const std::string& url, const std::string& json_body,
                         const HttpHeaders& headers = {}) const;

 private:
  HttpResponse perform(const char* method, const std::string& url, const std::string* body,
                       const HttpHeaders& headers) const;
  HttpOptions options_;
};

// Percent-encodes everything but RFC 3986 unreserved characters (for query parameters).
std::string url_encode(std::string_view text);

}  // namespace moss
