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

ObservedAction Action(const std::string& action, const std::string& status,
                      std::optional<bool> matched, const std::string& reason = "") {
  ObservedAction a;
  a.action = action;
  a.service = "payment-service";
  a.status = status;
  a.reason = reason;
  a.confidence = 0.8;
  a.matched = matched;
  if (ActionExecuted(status)) a.executed_ms = 1'040'000;
  return a;
}

TEST(ScoringTest, RecordsTheRootIncidentsActionsAndTheOthersApart) {
  ObservedIncident root = Root();
  root.actions = {Action("rollback", "VERIFIED", true)};
  ObservedIncident caller = Root();
  caller.id = "b";
  caller.service = "order-service";
  caller.related_incident_id = "a";
  caller.actions = {Action("scale_out", "AWAITING_APPROVAL", std::nullopt, "risk")};
  Scorecard card =
      BuildScorecard({{"PAYMENT_OUTAGE", PaymentTruth(), {caller, root}, true}}, 0, 0, 30);
  card.remediation_mode = "auto";
  const ScenarioScore& s = card.scenarios[0];
  ASSERT_EQ(s.actions.size(), 1u);
  EXPECT_EQ(s.actions[0].action, "rollback");
  ASSERT_EQ(s.other_actions.size(), 1u);
  EXPECT_EQ(s.other_actions[0].action, "scale_out");
  Json j = RenderJson(card);
  EXPECT_EQ(j["remediation_mode"], "auto");
  const Json& a = j["scenarios"][0]["actions"][0];
  EXPECT_EQ(a["status"], "VERIFIED");
  EXPECT_EQ(a["executed"], true);
  EXPECT_EQ(a["matched"], true);
  EXPECT_EQ(a["executed_delay_s"], 40.0);  // from the fault's start
  EXPECT_EQ(j["scenarios"][0]["other_actions"][0]["executed"], false);
  EXPECT_TRUE(j["scenarios"][0]["other_actions"][0]["matched"].is_null());
  std::string md = RenderMarkdown(card);
  EXPECT_NE(md.find("| rollback (verified) matched | PASS |"), std::string::npos) << md;
  EXPECT_NE(md.find("Remediation mode: `auto`."), std::string::npos) << md;
}

TEST(ScoringTest, ActionExecutedMeansTheSystemWasActedOn) {
  for (const char* s : {"EXECUTED", "VERIFIED", "FAILED"}) EXPECT_TRUE(ActionExecuted(s)) << s;
  for (const char* s : {"AWAITING_APPROVAL", "APPROVED", "EXECUTING", "DRY_RUN", "BLOCKED",
                        "REJECTED", "ESCALATED"})
    EXPECT_FALSE(ActionExecuted(s)) << s;
}

// One scenario's scorecard JSON with the given MTTR and root-incident actions.
struct Pass {
  Pass(std::string s, std::optional<double> m, std::vector<ObservedAction> a = {},
       std::vector<ObservedAction> o = {})
      : scenario(std::move(s)), mttr_s(m), actions(std::move(a)), other_actions(std::move(o)) {}
  std::string scenario;
  std::optional<double> mttr_s;
  std::vector<ObservedAction> actions, other_actions;
};

Json Card(const std::vector<Pass>& passes, const std::string& mode) {
  std::vector<ScenarioObservation> observations;
  for (const auto& p : passes) {
    Truth t = PaymentTruth();
    t.scenario = p.scenario;
    ObservedIncident root = Root();
    root.mttr_s = p.mttr_s;
    root.actions = p.actions;
    std::vector<ObservedIncident> incidents = {root};
    if (!p.other_actions.empty()) {
      ObservedIncident other = Root();
      other.id = "b";
      other.service = "order-service";
      other.related_incident_id = "a";
      other.actions = p.other_actions;
      incidents.push_back(other);
    }
    observations.push_back({p.scenario, t, incidents, true});
  }
  Scorecard card = BuildScorecard(observations, 0, 0, 30);
  card.remediation_mode = mode;
  // Through text, as sre-eval --compare reads the files.
  return Json::parse(RenderJson(card).dump());
}

const ComparisonRow& Row(const RemediationComparison& c, const std::string& scenario) {
  for (const auto& r : c.rows)
    if (r.scenario == scenario) return r;
  static ComparisonRow none;
  ADD_FAILURE() << "no row " << scenario;
  return none;
}

