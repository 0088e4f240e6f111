#pragma once
// Telemetry profiles (issue 16). `clean` is the original model: every series sits around its
// catalogue baseline with light-tailed, bounded noise (noise.h). `realistic` adds what production
// telemetry looks like, all of it benign (never ground truth):
//   - daily and weekly seasonality of traffic, which request_rate, cpu, latency, db_connections
//     and consumer lag follow; noise proportional to the current level;
//   - heavy-tailed noise (Student-t, nu = 4, through the same AR(1));
//   - isolated 1–2 sample spikes of 4–10 sigma;
//   - a daily batch job on two services, a cache warm-up after each benign deployment;
//   - a memory sawtooth (slow creep, then a drop), benign level shifts after deployments and
//     autoscaling steps of cpu_percent;
//   - missing and late samples, counter resets of request_rate, and an error rate quantised by
//     the number of requests per second (k errors out of n requests).
// Every figure is a constant below (documented in docs/simulator.md, "Profiles"). Everything is a
// deterministic function of the seed, the start time and simulated (event) time: the model keeps
// no clock of its own. Not thread-safe.
#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <string_view>
#include <vector>

#include "shared/services.h"
#include "simulator/noise.h"

namespace sre::sim {

enum class Profile { kClean, kRealistic };

// "clean" or "realistic".
const char* ProfileName(Profile profile);
// Case-sensitive; nullopt for anything else.
std::optional<Profile> ParseProfile(std::string_view name);

namespace realistic {

inline constexpr int64_t kMinuteMs = 60 * 1000;
inline constexpr int64_t kHourMs = 60 * kMinuteMs;
inline constexpr int64_t kDayMs = 24 * kHourMs;
inline constexpr int64_t kSampleMs = 10000;  // one sample per series per tick (kTickMs)

// --- Traffic T(t), a factor of the catalogue baseline.
// The weekday shape in UTC: a periodic Catmull–Rom spline through these values at 00:00, 02:00,
// ..., 22:00 (trough ~0.44 at 04:00, peak 1.25 at 16:00), times the lunch bump.
inline constexpr double kDailyPoints[12] = {0.68, 0.50, 0.44, 0.52, 0.80, 1.02,
                                            1.10, 1.18, 1.25, 1.16, 1.00, 0.84};
// +7 % at 12:45, a Gaussian bump with a standard deviation of 30 minutes (12:00–13:30).
inline constexpr double kLunchBump = 0.07, kLunchCentreHour = 12.75, kLunchWidthHours = 0.5;
// Saturday and Sunday: 0.7 x the weekday, blended with a smoothstep over the 6 hours around
// the midnights that begin and end the weekend.
inline constexpr double kWeekendFactor = 0.7;
inline constexpr int64_t kWeekendBlendMs = 6 * kHourMs;
// Per service, drawn once: a phase shift uniform in +-90 minutes (its whole day moves earlier or
// later) and an amplitude factor uniform in [0.8, 1.2] that scales the daily swing
// T = week(t) * (1 + amplitude * (shape(t + shift) - 1)).
inline constexpr int64_t kMaxPhaseShiftMs = 90 * kMinuteMs;
inline constexpr double kMinAmplitude = 0.8, kMaxAmplitude = 1.2;
// Traffic-driven metrics: level = baseline * (share_fixed + share_traffic * T).
inline constexpr double kCpuFixed = 0.5, kLatencyFixed = 0.85, kDbFixed = 0.5;

// --- Isolated spikes: per series, a mean interval uniform in [1, 2] days (drawn once); a spike
// lasts 1 or 2 samples (even odds) and adds 4–10 x the series' noise sigma (up; request_rate up
// or down with even odds).
inline constexpr double kSpikeMinIntervalDays = 1, kSpikeMaxIntervalDays = 2;
inline constexpr double kSpikeMinSigma = 4, kSpikeMaxSigma = 10;

// --- Daily batch job on kBatchServices of the services (drawn once), each at a whole UTC hour
// drawn once, lasting 10–20 minutes including 1–2 minute smoothstep ramps in and out:
// cpu_percent +15–25 points, db_connections +20–30 %, latency_p99 +10–15 % (drawn once).
inline constexpr int kBatchServices = 2;
inline constexpr int64_t kBatchMinMs = 10 * kMinuteMs, kBatchMaxMs = 20 * kMinuteMs;
inline constexpr int64_t kBatchRampMinMs = 1 * kMinuteMs, kBatchRampMaxMs = 2 * kMinuteMs;
inline constexpr double kBatchCpuMin = 15, kBatchCpuMax = 25;
inline constexpr double kBatchDbMin = 0.20, kBatchDbMax = 0.30;
inline constexpr double kBatchLatencyMin = 0.10, kBatchLatencyMax = 0.15;

// --- Cache warm-up after every benign deployment: latency_p99 x (1 + A e^(-(t - t0)/tau)),
// A uniform in [0.15, 0.25], tau in [60, 90] s.
inline constexpr double kWarmupMin = 0.15, kWarmupMax = 0.25;
inline constexpr double kWarmupTauMinS = 60, kWarmupTauMaxS = 90;

// --- Memory sawtooth: memory_percent = baseline + A (frac - 1/2), frac rising linearly from 0
// to 1 over the period, then dropping back to 0 in one sample. A uniform in [2, 5] points,
// period in [6, 18] h, phase uniform over the period (drawn once per service).
inline constexpr double kSawMinPoints = 2, kSawMaxPoints = 5;
inline constexpr int64_t kSawMinPeriodMs = 6 * kHourMs, kSawMaxPeriodMs = 18 * kHourMs;

// --- Benign level shifts: with probability 0.3 a benign deployment multiplies latency_p99 or
// cpu_percent (even odds) by 1 +- 5–12 % (even odds up or down), persistently. The accumulated
// factor stays within [0.8, 1.25] (a shift that would leave it goes the other way).
inline constexpr double kLevelShiftProbability = 0.3;
inline constexpr double kLevelShiftMin = 0.05, kLevelShiftMax = 0.12;
inline constexpr double kLevelShiftFloor = 0.8, kLevelShiftCeiling = 1.25;

// --- Autoscaling: when T rises to the service's scale-out threshold (uniform in [1.0, 1.15],
// drawn once) cpu_percent drops by 13 % (one pod more among about eight: what a horizontal pod
// autoscaler's step does), linearly over 3 min (new pods pass readiness and take load
// gradually); when T falls to the
// scale-in threshold (0.15–0.25 below it) it comes back. Weekdays: one scale-out around late
// morning and one scale-in in the evening; weekend traffic stays below the thresholds.
inline constexpr double kScaleOutMin = 1.0, kScaleOutMax = 1.15;
inline constexpr double kHysteresisMin = 0.15, kHysteresisMax = 0.25;
inline constexpr double kScaleOutCpuFactor = 0.87;
inline constexpr int64_t kScaleRampMs = 3 * 60 * 1000;

// --- Data quality, per sample: missing (never emitted) and late (emitted with the next tick's
// batch, after that tick's own samples, with its original timestamp).
inline constexpr double kMissingProbability = 0.005, kLateProbability = 0.005;
// Counter resets: request_rate reads 0 for one sample, about once per service per day at random,
// and at a benign deployment with probability 0.3.
inline constexpr double kCounterResetsPerDay = 1;
inline constexpr double kDeployResetProbability = 0.3;
// error_rate = 100 k / n, n = round(request_rate level x 1 s), k ~ Binomial(n, p), p the error
// level (with its noise) / 100. Exact (inversion) when min(p, 1-p) n <= 30, else the normal
// approximation.
inline constexpr double kExactBinomialMean = 30;

}  // namespace realistic

// The weekday traffic shape at `hour` (0..24, UTC) before any per-service change.
double DailyShape(double hour);
// 1 on weekdays, kWeekendFactor on Saturday and Sunday (UTC), blended around the midnights.
double WeekFactor(int64_t t_ms);
// 0 = Sunday ... 6 = Saturday (UTC).
int DayOfWeek(int64_t t_ms);

// What the realistic profile draws once per service.
struct ServiceTraits {
  int64_t phase_ms = 0;
  double amplitude = 1;
  bool batch = false;          // runs the daily batch job
  int64_t batch_start_ms = 0;  // offset in the UTC day (a whole hour)
  int64_t batch_duration_ms = 0, batch_ramp_ms = 0;
  double batch_cpu_points = 0, batch_db = 0, batch_latency = 0;  // db, latency: relative
  double saw_points = 0;
  int64_t saw_period_ms = 1, saw_offset_ms = 0;
  double scale_out_at = 1, scale_in_at = 0.8;
  std::array<double, kMetricCount> spike_probability{};  // per sample
};

// T(t) for one service.
double TrafficFactor(const ServiceTraits& traits, int64_t t_ms);
// 0..1: the batch job's intensity (0 when the service has none).
double BatchEnvelope(const ServiceTraits& traits, int64_t t_ms);
// The memory sawtooth in percentage points (mean 0).
double MemoryDrift(const ServiceTraits& traits, int64_t t_ms);

// k ~ Binomial(n, p) from exactly two uniforms in [0, 1): exact inversion of the smaller tail
// when its mean is at most kExactBinomialMean, else the normal approximation (rounded, clamped).
int64_t SampleBinomial(int64_t n, double p, double u1, double u2);

// The realistic profile's state for every service of a catalogue. The simulator core calls
// Advance once per tick (in increasing time), then Samples for every service in order; the
// benign deployments it makes go to OnBenignDeployment. Per tick the model consumes a fixed
// number of draws of its main stream whatever the scenarios do, so an injection never changes
// the benign behaviour of later ticks; the effects of benign deployments (whose timing does
// depend on scenarios) use a stream of their own.
class RealisticModel {
 public:
  enum class Delivery { kOnTime, kMissing, kLate };
  struct Sample {
    double value = 0;  // not clamped nor rounded
    Delivery delivery = Delivery::kOnTime;
  };

