#include "agents/detection/evaluation.h"

#include <algorithm>
#include <cstdio>

#include "shared/time_format.h"

namespace sre::detection {
namespace {

std::string Fixed(double v, int digits) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

std::optional<double> Median(std::vector<double> v) {
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

Expected<LabelledFailure> ParseLabelledFailure(const Json& j) {
  LabelledFailure f;
  try {
    f.scenario = j.at("scenario").get<std::string>();
    f.service = j.at("service").get<std::string>();
    f.custom = j.value("custom", false);
    f.affected_services = j.value("affected_services", std::vector<std::string>{f.service});
    f.trigger_metrics = j.value("trigger_metrics", std::vector<std::string>{});
    f.start_ms = j.at("start_ms").get<int64_t>();
    f.end_ms = j.at("end_ms").get<int64_t>();
    if (j.contains("crossed_3sigma_ms") && j["crossed_3sigma_ms"].is_object())
      for (auto it = j["crossed_3sigma_ms"].begin(); it != j["crossed_3sigma_ms"].end(); ++it)
        f.crossed_3sigma_ms[it.key()] =
            it.value().is_number() ? std::optional<int64_t>(it.value().get<int64_t>()) : std::nullopt;
  } catch (const std::exception& e) {
    return Status::Invalid(std::string("eval.episode: ") + e.what());
  }
  if (std::find(f.affected_services.begin(), f.affected_services.end(), f.service) == f.affected_services.end())
    f.affected_services.push_back(f.service);
  if (f.end_ms < f.start_ms) return Status::Invalid("eval.episode: end_ms before start_ms");
  return f;
}

Scorecard ScoreRaises(const std::vector<Raise>& raises, const std::vector<LabelledFailure>& failures, double days,
                      int series, int64_t sample_ms, int64_t grace_ms) {
  Scorecard s;
  s.days = days;
  s.series = series;
  s.raises = static_cast<int>(raises.size());
  for (const auto& f : failures) {
    FailureResult r;
    r.failure = f;
    for (const auto& [key, ts] : f.crossed_3sigma_ms)
      if (ts && key.rfind(f.service + "/", 0) == 0 && (!r.crossed_ms || *ts < *r.crossed_ms)) r.crossed_ms = ts;
    s.failures.push_back(std::move(r));
  }
  for (const auto& raise : raises) {
    bool explained = false;
    for (auto& r : s.failures) {
      const auto& f = r.failure;
      if (raise.ts < f.start_ms || raise.ts > f.end_ms + grace_ms) continue;
      if (std::find(f.affected_services.begin(), f.affected_services.end(), raise.service) == f.affected_services.end())
        continue;
      explained = true;
      if (!r.first_raise || raise.ts < r.first_raise->ts) r.first_raise = raise;
    }
    if (explained) {
      ++s.true_raises;
    } else {
      ++s.false_raises;
      s.false_alarms.push_back(raise);
    }
  }
  std::vector<double> delays;
  for (auto& r : s.failures) {
    if (!r.first_raise) continue;
    ++s.detected;
    if (r.crossed_ms) {
      r.delay_samples = static_cast<double>(r.first_raise->ts - *r.crossed_ms) / static_cast<double>(sample_ms);
      delays.push_back(*r.delay_samples);
    }
  }
  s.median_delay_samples = Median(delays);
  if (!delays.empty()) s.max_delay_samples = *std::max_element(delays.begin(), delays.end());
  return s;
}

std::string FormatScorecard(const Scorecard& s, const std::string& title) {
  std::string out = "## " + title + "\n\n";
  out += "| figure | value | target |\n|---|---|---|\n";
  out += "| simulated days × series | " + Fixed(s.days, 1) + " × " + std::to_string(s.series) + " | |\n";
  out += "| raises (true / false) | " + std::to_string(s.raises) + " (" + std::to_string(s.true_raises) + " / " +
         std::to_string(s.false_raises) + ") | |\n";
  out += "| false raises per day, all series | " + Fixed(s.false_per_day(), 2) + " | ≤ 1 |\n";
  out += "| precision | " + Fixed(s.precision(), 3) + " | |\n";
  out += "| failures raised (recall) | " + std::to_string(s.detected) + " / " + std::to_string(s.failures.size()) +
         " (" + Fixed(s.recall(), 3) + ") | all |\n";
  out += "| median delay after the 3σ crossing | " +
         (s.median_delay_samples ? Fixed(*s.median_delay_samples, 1) + " samples" : std::string("n/a")) +
         " | ≤ 3 samples |\n";
  out += "| worst delay | " + (s.max_delay_samples ? Fixed(*s.max_delay_samples, 1) + " samples" : std::string("n/a")) +
         " | |\n\n";
  out += "| failure | service | start (event time) | 3σ crossing | first raise | delay (samples) |\n|---|---|---|---|---|---|\n";
  for (const auto& r : s.failures) {
    out += "| " + r.failure.scenario + (r.failure.custom ? " (custom)" : "") + " | " + r.failure.service + " | " +
           FormatTime(r.failure.start_ms) + " | " + (r.crossed_ms ? FormatTime(*r.crossed_ms) : "never") + " | " +
           (r.first_raise ? r.first_raise->service + "/" + r.first_raise->metric + " " + FormatTime(r.first_raise->ts)
                          : "**not raised**") +
           " | " + (r.delay_samples ? Fixed(*r.delay_samples, 0) : "") + " |\n";
  }
  std::map<std::string, int> by_series;
  for (const auto& f : s.false_alarms) ++by_series[f.service + "/" + f.metric];
  if (!by_series.empty()) {
    out += "\nFalse raises by series:";
    for (const auto& [k, n] : by_series) out += " " + k + " " + std::to_string(n) + ";";
    out += "\n";
  }
  return out;
}

Json ScorecardJson(const Scorecard& s) {
  Json failures = Json::array();
  for (const auto& r : s.failures)
    failures.push_back({{"scenario", r.failure.scenario},
                        {"custom", r.failure.custom},
                        {"service", r.failure.service},
                        {"start_ms", r.failure.start_ms},
                        {"raised", r.first_raise.has_value()},
                        {"first_raise", r.first_raise ? Json{{"service", r.first_raise->service},
                                                             {"metric", r.first_raise->metric},
                                                             {"ts", r.first_raise->ts}}
                                                       : Json()},
                        {"delay_samples", r.delay_samples ? Json(*r.delay_samples) : Json()}});
  Json false_alarms = Json::array();
  for (const auto& f : s.false_alarms)
    false_alarms.push_back({{"service", f.service}, {"metric", f.metric}, {"ts", f.ts}, {"score", f.score}});
  return {{"days", s.days},
          {"series", s.series},
          {"raises", s.raises},
          {"true_raises", s.true_raises},
          {"false_raises", s.false_raises},
          {"false_raises_per_day", s.false_per_day()},
          {"precision", s.precision()},
          {"recall", s.recall()},
          {"detected", s.detected},
          {"median_delay_samples", s.median_delay_samples ? Json(*s.median_delay_samples) : Json()},
          {"max_delay_samples", s.max_delay_samples ? Json(*s.max_delay_samples) : Json()},
          {"failures", failures},
          {"false_alarms", false_alarms}};
}

}  // namespace sre::detection
