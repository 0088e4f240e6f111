#pragma once
// The normal-traffic model: metric identities, physical ranges, and the noise around a baseline.
#include <array>
#include <cstddef>
#include <optional>
#include <random>
#include <string_view>

namespace sre::sim {

// The seven metrics of ARCHITECTURE §3, in the order of sre::metrics::kAll.
enum Metric : size_t {
  kRequestRate,
  kErrorRate,
  kLatencyP99,
  kCpuPercent,
  kMemoryPercent,
  kDbConnections,
  kConsumerLag,
  kMetricCount
};
using MetricValues = std::array<double, kMetricCount>;

const char* MetricName(size_t metric);
std::optional<Metric> FindMetric(std::string_view name);
// "rps", "percent", "ms", "connections", "messages".
const char* MetricUnit(size_t metric);

// Clamps to the physical range: percentages 0–100, db_connections 0–pool_size, others >= 0.
double ClampMetric(size_t metric, double value, double pool_size);
// Rounds to the precision the metric is reported with (counts are whole numbers).
double RoundMetric(size_t metric, double value);
// The largest value a peak may take for this metric (100 for percentages, the pool for
// db_connections, a sanity bound otherwise).
double MetricMax(size_t metric, double pool_size);

// One series' noise: a stationary, light-tailed, autocorrelated source with zero mean and unit
// variance. An AR(1) Gaussian state (a discretised Ornstein–Uhlenbeck process, lag-1 correlation
// kPhi per 10 s tick) goes through a soft limiter kLimit·tanh(x/kLimit), rescaled to unit variance,
// so the output never exceeds ±Bound() (about 1.6σ): no heavy tails, no spikes. A detector that
// scores against a rolling baseline therefore sees no outliers in normal traffic.
// Not thread-safe; the caller supplies the random stream.
class NoiseProcess {
 public:
  static constexpr double kPhi = 0.2;
  static constexpr double kLimit = 1.0;

  // Draws the state from the stationary distribution (no burn-in needed).
  void Reset(std::mt19937_64& rng);
  // Advances one tick; returns the standardised deviation (mean 0, variance 1).
  double Next(std::mt19937_64& rng);
  // The largest |Next()| can be.
  static double Bound();

 private:
  double state_ = 0;
};

// The realistic profile's noise (profile.h): the same AR(1) structure as NoiseProcess (lag-1
// correlation kPhi per tick), but the innovations are Student-t with kNu = 4 degrees of freedom
// rescaled to unit variance and nothing limits the output: mean 0, variance 1, heavy tails
// (about 0.5 % of samples beyond 4 sigma, where a Gaussian has 0.006 %).
// Every Next() consumes exactly four draws of `rng`. Not thread-safe.
class HeavyTailedNoise {
 public:
  static constexpr double kPhi = NoiseProcess::kPhi;
  static constexpr double kNu = 4;

  // Draws the state from a unit-variance Student-t (close to the stationary law; no burn-in).
  void Reset(std::mt19937_64& rng);
  // Advances one tick; returns the standardised deviation (mean 0, variance 1, unbounded).
  double Next(std::mt19937_64& rng);

 private:
  double state_ = 0;
};

// A Student-t draw with 4 degrees of freedom scaled to unit variance (t4 / sqrt(2)); four draws.
double UnitStudentT4(std::mt19937_64& rng);

// A standard normal draw.
double Gaussian(std::mt19937_64& rng);
// A uniform draw in [lo, hi).
double Uniform(std::mt19937_64& rng, double lo, double hi);
// A uniform integer in [lo, hi].
int64_t UniformInt(std::mt19937_64& rng, int64_t lo, int64_t hi);

}  // namespace sre::sim
