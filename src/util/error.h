// Errors with context. Library code throws moss::Error for bad input (a truncated file, a
// malformed request); it never aborts. The message names what was wrong and where.
#pragma once
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace moss {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Joins the pieces (strings or numbers) into one message and throws moss::Error.
template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts);

namespace detail {
template <typename T>
void append(std::string& s, const T& v) {
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    s += std::string_view(v);
  } else if constexpr (std::is_same_v<T, char>) {
    s += v;
  } else {
    s += std::to_string(v);
  }
}
}  // namespace detail

template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::string msg;
  (detail::append(msg, parts), ...);
  throw Error(msg);
}

}  // namespace moss