TEST(RemediationComparisonTest, MatchedActionsMustCutMttrAndLookAlikesMustNotRun) {
  Json off = Card({{"DEPLOYMENT_FAILURE", 210, {}},
                   {"CPU_SATURATION", 270, {}},
                   {"LATENCY_SPIKE", 210, {}},
                   {"BAD_DEPLOY_LATENCY", 200, {}},
                   {"TRAFFIC_SURGE", 260, {}},
                   {"PAYMENT_OUTAGE", 231, {}}},
                  "off");
  Json on = Card(
      {{"DEPLOYMENT_FAILURE", 50, {Action("rollback", "VERIFIED", true)}},
       {"CPU_SATURATION", 162, {Action("scale_out", "EXECUTED", true)}},  // exactly 0.6 x: met
       {"LATENCY_SPIKE",
        205,
        {Action("kill_long_queries", "AWAITING_APPROVAL", std::nullopt, "auto mode: risk MEDIUM")}},
       {"BAD_DEPLOY_LATENCY",
        198,
        {Action("rollback", "AWAITING_APPROVAL", std::nullopt, "confidence 0.61 < 0.7")}},
       {"TRAFFIC_SURGE", 255, {Action("scale_out", "BLOCKED", std::nullopt, "cooldown")}},
       {"PAYMENT_OUTAGE", 229, {Action("escalate", "ESCALATED", std::nullopt)}}},
      "auto");
  RemediationComparison c = CompareRemediation(off, on);
  EXPECT_TRUE(c.targets_met);
  EXPECT_EQ(c.speedup_met, 2);
  EXPECT_EQ(c.speedup_missed, 0);
  EXPECT_EQ(c.executed_unmatched, 0);
  EXPECT_EQ(c.off_mode, "off");
  EXPECT_EQ(c.auto_mode, "auto");
  ASSERT_EQ(c.rows.size(), 6u);
  EXPECT_EQ(c.rows[0].scenario, "DEPLOYMENT_FAILURE");  // the auto pass's order
  EXPECT_NEAR(*Row(c, "DEPLOYMENT_FAILURE").change_pct, -76.19, 0.01);
  EXPECT_EQ(Row(c, "CPU_SATURATION").speedup, SpeedupCheck::kMet);
  // Not executed: listed with the status, excluded from (a).
  for (const char* s : {"LATENCY_SPIKE", "BAD_DEPLOY_LATENCY", "TRAFFIC_SURGE", "PAYMENT_OUTAGE"})
    EXPECT_EQ(Row(c, s).speedup, SpeedupCheck::kNotApplicable) << s;
  std::string md = RenderComparisonMarkdown(c);
  EXPECT_NE(
      md.find("| DEPLOYMENT_FAILURE | 210 s | 50 s | -76 % | rollback (verified) | yes | met |"),
      std::string::npos)
      << md;
  EXPECT_NE(
      md.find("| LATENCY_SPIKE | 210 s | 205 s | -2 % | kill_long_queries (awaiting approval) "
              "| — | — |"),
      std::string::npos)
      << md;
  EXPECT_NE(md.find("scale_out (blocked)"), std::string::npos) << md;
  EXPECT_NE(md.find("- BAD_DEPLOY_LATENCY: rollback on payment-service: awaiting approval — "
                    "confidence 0.61 < 0.7"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("Both targets met."), std::string::npos) << md;
  EXPECT_NE(md.find("| PAYMENT_OUTAGE | 231 s | 229 s | -1 % |"), std::string::npos) << md;
  Json j = RenderComparisonJson(c);
  EXPECT_EQ(j["targets_met"], true);
  EXPECT_EQ(j["scenarios"][0]["speedup"], "met");
  EXPECT_EQ(j["scenarios"][2]["speedup"], "not_applicable");
}

TEST(RemediationComparisonTest, TooSmallASpeedUpMissesTargetA) {
  Json off = Card({{"MEMORY_LEAK", 320, {}}}, "off");
  Json on = Card({{"MEMORY_LEAK", 200, {Action("restart", "VERIFIED", true)}}}, "auto");  // 0.625
  RemediationComparison c = CompareRemediation(off, on);
  EXPECT_FALSE(c.targets_met);
  EXPECT_EQ(c.speedup_missed, 1);
  EXPECT_EQ(c.rows[0].speedup, SpeedupCheck::kMissed);
  EXPECT_NE(RenderComparisonMarkdown(c).find("| **missed** |"), std::string::npos);
}

TEST(RemediationComparisonTest, AMatchedActionWithoutAnMttrCannotShowItsSpeedUp) {
  Json off = Card({{"MEMORY_LEAK", 320, {}}}, "off");
  Json on = Card({{"MEMORY_LEAK", std::nullopt, {Action("restart", "VERIFIED", true)}}}, "auto");
  RemediationComparison c = CompareRemediation(off, on);
  EXPECT_FALSE(c.targets_met);
  EXPECT_EQ(c.rows[0].speedup, SpeedupCheck::kMissed);
}

TEST(RemediationComparisonTest, AnExecutedLookAlikeMissesTargetBWhateverItsStatus) {
  // A rollback executed on LATENCY_SPIKE (no deployment caused it): the simulator did not match
  // it; also when the verification failed and it was undone, and on a linked incident.
  for (const char* status : {"EXECUTED", "VERIFIED", "FAILED"}) {
    Json off = Card({{"LATENCY_SPIKE", 210, {}}}, "off");
    Json on = Card({{"LATENCY_SPIKE", 100, {Action("rollback", status, false)}}}, "auto");
    RemediationComparison c = CompareRemediation(off, on);
    EXPECT_FALSE(c.targets_met) << status;
    EXPECT_EQ(c.executed_unmatched, 1) << status;
    EXPECT_EQ(c.rows[0].speedup, SpeedupCheck::kNotApplicable) << status;  // no matched action
    std::string md = RenderComparisonMarkdown(c);
    EXPECT_NE(md.find("| **no** | **look-alike executed** |"), std::string::npos) << md;
  }
  Json off = Card({{"PAYMENT_OUTAGE", 231, {}}}, "off");
  Json on = Card({{"PAYMENT_OUTAGE",
                   229,
                   {Action("escalate", "ESCALATED", std::nullopt)},
                   {Action("scale_out", "VERIFIED", false)}}},
                 "auto");
  RemediationComparison c = CompareRemediation(off, on);
  EXPECT_FALSE(c.targets_met);
  EXPECT_EQ(c.executed_unmatched, 1);
  // Not executed with matched == false (never sent) is no look-alike.
  Json on2 = Card({{"PAYMENT_OUTAGE", 229, {Action("scale_out", "BLOCKED", false)}}}, "auto");
  EXPECT_TRUE(CompareRemediation(off, on2).targets_met);
}

TEST(RemediationComparisonTest, NoVerdictMissingScenariosAndABadBaselineAreReported) {
  Json off =
      Card({{"MEMORY_LEAK", 320, {Action("restart", "VERIFIED", true)}}, {"CONFIG_PUSH", 150, {}}},
           "off");
  Json on = Card({{"MEMORY_LEAK", 300, {Action("restart", "FAILED", std::nullopt)}},
                  {"KAFKA_CONSUMER_LAG", 295, {}}},
                 "auto");
  RemediationComparison c = CompareRemediation(off, on);
  EXPECT_TRUE(c.targets_met);  // an executor failure without an answer is neither (a) nor (b)
  EXPECT_EQ(c.executed_unknown, 1);
  EXPECT_EQ(c.off_pass_executed, 1);
  ASSERT_EQ(c.rows.size(), 3u);
  EXPECT_FALSE(Row(c, "KAFKA_CONSUMER_LAG").mttr_off_s);
  EXPECT_FALSE(Row(c, "CONFIG_PUSH").mttr_auto_s);
  std::string md = RenderComparisonMarkdown(c);
  EXPECT_NE(md.find("**Warning**: the off pass executed 1 action(s)"), std::string::npos) << md;
  EXPECT_NE(md.find("| CONFIG_PUSH | 150 s | — | — | — | — | — |"), std::string::npos) << md;

  // No "-0 %"; another incident's action that did not run is no note.
  Json off2 = Card({{"PAYMENT_OUTAGE", 299.2}}, "off");
  Json on2 = Card({{"PAYMENT_OUTAGE", 299.1, {}, {Action("escalate", "ESCALATED", std::nullopt)}}},
                  "auto");
  RemediationComparison c2 = CompareRemediation(off2, on2);
  std::string md2 = RenderComparisonMarkdown(c2);
  EXPECT_NE(md2.find("| 0 % |"), std::string::npos) << md2;
  EXPECT_TRUE(c2.rows[0].notes.empty());
}

}  // namespace
}  // namespace sre::eval
