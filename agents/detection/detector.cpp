#include "agents/detection/detector.h"

#include <algorithm>
#include <cmath>
#include <bit>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>

#include "shared/text.h"
#include "shared/time_format.h"
#include "shared/redis_keys.h"
#include "shared/units.h"

namespace sre::detection {
namespace {

constexpr std::string_view kKindNames[] = {"warmup", "normal", "breach", "raise", "level_shift"};

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

namespace {

constexpr int64_t kDayMs = 86400000;
constexpr int64_t kBinMs = kDayMs / kSeasonBins;
constexpr double kTailStep = 0.2;  // z units per sample of the stochastic quantile
// E[min(|r|, 2σ)] = 0.7809σ for normal noise: the clipped mean absolute residual × 1.2806 is σ.
constexpr double kSpreadFactor = 1.2806;
constexpr double kShiftWeight = 0.2;       // the episode's level: an average of its last ~5 samples
constexpr double kOffsetClipSpreads = 20;  // one sample moves a bin's mean by at most this

int64_t DayOf(int64_t ts) { return ts >= 0 ? ts / kDayMs : -((-ts + kDayMs - 1) / kDayMs); }

std::array<float, kSeasonBins> EmptyDay() {
  std::array<float, kSeasonBins> d;
  d.fill(std::numeric_limits<float>::quiet_NaN());
  return d;
}

// Today's bin being averaged goes into today's day (the season blob changes only then).
void FlushBin(SeriesState& s) {
  if (s.bin >= 0 && s.bin < kSeasonBins && s.bin_count > 0 && !s.days.empty()) {
    s.days[0][static_cast<size_t>(s.bin)] = static_cast<float>(s.bin_mean);
    s.season_dirty = true;
  }
  s.bin = -1;
  s.bin_count = 0;
  s.bin_mean = 0;
}

// Today becomes `day`: the days before move one slot back per day elapsed.
void RollDays(SeriesState& s, int64_t day) {
  FlushBin(s);
  s.season_dirty = true;
  if (s.season_day < 0 || s.days.empty()) {
    s.days.assign(1, EmptyDay());
  } else {
    int64_t gap = std::min<int64_t>(day - static_cast<int64_t>(s.season_day), kSeasonDays);
    for (int64_t i = 0; i < gap; ++i) s.days.insert(s.days.begin(), EmptyDay());
    if (s.days.size() > static_cast<size_t>(kSeasonDays)) s.days.resize(kSeasonDays);
  }
  s.season_day = static_cast<double>(day);
}

// The seasonal term at `ts` from the days before ts's day (`back` = how many days ts lies
// before today): per bin, the offset the earlier days agree on (two days: the smaller, three:
// the median); of the sample's bin and its two neighbours, the one closest to the sample's own
// offset `observed`, so a recurring job that starts a few minutes earlier or later than its bin
// boundary is still expected. nullopt until two earlier days have the sample's own bin.
struct Season {
  double own = 0;      // the sample's own bin: what the level and spread learn against
  double closest = 0;  // of the bin and its neighbours, the closest to the sample: what it is scored against
};
std::optional<Season> SeasonTerm(const SeriesState& s, int64_t ts, size_t back, double observed) {
  const int bin = static_cast<int>((ts - DayOf(ts) * kDayMs) / kBinMs);
  auto agreed = [&](int b) -> std::optional<double> {
    size_t at = static_cast<size_t>((b + kSeasonBins) % kSeasonBins);
    double found[3];
    int n = 0;
    for (size_t d = back + 1; d < s.days.size() && n < 3; ++d)
      if (!std::isnan(s.days[d][at])) found[n++] = s.days[d][at];
    if (n < 2) return std::nullopt;
    if (n == 2) return std::fabs(found[0]) <= std::fabs(found[1]) ? found[0] : found[1];
    std::sort(found, found + 3);
    return found[1];
  };
  std::optional<double> own = agreed(bin);
  if (!own) return std::nullopt;
  double best = *own;
  for (int b : {bin - 1, bin + 1})
    if (auto o = agreed(b); o && std::fabs(observed - *o) < std::fabs(observed - best)) best = *o;
  return Season{*own, best};
}

double Directional(double z, Direction d) {
  return d == Direction::kUp ? z : d == Direction::kDown ? -z : std::fabs(z);
}

}  // namespace

Verdict Observe(SeriesState& s, int64_t ts, double value, const MetricSettings& m) {
  Verdict v;
  double x = FiniteScore(value, kMaxBaselineValue);
  int64_t day = DayOf(ts);
  if (s.season_day < 0 || day > static_cast<int64_t>(s.season_day)) RollDays(s, day);
  size_t back = static_cast<size_t>(static_cast<int64_t>(s.season_day) - day);  // > 0: a late sample
  std::optional<Season> season = m.seasonal ? SeasonTerm(s, ts, back, x - s.level) : std::nullopt;
  double expectation = s.level + (season ? season->closest : 0);
  // The level and spread learn against the sample's own bin: the choice of the closest bin would
  // otherwise shrink the residuals they see.
  const double learn_expectation = s.level + (season ? season->own : 0);
  double spread = std::max({s.spread, m.std_floor_abs, m.std_floor_rel * std::fabs(expectation)});
  if (!(spread > 0)) spread = 1e-9;
  v.mean = expectation;
  v.std = spread;
  v.seasonal = season.has_value();
  v.baseline_size = static_cast<int>(s.accepted);
  s.version += 1;
  if (s.accepted == 0) s.first_ts = static_cast<double>(ts);
  s.last_ts = std::max(s.last_ts, static_cast<double>(ts));

  // Today's bin: the mean offset of its samples from the level (all samples, episodes included:
  // the median across days keeps one day's failure out).
  const double level_before = s.level;
  auto record_offset = [&] {
    if (back != 0 || s.accepted == 0) return;
    double b = static_cast<double>((ts - day * kDayMs) / kBinMs);
    if (b != s.bin) {
      FlushBin(s);
      s.bin = b;
    }
    double offset = std::clamp(x - level_before, -kOffsetClipSpreads * spread, kOffsetClipSpreads * spread);
    s.bin_mean = (s.bin_mean * s.bin_count + offset) / (s.bin_count + 1);
    s.bin_count += 1;
  };

  if (s.accepted < m.warmup_samples) {
    // A plain running mean and mean absolute deviation until the series has warmed up.
    double n = s.accepted + 1;
    double r = x - s.level;
    s.level = s.accepted == 0 ? x : s.level + r / n;
    s.spread = s.accepted == 0 ? 0 : s.spread + (std::fabs(r) * kSpreadFactor - s.spread) / s.accepted;
    record_offset();
    s.accepted = n;
    s.run = s.episode = s.calm = s.elevated = 0;
    v.kind = VerdictKind::kWarmup;
    return v;
  }

  v.z = FiniteScore((x - expectation) / spread, kMaxSigma);
  const double gaussian_tail = kGaussianTail;
  if (s.tail == 0) s.tail = gaussian_tail;
  double tail_scale = m.adaptive ? std::max(1.0, s.tail / gaussian_tail) : 1.0;
  v.threshold = m.threshold_sigma * tail_scale;
  double u = Directional(v.z, m.direction) / v.threshold;
  std::copy_backward(s.evidence.begin(), s.evidence.end() - 1, s.evidence.end());
  s.evidence[0] = static_cast<float>(std::clamp(u, -1e6, 1e6));
  // The evidence: of the last min_consecutive + 1 samples, the min_consecutive-th strongest. A
  // raise needs that many breaches among them (one noisy sample inside a failure does not reset
  // it; an isolated spike of one or two samples is not enough).
  const int k = m.min_consecutive, span = std::min(k + 1, kEvidenceRing);
  std::array<float, kEvidenceRing> last{};
  std::copy(s.evidence.begin(), s.evidence.begin() + span, last.begin());
  std::nth_element(last.begin(), last.begin() + (k - 1), last.begin() + span, std::greater<float>());
  v.score = AnomalyScore(last[static_cast<size_t>(k - 1)]);
  const int breaches = static_cast<int>(std::count_if(s.evidence.begin(), s.evidence.begin() + span,
                                                       [](float e) { return e > 1; }));
  const bool breach = u > 1;
  record_offset();

  if (s.episode == 0) {
    if (!breach) {
      s.run = 0;
      double c = kClip * spread;
      double r = x - learn_expectation;
      double n = s.accepted + 1;
      s.level += std::clamp(r, -c, c) * std::max(1.0 / n, 1.0 / m.window);
      s.spread += (std::min(std::fabs(r), c) * kSpreadFactor - s.spread) * std::max(1.0 / n, 1.0 / m.spread_window);
      if (m.adaptive) {
        // The tail learns from accepted samples only, so a failure cannot raise its own bar.
        double dz = std::fabs(v.z);
        s.tail += dz > s.tail ? kTailStep * kTailQuantile : -kTailStep * (1 - kTailQuantile);
        s.tail = std::clamp(s.tail, 1.0, 1e6);
      }
      s.accepted = n;
      v.kind = VerdictKind::kNormal;
      return v;
    }
    s.shift_level = s.run == 0 ? x : (1 - kShiftWeight) * s.shift_level + kShiftWeight * x;
    s.run += 1;
    v.consecutive = breaches;
    if (breaches < k) {
      v.kind = VerdictKind::kBreach;
      return v;
    }
    v.kind = VerdictKind::kRaise;
    s.episode = 1;
    s.elevated = s.run;
    s.calm = 0;
    s.run = 0;
    v.episode = true;
    return v;
  }

  // In an episode: no learning and no raise until the series is back to normal.
  v.episode = true;
  if (u > kExitFraction) {
    s.calm = 0;
    s.elevated += 1;
    s.shift_level = (1 - kShiftWeight) * s.shift_level + kShiftWeight * x;
    v.consecutive = static_cast<int>(s.elevated);
    v.kind = breach ? VerdictKind::kBreach : VerdictKind::kNormal;
    if (s.elevated >= m.level_shift_samples) {
      s.level = s.shift_level - (season ? season->own : 0);
      s.episode = s.elevated = 0;
      s.evidence.fill(0);
      v.kind = VerdictKind::kLevelShift;
      v.episode = false;
    }
    return v;
  }
  s.elevated = 0;
  s.calm += 1;
  v.kind = VerdictKind::kNormal;
  if (s.calm >= m.rearm_samples) {
    s.episode = s.calm = 0;
    v.episode = false;
  }
  return v;
}

double FiniteScore(double v, double bound) {
  if (std::isnan(v)) return 0;
  return std::clamp(v, -bound, bound);
}

double AnomalyScore(double u) {
  if (!(u > 0)) return 0;
  u = std::min(u, 1e6);
  return 1.0 - std::exp2(-u * u);
}

namespace {
constexpr size_t kScalars = 17;
}  // namespace

static_assert(std::endian::native == std::endian::little, "the packed state is little-endian");

std::string PackState(const SeriesState& s) {
  std::string out;
  out.reserve(kScalars * 8 + sizeof(s.evidence));
  for (double d : {s.version, s.last_ts, s.first_ts, s.level, s.spread, s.tail, s.accepted, s.run, s.episode, s.calm,
                   s.elevated, s.shift_level, s.season_day, s.bin, s.bin_count, s.bin_mean,
                   static_cast<double>(s.days.size())})
    keys::AppendPackedDouble(out, d);
  // Floats are stored as the host's (little-endian, asserted above) IEEE bytes.
  out.append(reinterpret_cast<const char*>(s.evidence.data()), sizeof(s.evidence));
  return out;
}

std::string PackSeason(const SeriesState& s) {
  std::string out;
  out.reserve(s.days.size() * sizeof(std::array<float, kSeasonBins>));
  for (const auto& day : s.days) out.append(reinterpret_cast<const char*>(day.data()), sizeof(day));
  return out;
}

std::optional<SeriesState> UnpackState(std::string_view blob, std::string_view season) {
  if (blob.size() != kScalars * 8 + kEvidenceRing * sizeof(float)) return std::nullopt;
  double d[kScalars];
  for (size_t i = 0; i < kScalars; ++i) d[i] = keys::PackedDouble(blob, i);
  for (double x : d)
    if (!std::isfinite(x)) return std::nullopt;
  SeriesState s;
  s.version = d[0], s.last_ts = d[1], s.first_ts = d[2], s.level = d[3], s.spread = d[4], s.tail = d[5];
  s.accepted = d[6], s.run = d[7], s.episode = d[8], s.calm = d[9], s.elevated = d[10], s.shift_level = d[11];
  s.season_day = d[12], s.bin = d[13], s.bin_count = d[14], s.bin_mean = d[15];
  if (s.bin >= kSeasonBins || s.bin < -1) return std::nullopt;
  std::memcpy(s.evidence.data(), blob.data() + kScalars * 8, sizeof(s.evidence));
  double days = d[16];
  constexpr size_t kDayBytes = sizeof(std::array<float, kSeasonBins>);
  if (days >= 1 && days <= kSeasonDays && season.size() == static_cast<size_t>(days) * kDayBytes) {
    s.days.resize(static_cast<size_t>(days));
    for (size_t i = 0; i < s.days.size(); ++i) std::memcpy(s.days[i].data(), season.data() + i * kDayBytes, kDayBytes);
  } else {
    // No seasonal history (or it expired apart from the state): it starts over.
    s.days.clear();
    s.season_day = -1;
    s.bin = -1;
    s.bin_count = s.bin_mean = 0;
  }
  return s;
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
    r.verdict = Observe(state, ts, value, m);
    r.anomaly = r.verdict.kind == VerdictKind::kRaise;
    rows.push_back(r);
  }
  return rows;
}

}  // namespace sre::detection
