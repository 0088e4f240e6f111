#pragma once
// Delivery semantics of the chat, paging and webhook channels, as plain functions: what an HTTP
// answer means (delivered, retry later, failed for good), how long to wait before the next try
// (capped exponential backoff with jitter, or the receiver's Retry-After), a per-channel rate
// limit, and the Notice an email's view becomes. Pure; the clock is passed in.
#include <chrono>
#include <optional>
#include <string>

#include "agents/communication/channels.h"
#include "agents/communication/notifier.h"
#include "agents/communication/routes.h"
#include "shared/llm/transport.h"

namespace sre::communication {

struct BackoffPolicy {
  std::chrono::milliseconds initial{1000};
  std::chrono::milliseconds cap{60000};
};

// The wait before attempt `attempt + 1` (attempt ≥ 1 failed so far): initial × 2^(attempt-1),
// at most `cap`, scaled by a jitter in [0.5, 1] (`jitter01` in [0, 1]) so that many senders
// retrying one receiver do not arrive together.
std::chrono::milliseconds BackoffDelay(int attempt, double jitter01, const BackoffPolicy& p);

// Retry-After: delay-seconds ("120") or an HTTP-date ("Wed, 21 Oct 2026 07:28:00 GMT", against
// `now_unix_s`). nullopt when absent or unreadable; at most one hour.
std::optional<std::chrono::milliseconds> ParseRetryAfter(const std::string& value, int64_t now_unix_s);

enum class Verdict { kDelivered, kRetry, kFailed };
struct DeliveryOutcome {
  Verdict verdict = Verdict::kFailed;
  std::string reason;                 // for the record: "HTTP 429 (Retry-After 30 s)", "slack: channel_not_found"
  std::chrono::milliseconds retry_in{0};  // kRetry only
  std::string reference;              // Slack Web API: the message ts; PagerDuty: the dedup_key
};
// One HTTP answer of `channel`: network errors, timeouts, 5xx and 429 are retried (429 and 503
// after Retry-After when given, never sooner than the backoff); any other 4xx is failed with the
// receiver's reason; 2xx is delivered, except a Slack Web API answer {"ok": false} (`slack_api`),
// retried for ratelimited / internal_error / fatal_error / service_unavailable / request_timeout
// and failed for the rest (invalid_auth, channel_not_found, ...).
DeliveryOutcome Classify(Channel channel, bool slack_api, const llm::HttpResult& answer, int attempt, double jitter01,
                         const BackoffPolicy& p, int64_t now_unix_s);

// At most `per_second` sends per second (0: no limit): Next(now) is when the next send may
// start, and reserves that slot. Not thread-safe (one per channel worker).
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimiter(double per_second) : per_second_(per_second) {}
  Clock::time_point Next(Clock::time_point now);

 private:
  double per_second_;
  std::optional<Clock::time_point> last_;
};

// The stage as the chat, paging and webhook channels show it, from the email's view (what the
// templates render). `team`, `owner`: the service's, from services.json; `status`: the incident's
// lifecycle status now.
Notice NoticeFromEmail(const Email& email, int64_t ts, const std::string& team, const std::string& owner,
                       const std::string& status);
Json NoticeToJson(const Notice& n);
Expected<Notice> NoticeFromJson(const Json& j);

}  // namespace sre::communication
