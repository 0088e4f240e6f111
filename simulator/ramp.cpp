#include "simulator/ramp.h"

#include <algorithm>
#include <cmath>

namespace sre::sim {
namespace {

// Steepness of the exponential and sigmoid shapes: exponential reaches half of its rise at
// about 83 % of the ramp, the sigmoid is a logistic curve rescaled to hit 0 and 1 exactly.
constexpr double kExpRate = 4.0;
constexpr double kSigmoidSteepness = 10.0;

double Logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

double Ramp(Shape shape, double progress) {
  double p = std::clamp(progress, 0.0, 1.0);
  switch (shape) {
    case Shape::kLinear:
      return p;
    case Shape::kExponential:
      return std::expm1(kExpRate * p) / std::expm1(kExpRate);
    case Shape::kSigmoid: {
      double lo = Logistic(-kSigmoidSteepness / 2), hi = Logistic(kSigmoidSteepness / 2);
      return std::clamp((Logistic(kSigmoidSteepness * (p - 0.5)) - lo) / (hi - lo), 0.0, 1.0);
    }
    case Shape::kStep:
      return p > 0 ? 1.0 : 0.0;
  }
  return p;
}

double Recovery(double progress) {
  double p = std::clamp(progress, 0.0, 1.0);
  return 1.0 - p * p * (3.0 - 2.0 * p);
}

double EffectIntensity(Shape shape, int64_t t_ms, int64_t start_ms, int64_t end_ms,
                       int64_t delay_ms, int64_t ramp_ms, int64_t recovery_ms) {
  if (t_ms < start_ms || t_ms >= end_ms) return 0.0;
  int64_t ramp_start = start_ms + delay_ms;
  if (t_ms < ramp_start) return 0.0;
  double up =
      ramp_ms <= 0
          ? 1.0
          : Ramp(shape, static_cast<double>(t_ms - ramp_start) / static_cast<double>(ramp_ms));
  int64_t recovery_start = end_ms - recovery_ms;
  double down = 1.0;
  if (recovery_ms > 0 && t_ms >= recovery_start)
    down = Recovery(static_cast<double>(t_ms - recovery_start) / static_cast<double>(recovery_ms));
  return up * down;
}

}  // namespace sre::sim
