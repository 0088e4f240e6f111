#include "agents/investigation/resolution.h"

#include <algorithm>
#include <cmath>

namespace sre::investigation {

RecoveryBaselines ParseBaselines(const IncidentBaselines& stored) {
  RecoveryBaselines out;
  for (const auto& [trigger, entry] : stored.triggers) {
    if (const auto* a = entry.alert()) {
      out.alerts[trigger] = AlertTrigger{a->resolved_at};
    } else if (const auto* p = entry.pattern()) {
      out.patterns.push_back(p->pattern);
    } else if (const auto* m = entry.metric()) {
      // A zero spread (a flat series) would divide by zero in Recovered.
      out.series[trigger] = SeriesBaseline{m->mean, std::max(m->std, 1e-9), m->threshold, m->direction};
    }
  }
  return out;
}

Expected<RecoveryBaselines> ParseBaselines(const Json& baselines) {
  auto stored = FromJson<IncidentBaselines>(baselines);
  if (!stored.ok()) return stored.status();
  return ParseBaselines(*stored);
}

bool Recovered(const SeriesBaseline& b, double value) {
  double band = std::min(kRecoverySigma, b.threshold);
  double z = (value - b.mean) / b.std;
  if (b.direction == "up") return z <= band;
  if (b.direction == "down") return z >= -band;
  return std::fabs(z) <= band;
}

ResolutionDecision Decide(const ResolutionInput& in) {
  ResolutionDecision d;
  if (in.baselines.series.empty() && in.baselines.patterns.empty() && in.baselines.alerts.empty()) {
    d.reason = "no breached series recorded";
    return d;
  }
  int64_t resolved_at = in.detection_time;
  for (const auto& [trigger, alert] : in.baselines.alerts) {
    if (!alert.resolved_at) {
      d.reason = trigger + " still firing";
      return d;
    }
    resolved_at = std::max(resolved_at, *alert.resolved_at);
  }
  int64_t latest_sample = in.detection_time;
  for (const auto& [metric, baseline] : in.baselines.series) {
    auto it = in.samples.find(metric);
    if (it == in.samples.end() || it->second.size() < static_cast<size_t>(kRecoverySamples)) {
      d.reason = metric + ": not enough samples since detection";
      return d;
    }
    const auto& s = it->second;
    for (size_t i = s.size() - kRecoverySamples; i < s.size(); ++i) {
      if (!Recovered(baseline, s[i].second)) {
        d.reason = metric + " still outside its baseline";
        return d;
      }
    }
    // The recovered run started at the earliest sample of the trailing in-band streak.
    size_t start = s.size() - kRecoverySamples;
    while (start > 0 && Recovered(baseline, s[start - 1].second)) --start;
    resolved_at = std::max(resolved_at, s[start].first);
    latest_sample = std::max(latest_sample, s.back().first);
  }
  if (!in.baselines.patterns.empty()) {
    if (in.baselines.series.empty()) {
      // A log-only incident: the samples of any series tell how far event time has advanced.
      for (const auto& [metric, s] : in.samples)
        if (!s.empty()) latest_sample = std::max(latest_sample, s.back().first);
    }
    int64_t last_error = in.last_pattern_error_ts.value_or(in.detection_time);
    if (latest_sample - last_error < kLogQuietMs) {
      d.reason = "matching error lines logged in the last 30 s";
      return d;
    }
    resolved_at = std::max(resolved_at, last_error);
  }
  d.resolved = true;
  d.resolution_time = resolved_at;
  if (in.baselines.series.empty() && in.baselines.patterns.empty()) {
    d.method = kAlertsResolved;
    d.reason = "every alert of the incident resolved at its source";
    return d;
  }
  d.method = kMetricsRecovered;
  d.reason = "every breached series back within its pre-incident baseline for " + std::to_string(kRecoverySamples) +
             " samples" + (in.baselines.alerts.empty() ? "" : ", and every alert resolved");
  return d;
}

int64_t NewestEvidence(const ResolutionInput& in) {
  int64_t newest = in.detection_time;
  for (const auto& [metric, s] : in.samples)
    if (!s.empty()) newest = std::max(newest, s.back().first);
  if (in.last_pattern_error_ts) newest = std::max(newest, *in.last_pattern_error_ts);
  return newest;
}

SignalWatch Observe(SignalWatch prev, int64_t newest_event_ms, int64_t now_wall_ms) {
  if (prev.newest_event_ms < 0 || newest_event_ms > prev.newest_event_ms) return {newest_event_ms, now_wall_ms};
  return prev;
}

ResolutionDecision DecideSignalLost(const ResolutionInput& in, const SignalWatch& watch, int64_t now_wall_ms,
                                    std::optional<int64_t> pipeline_clock_ms, int64_t timeout_ms) {
  ResolutionDecision d;
  for (const auto& [trigger, alert] : in.baselines.alerts) {
    if (!alert.resolved_at) {
      d.reason = trigger + " still firing at its source";
      return d;
    }
  }
  const int64_t silent_ms = now_wall_ms - watch.changed_at_wall_ms;
  if (watch.newest_event_ms < 0 || silent_ms < timeout_ms) {
    d.reason = "evidence still arriving";
    return d;
  }
  const int64_t newest = std::max(in.detection_time, watch.newest_event_ms);
  if (!pipeline_clock_ms || *pipeline_clock_ms - newest < timeout_ms) {
    d.reason = "no new evidence, but the pipeline's clock has not moved on (detection behind or no telemetry)";
    return d;
  }
  std::string series;
  for (const auto& [metric, b] : in.baselines.series) series += (series.empty() ? "" : ", ") + metric;
  for (const auto& p : in.baselines.patterns) series += (series.empty() ? "log:" : ", log:") + p;
  for (const auto& [trigger, alert] : in.baselines.alerts) series += (series.empty() ? "" : ", ") + trigger;
  d.resolved = true;
  d.method = kSignalLost;
  d.resolution_time = newest;
  d.reason = "signal lost: no new evidence (" + (series.empty() ? std::string("no breached series") : series) +
             ") for " + std::to_string(silent_ms / 1000) + " s while the pipeline's clock moved " +
             std::to_string((*pipeline_clock_ms - newest) / 1000) + " s on; recovery not observed, verify the service";
  return d;
}

std::map<std::string, std::string> LocksToRestore(const std::vector<std::pair<std::string, std::string>>& open,
                                                  const std::set<std::string>& locked) {
  std::map<std::string, std::string> out;
  for (const auto& [service, id] : open)
    if (!locked.count(service)) out[service] = id;  // later (newer) incidents overwrite earlier ones
  return out;
}

LockSweep SweepLocks(const std::map<std::string, std::string>& lock_incident,
                     const std::map<std::string, std::string>& status,
                     const std::map<std::string, int64_t>& missing_since, int64_t now_wall_ms, int64_t grace_ms) {
  LockSweep out;
  for (const auto& [service, id] : lock_incident) {
    if (!IsUuid(id)) {
      out.release.push_back(service);
      continue;
    }
    auto it = status.find(id);
    if (it == status.end()) {
      auto seen = missing_since.find(id);
      int64_t since = seen == missing_since.end() ? now_wall_ms : seen->second;
      if (now_wall_ms - since >= grace_ms) out.release.push_back(service);
      else out.missing_since[id] = since;
    } else if (it->second == "RESOLVED" || it->second == "CLOSED") {
      out.release.push_back(service);
    }
  }
  return out;
}

}  // namespace sre::investigation
