#include "simulator/profile.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace sre::sim {
namespace {

using namespace realistic;

// a mod b in [0, b).
int64_t Mod(int64_t a, int64_t b) {
  int64_t r = a % b;
  return r < 0 ? r + b : r;
}

double Smoothstep(double x) {
  x = std::clamp(x, 0.0, 1.0);
  return x * x * (3 - 2 * x);
}

double Lerp(double a, double b, double t) { return a + (b - a) * t; }

}  // namespace

const char* ProfileName(Profile profile) {
  return profile == Profile::kClean ? "clean" : "realistic";
}

std::optional<Profile> ParseProfile(std::string_view name) {
  if (name == "clean") return Profile::kClean;
  if (name == "realistic") return Profile::kRealistic;
  return std::nullopt;
}

double DailyShape(double hour) {
  constexpr int kN = static_cast<int>(std::size(kDailyPoints));
  constexpr double kStep = 24.0 / kN;
  double h = std::fmod(hour, 24.0);
  if (h < 0) h += 24.0;
  int i = static_cast<int>(h / kStep);
  double f = h / kStep - i;
  auto p = [&](int k) { return kDailyPoints[((k % kN) + kN) % kN]; };
  double p0 = p(i - 1), p1 = p(i), p2 = p(i + 1), p3 = p(i + 2);
  double spline = 0.5 * (2 * p1 + (-p0 + p2) * f + (2 * p0 - 5 * p1 + 4 * p2 - p3) * f * f +
                         (-p0 + 3 * p1 - 3 * p2 + p3) * f * f * f);
  double d = (h - kLunchCentreHour) / kLunchWidthHours;
  return spline * (1 + kLunchBump * std::exp(-0.5 * d * d));
}

int DayOfWeek(int64_t t_ms) {
  // 1970-01-01 was a Thursday (4).
  int64_t day = (t_ms - Mod(t_ms, kDayMs)) / kDayMs;
  return static_cast<int>(Mod(day + 4, 7));
}

double WeekFactor(int64_t t_ms) {
  constexpr int64_t kWeek = 7 * kDayMs;
  // Time since the last Saturday 00:00 UTC (the epoch, a Thursday, is two days after one),
  // folded into [-3.5, 3.5) days.
  int64_t q = Mod(t_ms + 5 * kDayMs, kWeek);
  if (q >= kWeek / 2) q -= kWeek;
  const double half = static_cast<double>(kWeekendBlendMs) / 2;
  double up = Smoothstep((static_cast<double>(q) + half) / (2 * half));
  double down = 1 - Smoothstep((static_cast<double>(q - 2 * kDayMs) + half) / (2 * half));
  double weekend = std::clamp(std::min(up, down), 0.0, 1.0);
  return 1 - (1 - kWeekendFactor) * weekend;
}

double TrafficFactor(const ServiceTraits& traits, int64_t t_ms) {
  int64_t local = t_ms + traits.phase_ms;
  double hour = static_cast<double>(Mod(local, kDayMs)) / static_cast<double>(kHourMs);
  return WeekFactor(local) * (1 + traits.amplitude * (DailyShape(hour) - 1));
}

double BatchEnvelope(const ServiceTraits& traits, int64_t t_ms) {
  if (!traits.batch) return 0;
  int64_t x = Mod(t_ms - traits.batch_start_ms, kDayMs);
  const int64_t dur = traits.batch_duration_ms, ramp = std::max<int64_t>(1, traits.batch_ramp_ms);
  if (x >= dur) return 0;
  if (x < ramp) return Smoothstep(static_cast<double>(x) / static_cast<double>(ramp));
  if (x > dur - ramp) return Smoothstep(static_cast<double>(dur - x) / static_cast<double>(ramp));
  return 1;
}

