#include "agents/detection/detector.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "shared/text.h"
#include "shared/time_format.h"
#include "shared/units.h"

namespace sre::detection {
namespace {

constexpr std::string_view kKindNames[] = {"warmup", "normal", "breach", "raise", "level_shift"};

void Accept(SeriesState& s, double value, int window) {
  s.baseline.push_back(std::clamp(value, -kMaxBaselineValue, kMaxBaselineValue));
  while (static_cast<int>(s.baseline.size()) > window) s.baseline.pop_front();
}

std::string Fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g", v);
  return buf;
}

}  // namespace

std::string_view ToString(VerdictKind k) { return kKindNames[static_cast<int>(k)]; }

std::optional<VerdictKind> ParseVerdictKind(std::string_view s) {
  for (size_t i = 0; i < std::size(kKindNames); ++i)
    if (kKindNames[i] == s) return static_cast<VerdictKind>(i);
  return std::nullopt;
}

Verdict Observe(SeriesState& state, double value, const MetricSettings& m) {
  Verdict v;
  const int n = static_cast<int>(state.baseline.size());
  v.baseline_size = n;
  // Same arithmetic, in the same order, as the Lua script.
  double sum = 0;
  for (double x : state.baseline) sum += x;
  double mean = n > 0 ? sum / n : 0;
  double sq = 0;
  for (double x : state.baseline) sq += (x - mean) * (x - mean);
  double stddev = n > 0 ? std::sqrt(sq / n) : 0;
  double eff = std::max({stddev, m.std_floor_abs, m.std_floor_rel * std::fabs(mean)});
  if (eff <= 0) eff = 1e-9;
  v.mean = mean;
  v.std = eff;
  if (n < m.warmup_samples) {
    state.consecutive = 0;
    state.shift.clear();
    Accept(state, value, m.window);
    v.kind = VerdictKind::kWarmup;
    return v;
  }
  v.z = FiniteScore((value - mean) / eff, kMaxSigma);
  bool breach = (m.direction == Direction::kUp && v.z > m.threshold_sigma) ||
                (m.direction == Direction::kDown && v.z < -m.threshold_sigma) ||
                (m.direction == Direction::kBoth && std::fabs(v.z) > m.threshold_sigma);
  if (!breach) {
    state.consecutive = 0;
    state.shift.clear();
    Accept(state, value, m.window);
    v.kind = VerdictKind::kNormal;
    return v;
  }
  ++state.consecutive;
  state.shift.push_back(value);
  v.consecutive = state.consecutive;
  if (state.consecutive >= m.level_shift_samples) {
    state.baseline.clear();
    for (double x : state.shift) Accept(state, x, m.window);
    state.consecutive = 0;
    state.shift.clear();
    v.kind = VerdictKind::kLevelShift;
  } else if (state.consecutive == m.min_consecutive) {
    v.kind = VerdictKind::kRaise;
  } else {
    v.kind = VerdictKind::kBreach;
  }
  return v;
}

double FiniteScore(double v, double bound) {
  if (std::isnan(v)) return 0;
  return std::clamp(v, -bound, bound);
}

double AnomalyScore(double z, double threshold_sigma) {
  double a = std::fabs(FiniteScore(z, kMaxSigma));
  if (threshold_sigma <= 0) threshold_sigma = 1;
  return 1.0 - std::exp2(-a / threshold_sigma);
}

std::optional<double> TimeToFailure(const std::vector<std::pair<int64_t, double>>& samples, double limit) {
  if (samples.size() < 3) return std::nullopt;
  double n = static_cast<double>(samples.size());
  double t0 = static_cast<double>(samples.front().first);
  double st = 0, sv = 0, stt = 0, stv = 0;
  for (const auto& [t, v] : samples) {
    double x = (static_cast<double>(t) - t0) / 1000.0;
    st += x;
    sv += v;
    stt += x * x;
    stv += x * v;
  }
  double denom = n * stt - st * st;
  if (denom <= 0) return std::nullopt;
  double slope = (n * stv - st * sv) / denom;  // units per second
  if (slope <= 1e-12) return std::nullopt;
  auto latest = std::max_element(samples.begin(), samples.end());
  double intercept = (sv - slope * st) / n;
  double x_latest = (static_cast<double>(latest->first) - t0) / 1000.0;
  double fitted_now = intercept + slope * x_latest;
  double remaining = (limit - fitted_now) / slope;
  if (!std::isfinite(remaining)) return std::nullopt;
  return std::max(0.0, remaining);
}

