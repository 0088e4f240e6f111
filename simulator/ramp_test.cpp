#include "simulator/ramp.h"

#include <gtest/gtest.h>

#include <cmath>

namespace sre::sim {
namespace {

const Shape kAllShapes[] = {Shape::kLinear, Shape::kExponential, Shape::kSigmoid, Shape::kStep};

TEST(RampTest, EveryShapeStartsAtZeroEndsAtOneAndNeverFalls) {
  for (Shape shape : kAllShapes) {
    SCOPED_TRACE(std::string(ToString(shape)));
    EXPECT_DOUBLE_EQ(Ramp(shape, 0.0), 0.0);
    EXPECT_DOUBLE_EQ(Ramp(shape, 1.0), 1.0);
    EXPECT_DOUBLE_EQ(Ramp(shape, -0.5), 0.0);  // clamped
    EXPECT_DOUBLE_EQ(Ramp(shape, 7.0), 1.0);
    double prev = 0;
    for (int i = 0; i <= 1000; ++i) {
      double v = Ramp(shape, i / 1000.0);
      EXPECT_GE(v, prev - 1e-12) << "at " << i / 1000.0;
      EXPECT_GE(v, 0.0);
      EXPECT_LE(v, 1.0);
      prev = v;
    }
  }
}

TEST(RampTest, OnlyStepJumps) {
  for (Shape shape : kAllShapes) {
    SCOPED_TRACE(std::string(ToString(shape)));
    double largest_jump = 0;
    for (int i = 1; i <= 1000; ++i)
      largest_jump =
          std::max(largest_jump, Ramp(shape, i / 1000.0) - Ramp(shape, (i - 1) / 1000.0));
    if (shape == Shape::kStep) {
      EXPECT_DOUBLE_EQ(largest_jump, 1.0);
    } else {
      EXPECT_LT(largest_jump, 0.01);  // continuous: 1/1000 of the ramp moves < 1 %
    }
  }
}

TEST(RampTest, ShapesHaveTheirCharacter) {
  struct Case {
    Shape shape;
    double at, lo, hi;
  } cases[] = {
      {Shape::kLinear, 0.25, 0.25, 0.25},     {Shape::kLinear, 0.5, 0.5, 0.5},
      {Shape::kExponential, 0.5, 0.08, 0.15},  // slow start
      {Shape::kExponential, 0.9, 0.6, 0.7},    // fast finish
      {Shape::kSigmoid, 0.5, 0.5, 0.5},        // symmetric
      {Shape::kSigmoid, 0.1, 0.0, 0.02},       // flat at both ends
      {Shape::kSigmoid, 0.9, 0.98, 1.0},      {Shape::kStep, 0.01, 1.0, 1.0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(ToString(c.shape)) + " at " + std::to_string(c.at));
    EXPECT_GE(Ramp(c.shape, c.at), c.lo - 1e-9);
    EXPECT_LE(Ramp(c.shape, c.at), c.hi + 1e-9);
  }
}

TEST(RampTest, RecoveryFallsSmoothlyFromOneToZero) {
  EXPECT_DOUBLE_EQ(Recovery(0), 1.0);
  EXPECT_DOUBLE_EQ(Recovery(1), 0.0);
  EXPECT_DOUBLE_EQ(Recovery(0.5), 0.5);
  for (int i = 1; i <= 100; ++i) EXPECT_LE(Recovery(i / 100.0), Recovery((i - 1) / 100.0));
}

TEST(RampTest, EffectIntensityFollowsDelayRampHoldAndRecovery) {
  // Window [100 s, 300 s): ramp 20 s after the start over 60 s, recovery over the last 30 s.
  const int64_t start = 100000, end = 300000, delay = 20000, ramp = 60000, recovery = 30000;
  auto at = [&](int64_t t) {
    return EffectIntensity(Shape::kLinear, t, start, end, delay, ramp, recovery);
  };
  EXPECT_EQ(at(start - 1), 0.0);
  EXPECT_EQ(at(start), 0.0);
  EXPECT_EQ(at(start + delay), 0.0);
  EXPECT_NEAR(at(start + delay + ramp / 2), 0.5, 1e-9);
  EXPECT_EQ(at(start + delay + ramp), 1.0);
  EXPECT_EQ(at(end - recovery), 1.0);  // hold until recovery starts
  EXPECT_NEAR(at(end - recovery / 2), 0.5, 1e-9);
  EXPECT_LT(at(end - 1), 1e-6);
  EXPECT_EQ(at(end), 0.0);
  // A step with no ramp is at full intensity as soon as it starts.
  EXPECT_EQ(EffectIntensity(Shape::kStep, start, start, end, 0, 0, recovery), 1.0);
}

}  // namespace
}  // namespace sre::sim
