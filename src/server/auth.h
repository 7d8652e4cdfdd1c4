// API keys: random keys from /dev/urandom, stored only as their SHA-256 (OpenSSL libcrypto), and
// the Authorization header parser. A leaked database therefore does not leak usable keys.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace moss::server {

// n random bytes from /dev/urandom as 2n lowercase hex digits. Throws moss::Error if unreadable.
std::string random_hex(size_t n_bytes);
// A new API key: "moss-" + 64 hex digits (256 random bits).
std::string generate_api_key();
// Lowercase hex SHA-256 of the bytes.
std::string sha256_hex(std::string_view data);
// The key of an "Authorization: Bearer KEY" header value; nullopt when malformed.
std::optional<std::string> bearer_token(std::string_view header_value);

}  // namespace moss::server
