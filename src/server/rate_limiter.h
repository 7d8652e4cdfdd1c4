// Per-user request rate limit: a token bucket per user id holding up to `burst` requests, refilled
// at `per_minute`/60 per second. per_minute <= 0 disables the limit.
#pragma once
#include <chrono>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace moss::server {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  RateLimiter(double per_minute, double burst) : per_minute_(per_minute), burst_(burst) {}
  // Takes one request from the user's bucket. Returns 0 when allowed, else the seconds to wait.
  int acquire(int64_t user_id, Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    double tokens;
    Clock::time_point last;
  };
  double per_minute_, burst_;
  std::mutex mu_;
  std::unordered_map<int64_t, Bucket> buckets_;
};

}  // namespace moss::server
