// libcurl wrapper for the plugin backends; see http_client.h for the guarantees.
#include "plugins/http_client.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

#include "util/error.h"

namespace moss {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Sink {
  std::string* body;
  size_t limit;
  bool overflow = false;
};

size_t write_cb(char* data, size_t size, size_t nmemb, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t n = size * nmemb;
  if (sink->body->size() + n > sink->limit) {
    sink->overflow = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  sink->body->append(data, n);
  return n;
}

// Only the scheme and host part of a URL, so that error messages never echo query strings (which
// may carry API keys).
std::string redact(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  const size_t end = url.find_first_of("/?#", start);
  std::string out = url.substr(0, end);
  if (end != std::string::npos && url[end] == '/') {
    const size_t q = url.find_first_of("?#", end);
    out += url.substr(end, q == std::string::npos ? std::string::npos : q - end);
  }
  return out;
}

bool is_loopback(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return false;
  const std::string rest = url.substr(scheme + 3);
  for (const char* host : {"127.0.0.1", "localhost", "[::1]"}) {
    const size_t n = std::string(host).size();
    if (rest.compare(0, n, host) == 0 && (rest.size() == n || rest[n] == ':' || rest[n] == '/')) {
      return true;
    }
  }
  return false;
}

}  // namespace

HttpClient::HttpClient(HttpOptions options) : options_(std::move(options)) { global_init(); }

HttpResponse HttpClient::get(const std::string& url, const HttpHeaders& headers) const {
  return perform("GET", url, nullptr, headers);
}

HttpResponse HttpClient::post_json(const std::string& url, const std::string& json_body,
                                   const HttpHeaders& headers) const {
  HttpHeaders all = headers;
  all.emplace_back("Content-Type", "application/json");
  return perform("POST", url, &json_body, all);
}

HttpResponse HttpClient::perform(const char* method, const std::string& url,
                                 const std::string* body, const HttpHeaders& headers) const {
  const std::string where = std::string(method) + " " + redact(url);
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    fail(where, ": only http:// and https:// URLs are allowed");
  }
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) fail(where, ": cannot initialise libcurl");
  CURL* h = curl.get();
  HttpResponse resp;
  Sink sink{&resp.body, options_.max_response_bytes};
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_slist* list = nullptr;
  for (const auto& [k, v] : headers) list = curl_slist_append(list, (k + ": " + v).c_str());
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip on POST
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> list_guard(list, curl_slist_free_all);

  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM: safe in threads
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, options_.max_redirects > 0 ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, static_cast<long>(options_.max_redirects));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, options_.timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(options_.max_response_bytes));
  if (is_loopback(url)) {
    // A proxy from the environment (http_proxy) must not swallow requests to local services
    // (a SearXNG or AUTOMATIC1111 on this machine, the tests' mock servers).
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  }
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // any encoding curl can decode
  curl_easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  if (body) {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }

  const CURLcode rc = curl_easy_perform(h);
  if (sink.overflow || rc == CURLE_FILESIZE_EXCEEDED) {
    fail(where, ": response larger than ", options_.max_response_bytes, " bytes");
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) fail(where, ": timed out after ", options_.timeout_ms, " ms");
  if (rc != CURLE_OK) {
    fail(where, ": ", errbuf[0] ? errbuf : curl_easy_strerror(rc));
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  char* ct = nullptr;
  if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct) resp.content_type = ct;
  if (resp.status >= 400) {
    std::string excerpt = resp.body.substr(0, 200);
    for (char& c : excerpt) {
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    }
    fail(where, ": HTTP ", resp.status, excerpt.empty() ? "" : ": ", excerpt);
  }
  return resp;
}

std::string url_encode(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  return out;
}

}  // namespace moss