double MemoryDrift(const ServiceTraits& traits, int64_t t_ms) {
  int64_t period = std::max<int64_t>(1, traits.saw_period_ms);
  double frac =
      static_cast<double>(Mod(t_ms - traits.saw_offset_ms, period)) / static_cast<double>(period);
  return traits.saw_points * (frac - 0.5);
}

int64_t SampleBinomial(int64_t n, double p, double u1, double u2) {
  if (n <= 0 || !(p > 0)) return 0;
  if (p >= 1) return n;
  const bool flip = p > 0.5;
  const double q = flip ? 1 - p : p;
  const double mean = static_cast<double>(n) * q;
  int64_t k = 0;
  if (mean <= kExactBinomialMean) {
    // Inversion: the smallest k with CDF(k) > u1. (1-q)^n >= e^-60 here, no underflow.
    double pmf = std::pow(1 - q, static_cast<double>(n));
    double cdf = pmf;
    const double odds = q / (1 - q);
    while (u1 >= cdf && k < n) {
      pmf *= static_cast<double>(n - k) / static_cast<double>(k + 1) * odds;
      ++k;
      cdf += pmf;
      if (pmf < 1e-300) break;
    }
  } else {
    double z = std::sqrt(-2.0 * std::log(1.0 - u1)) * std::cos(2.0 * std::numbers::pi * u2);
    k = std::clamp<int64_t>(std::llround(mean + z * std::sqrt(mean * (1 - q))), 0, n);
  }
  return flip ? n - k : k;
}

