#include "shared/llm/resilience.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>

namespace sre::llm {

using std::chrono::milliseconds;

TokenBucket::TokenBucket(double per_minute, double burst, Clock clock)
    : clock_(std::move(clock)),
      per_minute_(std::max(per_minute, 1e-9)),
      burst_(std::max(1.0, burst)),
      tokens_(burst_),
      last_(clock_()) {}

void TokenBucket::RefillLocked(std::chrono::steady_clock::time_point now) {
  if (now > last_) {
    double elapsed_ms = std::chrono::duration<double, std::milli>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed_ms * per_minute_ / 60000.0);
    last_ = now;
  }
}

std::optional<milliseconds> TokenBucket::Reserve(milliseconds max_wait) {
  std::lock_guard<std::mutex> lock(mu_);
  RefillLocked(clock_());
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return milliseconds(0);
  }
  // The epsilon keeps float noise (300.00000000000003) from adding a millisecond.
  double wait_ms = std::ceil((1.0 - tokens_) * 60000.0 / per_minute_ - 1e-6);
  if (wait_ms > static_cast<double>(max_wait.count())) return std::nullopt;
  tokens_ -= 1.0;
  return milliseconds(static_cast<int64_t>(wait_ms));
}

void TokenBucket::SetRate(double per_minute, double burst) {
  std::lock_guard<std::mutex> lock(mu_);
  RefillLocked(clock_());
  per_minute_ = std::max(per_minute, 1e-9);
  burst_ = std::max(1.0, burst);
  tokens_ = std::min(tokens_, burst_);
}

TokenBucket& ProcessTokenBucket(int max_rpm) {
  static std::mutex mu;
  static std::unique_ptr<TokenBucket> bucket;
  static int rate = 0;
  double burst = std::max(1.0, std::floor(max_rpm / 6.0));
  std::lock_guard<std::mutex> lock(mu);
  if (!bucket) {
    bucket = std::make_unique<TokenBucket>(max_rpm, burst);
  } else if (rate != max_rpm) {
    bucket->SetRate(max_rpm, burst);
  }
  rate = max_rpm;
  return *bucket;
}

StatusClass ClassifyStatus(long status) {
  if (status >= 200 && status < 300) return StatusClass::kSuccess;
  if (status == 429) return StatusClass::kRateLimited;
  if (status == 401 || status == 403) return StatusClass::kAuth;
  if (status == 408 || status == 409 || status >= 500) return StatusClass::kRetryable;
  return StatusClass::kFatal;
}

std::optional<milliseconds> ParseRetryAfter(std::string_view retry_after,
                                            std::string_view retry_after_ms,
                                            std::chrono::system_clock::time_point now) {
  auto parse_number = [](std::string_view s) -> std::optional<double> {
    std::string str(s);
    while (!str.empty() && str.back() == ' ') str.pop_back();
    if (str.empty()) return std::nullopt;
    errno = 0;
    char* end = nullptr;
    double v = std::strtod(str.c_str(), &end);
    if (errno != 0 || end == str.c_str() || *end != '\0' || !std::isfinite(v)) return std::nullopt;
    return v;
  };
  auto clamp = [](double ms) { return milliseconds(static_cast<int64_t>(std::max(0.0, ms))); };
  if (auto ms = parse_number(retry_after_ms)) return clamp(std::min(*ms, 86400000.0));
  if (retry_after.empty()) return std::nullopt;
  if (auto secs = parse_number(retry_after)) return clamp(std::min(*secs, 86400.0) * 1000.0);
  // An HTTP-date: "Wed, 21 Oct 2015 07:28:00 GMT".
  std::tm tm{};
  std::string date(retry_after);
  const char* end = strptime(date.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  auto at = std::chrono::system_clock::from_time_t(timegm(&tm));
  return clamp(std::chrono::duration<double, std::milli>(at - now).count());
}

milliseconds BackoffDelay(const RetryPolicy& policy, int failed_attempts, double jitter) {
  int exponent = std::clamp(failed_attempts - 1, 0, 20);
  double base = static_cast<double>(policy.base_backoff.count()) * std::ldexp(1.0, exponent);
  double scaled = std::min(base, static_cast<double>(policy.max_backoff.count())) *
                  (0.5 + std::clamp(jitter, 0.0, 1.0) / 2.0);
  return milliseconds(static_cast<int64_t>(scaled));
}

milliseconds RetryDelay(const RetryPolicy& policy, int failed_attempts, double jitter,
                        std::optional<milliseconds> retry_after) {
  if (retry_after) return std::min(*retry_after, policy.max_retry_after);
  return BackoffDelay(policy, failed_attempts, jitter);
}

}  // namespace sre::llm
