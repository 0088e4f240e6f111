#pragma once
// Ramp shapes and the intensity envelope of a scenario. Pure functions of progress; no state.
#include <cstdint>
#include <string_view>

#include "shared/enums.h"

namespace sre::sim {

// How a metric moves from its baseline to its peak over the ramp.
enum class Shape { kLinear, kExponential, kSigmoid, kStep };

// Fraction of the way to the peak after `progress` (0..1, clamped) of the ramp. Every shape is
// monotone non-decreasing with Ramp(s, 0) == 0 and Ramp(s, 1) == 1; kStep is 1 for any
// progress > 0, every other shape is continuous.
double Ramp(Shape shape, double progress);

// 1 - smoothstep(progress): the remaining intensity while a scenario recovers (1 at 0, 0 at 1).
double Recovery(double progress);

// Intensity (0..1) of one metric effect at `t_ms`, for a symptom window [start_ms, end_ms) whose
// last `recovery_ms` recovers and whose ramp starts `delay_ms` after start_ms and lasts ramp_ms.
// 0 outside the window.
double EffectIntensity(Shape shape, int64_t t_ms, int64_t start_ms, int64_t end_ms,
                       int64_t delay_ms, int64_t ramp_ms, int64_t recovery_ms);

}  // namespace sre::sim

namespace sre {
template <>
struct EnumNames<sim::Shape> {
  static constexpr std::string_view kType = "Shape";
  static constexpr std::string_view kList[] = {"linear", "exponential", "sigmoid", "step"};
};
}  // namespace sre
