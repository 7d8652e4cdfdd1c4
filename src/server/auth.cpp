// Key generation and hashing (see auth.h).
#include "server/auth.h"

#include <openssl/evp.h>

#include <cctype>
#include <cstdio>
#include <vector>

#include "util/error.h"

namespace moss::server {

namespace {
std::string to_hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = digits[p[i] >> 4];
    s[2 * i + 1] = digits[p[i] & 15];
  }
  return s;
}
}  // namespace

std::string random_hex(size_t n_bytes) {
  std::vector<unsigned char> buf(n_bytes);
  FILE* f = std::fopen("/dev/urandom", "rb");
  if (!f) fail("cannot open /dev/urandom for key generation");
  const size_t got = std::fread(buf.data(), 1, n_bytes, f);
  std::fclose(f);
  if (got != n_bytes) fail("short read from /dev/urandom");
  return to_hex(buf.data(), n_bytes);
}

std::string generate_api_key() { return "moss-" + random_hex(32); }

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) fail("SHA-256 failed (libcrypto)");
  return to_hex(md, len);
}

std::optional<std::string> bearer_token(std::string_view v) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  constexpr std::string_view kScheme = "bearer ";
  if (v.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(v[i])) != kScheme[i]) return std::nullopt;
  v.remove_prefix(kScheme.size());
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v.empty() || v.size() > 256) return std::nullopt;
  return std::string(v);
}

}  // namespace moss::server