  // `rng` draws the traits and everything per tick; `benign_rng` the deployment effects.
  RealisticModel(const std::vector<const ServiceInfo*>& services, std::mt19937_64 rng,
                 std::mt19937_64 benign_rng);

  size_t size() const { return services_.size(); }
  const ServiceTraits& traits(size_t service) const { return services_[service].traits; }

  // The normal levels and noise sigmas at `now_ms`; advances the autoscalers.
  void Advance(int64_t now_ms);
  // As of the last Advance (the catalogue baseline and baseline x noise before it).
  const MetricValues& normal(size_t service) const { return services_[service].normal; }
  const MetricValues& sigma(size_t service) const { return services_[service].sigma; }
  bool scaled_out(size_t service) const { return services_[service].scaled_out; }
  // The accumulated benign level-shift factor of a metric (1 for all but latency and cpu).
  double level_shift(size_t service, size_t metric) const {
    return services_[service].shift[metric];
  }

  // A benign deployment of `service` at `now_ms` (call before the tick's Advance): cache
  // warm-up, maybe a level shift, maybe a counter reset in this tick's sample.
  void OnBenignDeployment(size_t service, int64_t now_ms);

  // This tick's samples of `service` from `level` (its normal level plus any scenario effect).
  std::array<Sample, kMetricCount> Samples(size_t service, const MetricValues& level);

 private:
  struct State {
    ServiceTraits traits;
    MetricValues base{}, rel{}, normal{}, sigma{};
    double pool = 0;
    std::array<HeavyTailedNoise, kMetricCount> noise;
    std::array<int, kMetricCount> spike_left{};
    std::array<double, kMetricCount> spike_sigmas{};
    MetricValues shift{};
    bool scaled_out = false, scale_known = false;
    int64_t scale_changed_ms = INT64_MIN / 2;
    int64_t warm_ms = INT64_MIN / 2;
    double warm_amplitude = 0, warm_tau_ms = 1;
    bool reset_pending = false;
  };
  double Uniform01();

  std::vector<State> services_;
  std::mt19937_64 rng_, benign_rng_;
  int64_t now_ms_ = 0;
};

}  // namespace sre::sim
