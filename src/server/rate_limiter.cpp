// Token-bucket rate limiting (see rate_limiter.h).
#include "server/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace moss::server {

int RateLimiter::acquire(int64_t user_id, Clock::time_point now) {
  if (per_minute_ <= 0) return 0;
  std::lock_guard lock(mu_);
  auto [it, inserted] = buckets_.try_emplace(user_id, Bucket{burst_, now});
  Bucket& b = it->second;
  const double rate = per_minute_ / 60.0;  // tokens per second
  const double dt = std::chrono::duration<double>(now - b.last).count();
  b.tokens = std::min(burst_, b.tokens + std::max(0.0, dt) * rate);
  b.last = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  return std::max(1, static_cast<int>(std::ceil((1.0 - b.tokens) / rate)));
}

}  // namespace moss::server
