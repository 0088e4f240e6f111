#include "simulator/noise.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "shared/messages.h"

namespace sre::sim {
namespace {

// Standard deviation of kLimit·tanh(Z/kLimit) for Z ~ N(0, 1), by quadrature (computed once).
double LimiterStd() {
  static const double kStd = [] {
    constexpr int kSteps = 20000;
    constexpr double kLo = -10.0, kHi = 10.0;
    const double h = (kHi - kLo) / kSteps;
    double sum = 0;
    for (int i = 0; i <= kSteps; ++i) {
      double z = kLo + i * h;
      double w = (i == 0 || i == kSteps) ? 0.5 : 1.0;
      double v = NoiseProcess::kLimit * std::tanh(z / NoiseProcess::kLimit);
      sum += w * v * v * std::exp(-z * z / 2);
    }
    return std::sqrt(sum * h / std::sqrt(2 * std::numbers::pi));
  }();
  return kStd;
}

}  // namespace

const char* MetricName(size_t metric) { return metrics::kAll[metric]; }

std::optional<Metric> FindMetric(std::string_view name) {
  for (size_t i = 0; i < kMetricCount; ++i)
    if (name == metrics::kAll[i]) return static_cast<Metric>(i);
  return std::nullopt;
}

const char* MetricUnit(size_t metric) {
  switch (metric) {
    case kRequestRate:
      return "rps";
    case kErrorRate:
    case kCpuPercent:
    case kMemoryPercent:
      return "percent";
    case kLatencyP99:
      return "ms";
    case kDbConnections:
      return "connections";
    default:
      return "messages";
  }
}

double MetricMax(size_t metric, double pool_size) {
  switch (metric) {
    case kErrorRate:
    case kCpuPercent:
    case kMemoryPercent:
      return 100.0;
    case kDbConnections:
      return pool_size;
    case kLatencyP99:
      return 600000.0;  // ten minutes
    default:
      return 1e9;
  }
}

double ClampMetric(size_t metric, double value, double pool_size) {
  return std::clamp(value, 0.0, MetricMax(metric, pool_size));
}

double RoundMetric(size_t metric, double value) {
  switch (metric) {
    case kDbConnections:
    case kConsumerLag:
      return std::round(value);
    case kErrorRate:
      return std::round(value * 1000.0) / 1000.0;
    default:
      return std::round(value * 100.0) / 100.0;
  }
}

double Gaussian(std::mt19937_64& rng) {
  // Box–Muller on our own so a draw consumes a fixed amount of the stream (no cached pair).
  constexpr double kTwoPow53 = 9007199254740992.0;
  double u1 = (static_cast<double>(rng() >> 11) + 1.0) / (kTwoPow53 + 1.0);  // (0, 1]
  double u2 = static_cast<double>(rng() >> 11) / kTwoPow53;                  // [0, 1)
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

double Uniform(std::mt19937_64& rng, double lo, double hi) {
  return lo + (hi - lo) * (static_cast<double>(rng() >> 11) / 9007199254740992.0);
}

int64_t UniformInt(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
  return lo + static_cast<int64_t>(rng() % span);
}

void NoiseProcess::Reset(std::mt19937_64& rng) { state_ = Gaussian(rng); }

double NoiseProcess::Next(std::mt19937_64& rng) {
  state_ = kPhi * state_ + std::sqrt(1.0 - kPhi * kPhi) * Gaussian(rng);
  return kLimit * std::tanh(state_ / kLimit) / LimiterStd();
}

double UnitStudentT4(std::mt19937_64& rng) {
  // t_nu = Z / sqrt(chi2_nu / nu); for nu = 4, chi2_4 = -2 ln(U1 U2) exactly. Var(t_4) = 2.
  constexpr double kTwoPow53 = 9007199254740992.0;
  double z = Gaussian(rng);
  double u1 = (static_cast<double>(rng() >> 11) + 1.0) / (kTwoPow53 + 1.0);  // (0, 1]
  double u2 = (static_cast<double>(rng() >> 11) + 1.0) / (kTwoPow53 + 1.0);
  double chi2 = -2.0 * (std::log(u1) + std::log(u2));
  if (chi2 <= 0) return 0;  // u1 = u2 = 1: probability 2^-106
  return z / std::sqrt(chi2 / HeavyTailedNoise::kNu) / std::sqrt(2.0);
}

void HeavyTailedNoise::Reset(std::mt19937_64& rng) { state_ = UnitStudentT4(rng); }

double HeavyTailedNoise::Next(std::mt19937_64& rng) {
  state_ = kPhi * state_ + std::sqrt(1.0 - kPhi * kPhi) * UnitStudentT4(rng);
  return state_;
}

double NoiseProcess::Bound() { return kLimit / LimiterStd(); }

}  // namespace sre::sim