const LogPattern* MatchLogPattern(const std::vector<LogPattern>& patterns, LogLevel level, const std::string& message) {
  if (level != LogLevel::ERROR && level != LogLevel::FATAL) return nullptr;
  for (const auto& p : patterns)
    if (std::regex_search(message, p.regex)) return &p;
  return nullptr;
}

Classification ClassifyFallback(const AnomalyFacts& f) {
  Classification c;
  c.type = f.trigger_type;
  int rank = f.criticality == "P0" ? 0 : f.criticality == "P1" ? 1 : 2;
  // Base severity by criticality; a large deviation or a near failure raises it one step.
  int level = rank == 0 ? 1 : rank == 1 ? 2 : 3;  // index into CRITICAL, HIGH, MEDIUM, LOW
  bool severe = std::fabs(f.z) >= 6 || (f.time_to_failure_s && *f.time_to_failure_s < 900);
  if (f.trigger.rfind("log:", 0) == 0) severe = true;
  if (severe) level = std::max(0, level - 1);
  c.severity = static_cast<Severity>(level);
  if (f.is_log()) {
    c.description = f.service + " logged " + WithUnit(f.observed, "lines") + " matching the " + f.trigger.substr(4) +
                    " pattern (" + std::string(ToString(c.type)) + ")" +
                    (f.log_line.empty() ? "" : ": \"" + TruncateUtf8(f.log_line, 160) + "\"") + ".";
  } else {
    c.description = f.service + " " + f.trigger + " at " + WithUnit(f.observed, f.unit) + " against a baseline of " +
                    WithUnit(f.mean, f.unit) + " (" + Fmt(f.z) + " sigma)";
    if (f.time_to_failure_s) c.description += ", about " + Fmt(*f.time_to_failure_s / 60.0) + " min to saturation";
    c.description += ".";
  }
  return c;
}

std::vector<std::string> AnomalyEvidence(const AnomalyFacts& f) {
  std::vector<std::string> out;
  if (f.is_log()) {
    out.push_back(WithUnit(f.observed, "lines") + " (ERROR/FATAL) from " + f.service + " matched the " +
                  f.trigger.substr(4) + " pattern" + (f.pattern_regex.empty() ? "" : " /" + f.pattern_regex + "/"));
    if (!f.log_line.empty()) out.push_back(TruncateUtf8(f.log_line, 2000));
    for (const auto& l : f.more_lines) out.push_back(TruncateUtf8(l, 2000));
  } else {
    char z[32], threshold[32];
    std::snprintf(z, sizeof(z), "%.1f", f.z);
    std::snprintf(threshold, sizeof(threshold), "%.1f", f.threshold_sigma);
    out.push_back(f.trigger + " = " + WithUnit(f.observed, f.unit) + " at " + FormatTime(f.ts) + "; baseline " +
                  WithUnit(f.mean, f.unit) + " ± " + WithUnit(f.std, f.unit) + " (mean ± std), " + z + "σ" +
                  (f.threshold_sigma > 0 ? std::string(" against a threshold of ") + threshold + "σ" : ""));
    if (f.recent.size() >= 2) {
      size_t from = f.recent.size() > 6 ? f.recent.size() - 6 : 0;
      std::string values;
      for (size_t i = from; i < f.recent.size(); ++i) values += (values.empty() ? "" : ", ") + WithUnit(f.recent[i].second, "");
      std::string unit = NormalizeUnit(f.unit);
      out.push_back("last " + std::to_string(f.recent.size() - from) + " samples of " + f.trigger + ": " + values +
                    (unit.empty() ? "" : " (" + unit + ")"));
    }
  }
  if (!f.source_event_id.empty()) out.push_back("triggering event " + f.source_event_id);
  return out;
}

std::vector<BacktestRow> Backtest(const std::vector<std::pair<int64_t, double>>& samples, const MetricSettings& m) {
  SeriesState state;
  std::vector<BacktestRow> rows;
  rows.reserve(samples.size());
  for (const auto& [ts, value] : samples) {
    BacktestRow r;
    r.timestamp = ts;
    r.value = value;
    r.verdict = Observe(state, value, m);
    r.score = r.verdict.kind == VerdictKind::kWarmup ? 0 : AnomalyScore(r.verdict.z, m.threshold_sigma);
    r.anomaly = r.verdict.kind == VerdictKind::kRaise;
    rows.push_back(r);
  }
  return rows;
}

}  // namespace sre::detection
