#pragma once
// The arithmetic of resilience, kept free of IO so it is unit-tested with an injected clock:
// the per-process request rate limiter, and how long to wait before retrying a failed request.
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>

#include "shared/llm/config.h"

namespace sre::llm {

// A token bucket: `per_minute` tokens a minute, holding at most `burst`. Reserve() takes a token
// now or books the next free one, so concurrent callers are served in order and the long-run
// rate never exceeds `per_minute`. Thread-safe.
class TokenBucket {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  TokenBucket(double per_minute, double burst, Clock clock = std::chrono::steady_clock::now);

  // Books a token and returns how long the caller must wait before using it (zero when one is
  // free). If that wait would exceed `max_wait`, books nothing and returns std::nullopt.
  std::optional<std::chrono::milliseconds> Reserve(std::chrono::milliseconds max_wait);
  // Changes the rate; tokens already accrued are kept, up to the new burst.
  void SetRate(double per_minute, double burst);

 private:
  void RefillLocked(std::chrono::steady_clock::time_point now);

  std::mutex mu_;
  Clock clock_;
  double per_minute_;
  double burst_;
  double tokens_;  // negative: tokens booked ahead of time
  std::chrono::steady_clock::time_point last_;
};

// The bucket every Client of this process shares, set to `max_rpm` (burst: 10 seconds' worth,
// at least 1). A later call with another rate re-rates the same bucket.
TokenBucket& ProcessTokenBucket(int max_rpm);

// How a response status is handled.
enum class StatusClass {
  kSuccess,      // 2xx
  kRateLimited,  // 429: wait retry-after (capped) or back off, then retry
  kRetryable,    // 408, 409, 5xx, 529 overloaded: back off, then retry
  kAuth,         // 401, 403: no retry; the key is wrong
  kFatal,        // any other status: the request itself is wrong; no retry
};
StatusClass ClassifyStatus(long status);

// The wait a 429 asks for, from `retry-after-ms` (milliseconds, as OpenAI sends) or
// `retry-after` (seconds, or an HTTP-date relative to `now`). std::nullopt when absent or
// unparseable. Negative waits become zero.
std::optional<std::chrono::milliseconds> ParseRetryAfter(
    std::string_view retry_after, std::string_view retry_after_ms,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// Backoff before attempt `failed_attempts + 1`: base * 2^(failed_attempts-1) * (0.5 + jitter/2)
// with jitter in [0, 1], at most policy.max_backoff.
std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int failed_attempts,
                                       double jitter);

// The wait before retrying: a 429's retry-after capped at policy.max_retry_after, otherwise the
// backoff.
std::chrono::milliseconds RetryDelay(const RetryPolicy& policy, int failed_attempts, double jitter,
                                     std::optional<std::chrono::milliseconds> retry_after);

}  // namespace sre::llm