RealisticModel::RealisticModel(const std::vector<const ServiceInfo*>& services, std::mt19937_64 rng,
                               std::mt19937_64 benign_rng)
    : rng_(std::move(rng)), benign_rng_(std::move(benign_rng)) {
  for (const ServiceInfo* info : services) {
    State s;
    for (size_t m = 0; m < kMetricCount; ++m) {
      auto b = info->baseline.find(MetricName(m));
      auto n = info->noise.find(MetricName(m));
      s.base[m] = b == info->baseline.end() ? 0.0 : b->second;
      s.rel[m] = n == info->noise.end() ? 0.0 : n->second;
      s.normal[m] = s.base[m];
      s.sigma[m] = s.base[m] * s.rel[m];
      s.shift[m] = 1;
    }
    s.pool = static_cast<double>(info->db_pool_size);
    ServiceTraits& t = s.traits;
    t.phase_ms =
        UniformInt(rng_, -kMaxPhaseShiftMs / kMinuteMs, kMaxPhaseShiftMs / kMinuteMs) * kMinuteMs;
    t.amplitude = Uniform(rng_, kMinAmplitude, kMaxAmplitude);
    t.batch_start_ms = UniformInt(rng_, 0, 23) * kHourMs;
    t.batch_duration_ms = UniformInt(rng_, kBatchMinMs / 1000, kBatchMaxMs / 1000) * 1000;
    t.batch_ramp_ms = UniformInt(rng_, kBatchRampMinMs / 1000, kBatchRampMaxMs / 1000) * 1000;
    t.batch_cpu_points = Uniform(rng_, kBatchCpuMin, kBatchCpuMax);
    t.batch_db = Uniform(rng_, kBatchDbMin, kBatchDbMax);
    t.batch_latency = Uniform(rng_, kBatchLatencyMin, kBatchLatencyMax);
    t.saw_points = Uniform(rng_, kSawMinPoints, kSawMaxPoints);
    t.saw_period_ms =
        UniformInt(rng_, kSawMinPeriodMs / kMinuteMs, kSawMaxPeriodMs / kMinuteMs) * kMinuteMs;
    t.saw_offset_ms = UniformInt(rng_, 0, t.saw_period_ms - 1);
    t.scale_out_at = Uniform(rng_, kScaleOutMin, kScaleOutMax);
    t.scale_in_at = t.scale_out_at - Uniform(rng_, kHysteresisMin, kHysteresisMax);
    for (size_t m = 0; m < kMetricCount; ++m) {
      double days = Uniform(rng_, kSpikeMinIntervalDays, kSpikeMaxIntervalDays);
      t.spike_probability[m] =
          static_cast<double>(kSampleMs) / (days * static_cast<double>(kDayMs));
    }
    for (auto& noise : s.noise) noise.Reset(rng_);
    services_.push_back(std::move(s));
  }
  // The batch jobs: kBatchServices distinct services.
  std::vector<size_t> order(services_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (size_t i = 0; i + 1 < order.size(); ++i)
    std::swap(order[i],
              order[static_cast<size_t>(UniformInt(rng_, static_cast<int64_t>(i),
                                                   static_cast<int64_t>(order.size()) - 1))]);
  for (size_t i = 0; i < order.size() && i < static_cast<size_t>(kBatchServices); ++i)
    services_[order[i]].traits.batch = true;
}

double RealisticModel::Uniform01() { return Uniform(rng_, 0.0, 1.0); }

void RealisticModel::Advance(int64_t now_ms) {
  now_ms_ = now_ms;
  for (State& s : services_) {
    const ServiceTraits& t = s.traits;
    const double traffic = TrafficFactor(t, now_ms);
    // Autoscaling, with hysteresis; the state at the first tick follows from the traffic.
    if (!s.scale_known) {
      s.scaled_out = traffic >= (t.scale_out_at + t.scale_in_at) / 2;
      s.scale_known = true;
    } else if (!s.scaled_out && traffic >= t.scale_out_at) {
      s.scaled_out = true;
      s.scale_changed_ms = now_ms;
    } else if (s.scaled_out && traffic <= t.scale_in_at) {
      s.scaled_out = false;
      s.scale_changed_ms = now_ms;
    }
    double progress = std::clamp(
        static_cast<double>(now_ms - s.scale_changed_ms) / static_cast<double>(kScaleRampMs), 0.0,
        1.0);
    double scale = s.scaled_out ? Lerp(1.0, kScaleOutCpuFactor, progress)
                                : Lerp(kScaleOutCpuFactor, 1.0, progress);
    const double batch = BatchEnvelope(t, now_ms);
    double warm = 0;
    if (now_ms >= s.warm_ms)
      warm = s.warm_amplitude * std::exp(-static_cast<double>(now_ms - s.warm_ms) / s.warm_tau_ms);

    MetricValues& n = s.normal;
    n[kRequestRate] = s.base[kRequestRate] * traffic;
    n[kErrorRate] = s.base[kErrorRate];
    n[kLatencyP99] = s.base[kLatencyP99] * (kLatencyFixed + (1 - kLatencyFixed) * traffic) *
                     s.shift[kLatencyP99] * (1 + batch * t.batch_latency) * (1 + warm);
    n[kCpuPercent] = s.base[kCpuPercent] * (kCpuFixed + (1 - kCpuFixed) * traffic) *
                         s.shift[kCpuPercent] * scale +
                     batch * t.batch_cpu_points;
    n[kMemoryPercent] = s.base[kMemoryPercent] + MemoryDrift(t, now_ms);
    n[kDbConnections] =
        s.base[kDbConnections] * (kDbFixed + (1 - kDbFixed) * traffic) * (1 + batch * t.batch_db);
    n[kConsumerLag] = s.base[kConsumerLag] * traffic;
    for (size_t m = 0; m < kMetricCount; ++m) {
      n[m] = ClampMetric(m, n[m], s.pool);
      s.sigma[m] = s.rel[m] * n[m];
    }
    // The error rate's spread: its own noise plus the binomial sampling of k out of n requests.
    double requests = std::max(1.0, std::round(n[kRequestRate]));
    double p = n[kErrorRate] / 100.0;
    s.sigma[kErrorRate] =
        std::sqrt(s.sigma[kErrorRate] * s.sigma[kErrorRate] + 1e4 * p * (1 - p) / requests);
  }
}

void RealisticModel::OnBenignDeployment(size_t service, int64_t now_ms) {
  State& s = services_[service];
  // A fixed number of draws per deployment.
  double shift_draw = Uniform(benign_rng_, 0, 1);
  size_t metric = Uniform(benign_rng_, 0, 1) < 0.5 ? kLatencyP99 : kCpuPercent;
  double direction = Uniform(benign_rng_, 0, 1) < 0.5 ? -1.0 : 1.0;
  double size = Uniform(benign_rng_, kLevelShiftMin, kLevelShiftMax);
  double warm = Uniform(benign_rng_, kWarmupMin, kWarmupMax);
  double tau_s = Uniform(benign_rng_, kWarmupTauMinS, kWarmupTauMaxS);
  double reset_draw = Uniform(benign_rng_, 0, 1);

  s.warm_ms = now_ms;
  s.warm_amplitude = warm;
  s.warm_tau_ms = tau_s * 1000.0;
  if (shift_draw < kLevelShiftProbability) {
    double next = s.shift[metric] * (1 + direction * size);
    if (next < kLevelShiftFloor || next > kLevelShiftCeiling)
      next = s.shift[metric] * (1 - direction * size);
    s.shift[metric] = std::clamp(next, kLevelShiftFloor, kLevelShiftCeiling);
  }
  if (reset_draw < kDeployResetProbability) s.reset_pending = true;
}

std::array<RealisticModel::Sample, kMetricCount> RealisticModel::Samples(
    size_t service, const MetricValues& level) {
  State& s = services_[service];
  std::array<Sample, kMetricCount> out{};
  // Draws in a fixed order and number (spike starts aside, which depend on the stream only).
  std::array<double, kMetricCount> noise{};
  for (size_t m = 0; m < kMetricCount; ++m) noise[m] = s.noise[m].Next(rng_);
  for (size_t m = 0; m < kMetricCount; ++m) {
    if (s.spike_left[m] > 0) {
      --s.spike_left[m];
      if (s.spike_left[m] == 0) s.spike_sigmas[m] = 0;
    }
    if (Uniform01() < s.traits.spike_probability[m] && s.spike_left[m] == 0) {
      double size = Uniform(rng_, kSpikeMinSigma, kSpikeMaxSigma);
      // One sample when shape < .5, else two; request_rate goes down in [0, .25) and [.5, .75).
      double shape = Uniform01();
      s.spike_left[m] = shape < 0.5 ? 1 : 2;
      bool down = m == kRequestRate && std::fmod(shape * 4, 2.0) < 1.0;
      s.spike_sigmas[m] = down ? -size : size;
    }
  }
  for (size_t m = 0; m < kMetricCount; ++m) {
    double u = Uniform01();
    out[m].delivery = u < realistic::kMissingProbability ? Delivery::kMissing
                      : u < realistic::kMissingProbability + realistic::kLateProbability
                          ? Delivery::kLate
                          : Delivery::kOnTime;
  }
  bool reset = Uniform01() < realistic::kCounterResetsPerDay * static_cast<double>(kSampleMs) /
                                 static_cast<double>(kDayMs);
  double u1 = Uniform01(), u2 = Uniform01();

  for (size_t m = 0; m < kMetricCount; ++m) {
    if (m == kErrorRate) {
      int64_t requests = std::max<int64_t>(1, std::llround(level[kRequestRate]));
      double p = std::clamp(level[kErrorRate] * (1 + s.rel[m] * noise[m]) / 100.0, 0.0, 1.0);
      out[m].value = 100.0 * static_cast<double>(SampleBinomial(requests, p, u1, u2)) /
                     static_cast<double>(requests);
    } else {
      out[m].value = level[m] * (1 + s.rel[m] * noise[m]);
    }
    if (s.spike_left[m] > 0) out[m].value += s.spike_sigmas[m] * s.sigma[m];
  }
  if (reset || s.reset_pending) out[kRequestRate].value = 0;
  s.reset_pending = false;
  return out;
}

}  // namespace sre::sim
