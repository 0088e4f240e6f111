#include "agents/detection/evaluation.h"

#include <gtest/gtest.h>

namespace sre::detection {
namespace {

LabelledFailure Failure(const std::string& service, int64_t start, int64_t end, std::optional<int64_t> crossed,
                        std::vector<std::string> affected = {}) {
  Json j = {{"topic", "eval.episode"}, {"scenario", "x"},        {"service", service},
            {"start_ms", start},       {"end_ms", end},          {"trigger_metrics", {"latency_p99_ms"}},
            {"crossed_3sigma_ms", {{service + "/latency_p99_ms", crossed ? Json(*crossed) : Json()}}}};
  if (!affected.empty()) j["affected_services"] = affected;
  auto f = ParseLabelledFailure(j);
  EXPECT_TRUE(f.ok()) << f.status().message();
  return *f;
}

TEST(EvaluationTest, RaisesInsideAFailureOnAnAffectedServiceAreTrueAndTheRestFalse) {
  std::vector<LabelledFailure> failures = {Failure("a", 1'000'000, 2'000'000, 1'100'000, {"a", "b"}),
                                           Failure("c", 5'000'000, 6'000'000, std::nullopt),
                                           Failure("d", 8'000'000, 9'000'000, 8'000'000)};
  std::vector<Raise> raises = {
      {"a", "latency_p99_ms", 1'130'000, 0.7},  // 3 samples after the crossing
      {"b", "error_rate", 1'500'000, 0.6},      // a cascade: affected, true
      {"c", "cpu_percent", 1'200'000, 0.6},     // c is not affected by the first failure: false
      {"a", "cpu_percent", 2'100'000, 0.6},     // within the grace after the end: true
      {"a", "cpu_percent", 2'200'000, 0.6},     // after the grace: false
      {"c", "latency_p99_ms", 5'010'000, 0.9},  // raised, no 3σ crossing: no delay
  };
  Scorecard s = ScoreRaises(raises, failures, 2.0, 42);
  EXPECT_EQ(s.raises, 6);
  EXPECT_EQ(s.true_raises, 4);
  EXPECT_EQ(s.false_raises, 2);
  EXPECT_DOUBLE_EQ(s.false_per_day(), 1.0);
  EXPECT_EQ(s.detected, 2);  // d was never raised
  EXPECT_NEAR(s.recall(), 2.0 / 3.0, 1e-12);
  ASSERT_TRUE(s.median_delay_samples.has_value());
  EXPECT_DOUBLE_EQ(*s.median_delay_samples, 3.0);
  EXPECT_FALSE(s.failures[2].first_raise.has_value());
  std::string text = FormatScorecard(s, "t");
  EXPECT_NE(text.find("**not raised**"), std::string::npos);
  EXPECT_NE(text.find("c/cpu_percent 1;"), std::string::npos);
  EXPECT_EQ(ScorecardJson(s)["false_raises"], 2);
}

TEST(EvaluationTest, MalformedEpisodesAreRejected) {
  EXPECT_FALSE(ParseLabelledFailure(Json{{"scenario", "x"}}).ok());
  EXPECT_FALSE(ParseLabelledFailure(Json{{"scenario", "x"}, {"service", "a"}, {"start_ms", 5}, {"end_ms", 1}}).ok());
  EXPECT_FALSE(ParseLabelledFailure(Json{{"scenario", 3}, {"service", "a"}, {"start_ms", 1}, {"end_ms", 5}}).ok());
}

}  // namespace
}  // namespace sre::detection
