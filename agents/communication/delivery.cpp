#include "agents/communication/delivery.h"

#include <algorithm>
#include <cmath>
#include <ctime>

#include "shared/ids.h"
#include "shared/text.h"

namespace sre::communication {
namespace {

std::string Str(const Json& view, const char* key) {
  auto it = view.find(key);
  return it != view.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void Add(Notice& n, const std::string& label, const std::string& value) {
  if (!value.empty()) n.facts.emplace_back(label, value);
}

// The receiver's reason, short enough for a row and a log line.
std::string Excerpt(const std::string& body) { return SanitizeUtf8(TruncateUtf8(body, 300)); }

}  // namespace

std::chrono::milliseconds BackoffDelay(int attempt, double jitter01, const BackoffPolicy& p) {
  const double exp = std::pow(2.0, std::clamp(attempt - 1, 0, 30));
  const double base = std::min(static_cast<double>(p.cap.count()), static_cast<double>(p.initial.count()) * exp);
  return std::chrono::milliseconds(std::llround(base * (0.5 + 0.5 * std::clamp(jitter01, 0.0, 1.0))));
}

std::optional<std::chrono::milliseconds> ParseRetryAfter(const std::string& value, int64_t now_unix_s) {
  constexpr int64_t kMaxS = 3600;
  size_t b = value.find_first_not_of(" \t"), e = value.find_last_not_of(" \t");
  if (b == std::string::npos) return std::nullopt;
  const std::string v = value.substr(b, e - b + 1);
  if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (v.size() > 9) return std::chrono::milliseconds(kMaxS * 1000);
    return std::chrono::milliseconds(std::min<int64_t>(std::stoll(v), kMaxS) * 1000);
  }
  std::tm tm{};
  const char* end = strptime(v.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  const int64_t at = timegm(&tm);
  return std::chrono::milliseconds(std::clamp<int64_t>(at - now_unix_s, 0, kMaxS) * 1000);
}

DeliveryOutcome Classify(Channel channel, bool slack_api, const llm::HttpResult& r, int attempt, double jitter01,
                         const BackoffPolicy& p, int64_t now_unix_s) {
  DeliveryOutcome o;
  auto retry = [&](std::string reason, std::optional<std::chrono::milliseconds> after = std::nullopt) {
    o.verdict = Verdict::kRetry;
    o.retry_in = std::max(BackoffDelay(attempt, jitter01, p), after.value_or(std::chrono::milliseconds(0)));
    o.reason = std::move(reason);
    if (after) o.reason += " (Retry-After " + std::to_string(after->count() / 1000) + " s)";
    return o;
  };
  if (r.error != llm::HttpResult::Error::kNone)
    return retry(std::string(r.error == llm::HttpResult::Error::kTimeout   ? "timeout"
                             : r.error == llm::HttpResult::Error::kConnect ? "connection failed"
                                                                           : "network error") +
                 (r.error_text.empty() ? "" : ": " + r.error_text));
  const std::string status = "HTTP " + std::to_string(r.status);
  if (r.status == 429 || r.status == 503) {
    auto after = ParseRetryAfter(r.retry_after, now_unix_s);
    return retry(status + (r.body.empty() ? "" : ": " + Excerpt(r.body)), after);
  }
  if (r.status >= 500) return retry(status + (r.body.empty() ? "" : ": " + Excerpt(r.body)));
  if (r.status < 200 || r.status >= 300) {
    o.verdict = Verdict::kFailed;
    o.reason = status + (r.body.empty() ? "" : ": " + Excerpt(r.body));
    return o;
  }
  if (channel == Channel::kSlack && slack_api) {
    // The Web API answers 200 with {"ok": false, "error": ...} for its own errors.
    Json j = Json::parse(r.body, nullptr, false);
    if (!j.is_object()) {
      o.verdict = Verdict::kFailed;
      o.reason = "slack: the answer is not JSON: " + Excerpt(r.body);
      return o;
    }
    if (!j.value("ok", false)) {
      const std::string error = j.value("error", std::string("unknown_error"));
      static const char* kTransient[] = {"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                                         "request_timeout"};
      if (std::find(std::begin(kTransient), std::end(kTransient), error) != std::end(kTransient))
        return retry("slack: " + error, ParseRetryAfter(r.retry_after, now_unix_s));
      o.verdict = Verdict::kFailed;
      o.reason = "slack: " + error;
      return o;
    }
    o.reference = j.value("ts", std::string());
  }
  if (channel == Channel::kPagerDuty) {
    Json j = Json::parse(r.body, nullptr, false);
    if (j.is_object()) o.reference = j.value("dedup_key", std::string());
  }
  o.verdict = Verdict::kDelivered;
  o.reason = status;
  return o;
}

RateLimiter::Clock::time_point RateLimiter::Next(Clock::time_point now) {
  if (per_second_ <= 0) return now;
  const auto gap = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / per_second_));
  Clock::time_point at = last_ ? std::max(now, *last_ + gap) : now;
  last_ = at;
  return at;
}

Notice NoticeFromEmail(const Email& email, int64_t ts, const std::string& team, const std::string& owner,
                       const std::string& status) {
  const Json& v = email.view;
  Notice n;
  n.stage = email.type;
  n.incident_id = email.incident_id;
  n.incident_number = IncidentNumber(email.incident_id);
  n.service = Str(v, "service");
  n.team = team;
  n.owner = owner;
  n.severity = email.severity;
  n.anomaly_type = Str(v, "anomaly_type");
  n.title = email.subject;
  n.link = Str(v, "dashboard_url");
  n.ts = ts;
  n.status = status;
  switch (email.type) {
    case NotificationType::INCIDENT_ALERT:
      n.summary = Str(v, "description");
      if (v.value("is_log_pattern", false)) {
        Add(n, "Log pattern", Str(v, "log_pattern"));
        Add(n, "Matching lines", Str(v, "matched_lines"));
      } else {
        Add(n, "Trigger metric", Str(v, "trigger_metric"));
        Add(n, "Observed", Str(v, "observed_value"));
        Add(n, "Baseline", Str(v, "baseline_mean") + " ± " + Str(v, "baseline_std"));
        Add(n, "Deviation", Str(v, "deviation_sigma") + "σ");
      }
      if (v.value("has_time_to_failure", false)) Add(n, "Time to failure", Str(v, "time_to_failure"));
      Add(n, "Detected", Str(v, "detection_time"));
      break;
    case NotificationType::RCA_COMPLETE:
      n.summary = Str(v, "top_root_cause");
      Add(n, "Root cause service", Str(v, "root_cause_service"));
      Add(n, "Category", Str(v, "root_cause_category"));
      Add(n, "Confidence", Str(v, "confidence_pct") + "%");
      Add(n, "Method", Str(v, "method"));
      break;
    case NotificationType::REMEDIATION_PLAN: {
      n.summary = Str(v, "root_cause");
      for (const auto& g : v.value("groups", Json::array()))
        for (const auto& s : g.value("steps", Json::array()))
          Add(n, "Step " + s.value("step_id", std::string()) + " (" + g.value("label", std::string()) + ", " +
                     s.value("risk_level", std::string()) + " risk)",
              s.value("action", std::string()));
      for (const auto& a : v.value("actions", Json::array()))
        Add(n, "Action: " + a.value("action", std::string()), a.value("status_text", std::string()));
      Add(n, "Estimated resolution", Str(v, "estimated_resolution_time"));
      break;
    }
    case NotificationType::INCIDENT_RESOLVED:
      n.summary = "Resolved after " + Str(v, "mttr") + " (" + Str(v, "resolution_method") + ").";
      Add(n, "MTTR", Str(v, "mttr"));
      Add(n, "Root cause", Str(v, "root_cause"));
      Add(n, "Detected", Str(v, "detection_time"));
      Add(n, "Resolved", Str(v, "resolution_time"));
      Add(n, "Automated actions", Str(v, "actions_summary"));
      break;
    case NotificationType::POSTMORTEM:
      n.summary = "The blameless postmortem is written (" + Str(v, "method") + ").";
      Add(n, "MTTR", Str(v, "mttr"));
      for (const auto& i : v.value("action_items", Json::array()))
        Add(n, "Action item (" + i.value("priority", std::string()) + ")", i.value("action", std::string()));
      break;
  }
  return n;
}

Json NoticeToJson(const Notice& n) {
  Json facts = Json::array();
  for (const auto& [label, value] : n.facts) facts.push_back({{"label", label}, {"value", value}});
  return Json{{"stage", ToString(n.stage)},   {"incident_id", n.incident_id}, {"incident_number", n.incident_number},
              {"service", n.service},         {"team", n.team},               {"owner", n.owner},
              {"severity", ToString(n.severity)}, {"anomaly_type", n.anomaly_type}, {"title", n.title},
              {"summary", n.summary},         {"facts", facts},               {"link", n.link},
              {"ts", n.ts},                   {"status", n.status}};
}

Expected<Notice> NoticeFromJson(const Json& j) {
  if (!j.is_object()) return Status::Invalid("notice: expected an object");
  Notice n;
  auto stage = ParseEnum<NotificationType>(j.value("stage", std::string()));
  auto severity = ParseEnum<Severity>(j.value("severity", std::string()));
  if (!stage || !severity) return Status::Invalid("notice: unknown stage or severity");
  n.stage = *stage;
  n.severity = *severity;
  for (auto [field, key] : {std::pair{&n.incident_id, "incident_id"}, {&n.incident_number, "incident_number"},
                            {&n.service, "service"}, {&n.team, "team"}, {&n.owner, "owner"},
                            {&n.anomaly_type, "anomaly_type"}, {&n.title, "title"}, {&n.summary, "summary"},
                            {&n.link, "link"}, {&n.status, "status"}})
    *field = j.value(key, std::string());
  n.ts = j.value("ts", int64_t{0});
  for (const auto& f : j.value("facts", Json::array()))
    n.facts.emplace_back(f.value("label", std::string()), f.value("value", std::string()));
  return n;
}

}  // namespace sre::communication
