#include "tools/eval/scoring.h"

#include <gtest/gtest.h>

namespace sre::eval {
namespace {

Truth PaymentTruth() {
  return {"PAYMENT_OUTAGE",         "payment-service", "payment-service",
          "INFRASTRUCTURE_FAILURE", 1'000'000,         1'300'000};
}

ObservedIncident Root() {
  ObservedIncident i;
  i.id = "a";
  i.service = "payment-service";
  i.status = "CLOSED";
  i.root_cause_service = "payment-service";
  i.root_cause_category = "INFRASTRUCTURE_FAILURE";
  i.detection_ms = 1'030'000;
  i.mttr_s = 290;
  i.has_postmortem = true;
  int64_t t = 1'031'000;
  for (const auto& type : kEmailTypes) i.email_sent_ms[type] = t += 1000;
  i.emails_in_maildev = 5;
  return i;
}

TEST(ScoringTest, PassesWhenEverythingIsRight) {
  ScenarioScore s = Score({"PAYMENT_OUTAGE", PaymentTruth(), {Root()}, true});
  EXPECT_TRUE(s.detected);
  EXPECT_EQ(s.incidents_opened, 1);
  EXPECT_DOUBLE_EQ(*s.detection_delay_s, 30);
  EXPECT_DOUBLE_EQ(*s.email_delay_s.at("INCIDENT_ALERT"), 32);
  EXPECT_DOUBLE_EQ(*s.mttr_simulated_s, 300);
  EXPECT_DOUBLE_EQ(*s.mttr_measured_s, 290);
  EXPECT_TRUE(s.pass);
}

TEST(ScoringTest, LinkedCascadeIncidentsDoNotCountAsExtraIncidents) {
  ObservedIncident caller = Root();
  caller.id = "b";
  caller.service = "order-service";
  caller.related_incident_id = "a";
  caller.detection_ms = 1'020'000;  // detected before the root: the delay is the earliest
  ScenarioScore s = Score({"PAYMENT_OUTAGE", PaymentTruth(), {caller, Root()}, true});
  EXPECT_EQ(s.incidents_opened, 1);
  EXPECT_EQ(s.incidents_linked, 1);
  EXPECT_DOUBLE_EQ(*s.detection_delay_s, 20);
  EXPECT_TRUE(s.pass);
}

// Regression: the root incident may itself point at a caller's incident (detected first).
TEST(ScoringTest, RootLinkedToACallersIncidentStillCountsOnce) {
  ObservedIncident caller = Root();
  caller.id = "b";
  caller.service = "order-service";
  caller.related_incident_id = "a";
  ObservedIncident root = Root();
  root.related_incident_id = "b";
  ObservedIncident unrelated = Root();
  unrelated.id = "c";
  unrelated.service = "user-service";
  ScenarioScore s = Score({"PAYMENT_OUTAGE", PaymentTruth(), {caller, root}, true});
  EXPECT_EQ(s.incidents_opened, 1);
  EXPECT_EQ(s.incidents_linked, 1);
  EXPECT_TRUE(s.pass);
  ScenarioScore dup = Score({"PAYMENT_OUTAGE", PaymentTruth(), {caller, root, unrelated}, true});
  EXPECT_EQ(dup.incidents_opened, 2);
  EXPECT_FALSE(dup.pass);
}

TEST(ScoringTest, FailsOnDuplicateIncidentWrongCategoryMissingEmailOrPostmortem) {
  struct Case {
    const char* name;
    void (*mutate)(std::vector<ObservedIncident>&);
  };
  const Case cases[] = {
      {"duplicate", [](std::vector<ObservedIncident>& v) { v.push_back(v[0]); }},
      {"category",
       [](std::vector<ObservedIncident>& v) { v[0].root_cause_category = "APPLICATION_BUG"; }},
      {"service",
       [](std::vector<ObservedIncident>& v) { v[0].root_cause_service = "order-service"; }},
      {"email", [](std::vector<ObservedIncident>& v) { v[0].email_sent_ms.erase("POSTMORTEM"); }},
      {"postmortem", [](std::vector<ObservedIncident>& v) { v[0].has_postmortem = false; }},
  };
  for (const auto& c : cases) {
    std::vector<ObservedIncident> incidents = {Root()};
    c.mutate(incidents);
    EXPECT_FALSE(Score({"PAYMENT_OUTAGE", PaymentTruth(), incidents, true}).pass) << c.name;
  }
}

TEST(ScoringTest, UndetectedAndMissingTruth) {
  ScenarioScore none = Score({"LATENCY_SPIKE", PaymentTruth(), {}, false});
  EXPECT_FALSE(none.detected);
  EXPECT_FALSE(none.pass);
  EXPECT_FALSE(none.detection_delay_s);
  ScenarioScore no_truth = Score({"LATENCY_SPIKE", std::nullopt, {Root()}, true});
  EXPECT_FALSE(no_truth.pass);
}

TEST(ScoringTest, ScorecardCountsAndRenders) {
  Scorecard card = BuildScorecard({{"PAYMENT_OUTAGE", PaymentTruth(), {Root()}, true},
                                   {"LATENCY_SPIKE", std::nullopt, {}, false}},
                                  2, 1, 30);
  EXPECT_EQ(card.passed, 1);
  std::string md = RenderMarkdown(card);
  EXPECT_NE(md.find("| PAYMENT_OUTAGE | yes | 30 s | 1 |"), std::string::npos) << md;
  EXPECT_NE(md.find("Passed 1 of 2"), std::string::npos);
  EXPECT_NE(md.find("False alarms in the quiet period: 2. Dead letters: 1."), std::string::npos);
  Json j = RenderJson(card);
  EXPECT_EQ(j["passed"], 1);
  EXPECT_EQ(j["scenarios"][0]["email_delay_s"]["POSTMORTEM"], 36.0);
  EXPECT_TRUE(j["scenarios"][1]["detection_delay_s"].is_null());
}

}  // namespace
}  // namespace sre::eval
