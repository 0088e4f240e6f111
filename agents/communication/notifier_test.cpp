#include "agents/communication/notifier.h"

#include <gtest/gtest.h>

#include "shared/ids.h"
#include "shared/links.h"
#include "shared/time_format.h"

namespace sre::communication {
namespace {

const std::string kHostile = "<script>alert('x')</script> & \"quoted\"";
const int64_t kSentMs = 1763892123000;  // wall clock of the attempt: 2 min after the event

Routing TestRouting() {
  Routing r;
  r.oncall = {"oncall@x"};
  r.team = {"team@x", "oncall@x"};
  r.management = {"mgmt@x"};
  return r;
}

TEST(RoutingTest, SeverityDecidesTheAudience) {
  struct Case {
    NotificationType type;
    Severity severity;
    std::vector<std::string> expected;
  } cases[] = {
      {NotificationType::INCIDENT_ALERT, Severity::CRITICAL, {"oncall@x", "team@x", "mgmt@x"}},
      {NotificationType::INCIDENT_ALERT, Severity::HIGH, {"oncall@x", "team@x"}},
      {NotificationType::RCA_COMPLETE, Severity::MEDIUM, {"team@x", "oncall@x"}},
      {NotificationType::REMEDIATION_PLAN, Severity::LOW, {"team@x", "oncall@x"}},
      {NotificationType::INCIDENT_RESOLVED, Severity::LOW, {"oncall@x", "team@x", "mgmt@x"}},
      {NotificationType::POSTMORTEM, Severity::MEDIUM, {"oncall@x", "team@x", "mgmt@x"}},
  };
  for (const auto& c : cases)
    EXPECT_EQ(Recipients(c.type, c.severity, TestRouting()), c.expected) << ToString(c.type) << " " << ToString(c.severity);
}

AnomalyDetected Anomaly() {
  AnomalyDetected a;
  a.event_id = NewUuid();
  a.timestamp = 1763892000000;
  a.incident_id = "3f2a9c1d-0000-4000-8000-000000000000";
  a.anomaly_type = AnomalyType::LATENCY_SPIKE;
  a.severity = Severity::HIGH;
  a.service = "payment-service";
  a.trigger_metric = "latency_p99_ms";
  a.observed_value = 2400;
  a.baseline_mean = 380;
  a.baseline_std = 20;
  a.deviation_sigma = 101;
  a.anomaly_score = 0.99;
  a.time_to_failure_s = 250;
  a.detection_time = a.timestamp;
  a.description = "p99 high " + kHostile;
  a.evidence = {kHostile};
  return a;
}

RcaCompleted Rca() {
  RcaCompleted r;
  r.incident_id = Anomaly().incident_id;
  r.root_cause_service = "payment-service";
  r.root_cause_category = RootCauseCategory::DATABASE_BOTTLENECK;
  r.top_root_cause = "slow queries " + kHostile;
  r.top_confidence = 0.823;
  r.root_cause_candidates = {{1, "slow queries", RootCauseCategory::DATABASE_BOTTLENECK, "payment-service", 0.823, {kHostile}}};
  r.similar_incidents = {{"INC-2024-0311", "Payments p99", RootCauseCategory::DATABASE_BOTTLENECK, 7.5}};
  return r;
}

TEST(SubjectTest, SubjectsCarryTheIncidentNumberAndTheRcaConfidence) {
  EXPECT_EQ(AlertEmail(Anomaly(), "http://d").subject,
            "[HIGH] INC-3F2A9C1D LATENCY_SPIKE on payment-service (latency_p99_ms 2400 ms, 101.0σ)");
  EXPECT_EQ(RcaEmail(Rca(), Severity::HIGH, "payment-service", AnomalyType::LATENCY_SPIKE, "http://d").subject,
            "[RCA] INC-3F2A9C1D root cause: DATABASE_BOTTLENECK in payment-service (82% confidence)");
  EXPECT_EQ(MessageId(Anomaly().incident_id, NotificationType::RCA_COMPLETE),
            "<3f2a9c1d-0000-4000-8000-000000000000.rca_complete@sre-pipeline>");
}

TEST(MarkdownTest, RendersStructureAndEscapesEverything) {
  std::string html = MarkdownToHtml("# Title <b>\n\nA *para* with `code` " + kHostile +
                                    "\n\n- one\n- two <img src=x>\n\n| A | B |\n|---|---|\n| <i>x</i> | y |\n");
  EXPECT_NE(html.find("<h1"), std::string::npos);
  EXPECT_NE(html.find("<em>para</em>"), std::string::npos);
  EXPECT_NE(html.find("<li"), std::string::npos);
  EXPECT_NE(html.find("<th"), std::string::npos);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<i>x</i>"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;"), std::string::npos);
}

TEST(MimeTest, ComposesMultipartAlternativeWithEncodedSubject) {
  Email e = AlertEmail(Anomaly(), "http://d");
  std::string mime = ComposeMime("from@x", {"a@x", "b@x"}, e, {"<p>html</p>", "text"}, 1763892000000);
  EXPECT_NE(mime.find("Content-Type: multipart/alternative"), std::string::npos);
  EXPECT_NE(mime.find("Content-Type: text/plain; charset=UTF-8"), std::string::npos);
  EXPECT_NE(mime.find("Content-Type: text/html; charset=UTF-8"), std::string::npos);
  EXPECT_NE(mime.find("Message-ID: <3f2a9c1d-0000-4000-8000-000000000000.incident_alert@sre-pipeline>"), std::string::npos);
  EXPECT_NE(mime.find("Subject: =?UTF-8?B?"), std::string::npos);  // σ is not ASCII
  EXPECT_NE(mime.find("To: a@x, b@x"), std::string::npos);
  EXPECT_LT(mime.find("text/plain"), mime.find("text/html"));
  // The alert starts the thread; it answers nothing.
  EXPECT_EQ(mime.find("In-Reply-To:"), std::string::npos);
  EXPECT_NE(mime.find("Thread-Topic: INC-3F2A9C1D\r\n"), std::string::npos);
}

TEST(MimeTest, LaterStagesAnswerTheAlertSoTheIncidentIsOneThread) {
  Email e = RcaEmail(Rca(), Severity::HIGH, "payment-service", AnomalyType::LATENCY_SPIKE, "http://d");
  std::string mime = ComposeMime("from@x", {"a@x"}, e, {"<p>html</p>", "text"}, 1763892000000);
  const std::string alert = "<3f2a9c1d-0000-4000-8000-000000000000.incident_alert@sre-pipeline>";
  EXPECT_NE(mime.find("Message-ID: <3f2a9c1d-0000-4000-8000-000000000000.rca_complete@sre-pipeline>\r\n"),
            std::string::npos);
  EXPECT_NE(mime.find("In-Reply-To: " + alert + "\r\n"), std::string::npos) << mime.substr(0, 600);
  EXPECT_NE(mime.find("References: " + alert + "\r\n"), std::string::npos);
  EXPECT_NE(mime.find("Thread-Topic: INC-3F2A9C1D\r\n"), std::string::npos);
}

class TemplateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = LoadTemplates(std::string(SRE_TEST_SOURCE_DIR) + "/agents/communication/templates");
    ASSERT_TRUE(t.ok()) << t.status().message();
    templates_ = *t;
  }
  Templates templates_;
};

std::vector<Email> EveryStage(bool complete) {
  RcaCompleted rca = Rca();
  RemediationPlan plan;
  plan.incident_id = rca.incident_id;
  plan.root_cause = "slow queries " + kHostile;
  plan.confidence = 0.8;
  plan.action_steps = {{1, Priority::IMMEDIATE, "cancel " + kHostile, "r", RiskLevel::MEDIUM, "rb", "payments", "fast"},
                       {2, Priority::WITHIN_1HOUR, "index", "r", RiskLevel::LOW, "drop", "payments", "ok"}};
  IncidentResolved resolved;
  resolved.incident_id = rca.incident_id;
  resolved.detection_time = 1763892000000;
  resolved.resolution_time = resolved.detection_time + 250000;
  resolved.mttr_seconds = 250;
  resolved.resolution_method = "METRICS_RECOVERED";
  PostmortemGenerated pm;
  pm.incident_id = rca.incident_id;
  pm.postmortem_markdown = "# Postmortem\n\n## Summary\n\n" + kHostile + "\n";
  pm.action_items = {{"add index " + kHostile, "payments", "HIGH", "2026-11-30"}};
  AnomalyDetected a = Anomaly();
  if (!complete) {
    a.time_to_failure_s.reset();
    a.evidence.clear();
    rca.similar_incidents.clear();
    rca.root_cause_candidates[0].evidence.clear();
    plan.escalation_path.clear();
    plan.runbook_references.clear();
    pm.action_items.clear();
  } else {
    plan.escalation_path = {"oncall@x"};
    plan.runbook_references = {"rb-latency-spike"};
  }
  std::vector<TimelineLine> timeline;
  if (complete) timeline = {{"10:00:00", "detection: anomaly " + kHostile}};
  std::vector<ActionRecord> actions;
  if (complete) {
    plan.actions = {{"aa000000-0000-4000-8000-000000000001", RemediationAction::KILL_LONG_QUERIES, "payment-service",
                     "simulator", RiskLevel::MEDIUM, false, ActionStatus::BLOCKED, "cooldown " + kHostile, 1}};
    ActionRecord failed;
    failed.id = "aa000000-0000-4000-8000-000000000001";
    failed.incident_id = rca.incident_id;
    failed.action = RemediationAction::KILL_LONG_QUERIES;
    failed.service = "payment-service";
    failed.executor = "simulator";
    failed.status = ActionStatus::FAILED;
    failed.reason = "did not work: " + kHostile;
    actions = {failed};
  }
  return {AlertEmail(a, "http://d"), RcaEmail(rca, Severity::HIGH, "payment-service", AnomalyType::LATENCY_SPIKE, "http://d"),
          PlanEmail(plan, Severity::HIGH, "payment-service", AnomalyType::LATENCY_SPIKE, "http://d"),
          ResolvedEmail(resolved, Severity::HIGH, "payment-service", AnomalyType::LATENCY_SPIKE, timeline,
                        complete ? "slow queries" : "", {}, "http://d", actions),
          PostmortemEmail(pm, Severity::HIGH, "payment-service", AnomalyType::LATENCY_SPIKE, "http://d")};
}

TEST_F(TemplateTest, EveryStageRendersWithCompleteAndMissingData) {
  for (bool complete : {true, false}) {
    for (const auto& email : EveryStage(complete)) {
      SCOPED_TRACE(std::string(ToString(email.type)) + (complete ? " complete" : " minimal"));
      auto r = Render(templates_, email, kSentMs);
      ASSERT_TRUE(r.ok()) << r.status().message();
      EXPECT_NE(r->html.find("INC-3F2A9C1D"), std::string::npos);
      EXPECT_NE(r->text.find("INC-3F2A9C1D"), std::string::npos);
      // The dashboard's address of the incident, as shared/links.h writes it (issue 15: the
      // button linked to a route the dashboard did not read).
      const std::string link = IncidentLink("http://d", Anomaly().incident_id);
      EXPECT_EQ(link, "http://d/#incident=3f2a9c1d-0000-4000-8000-000000000000");
      EXPECT_NE(r->html.find("href=\"" + link + "\""), std::string::npos);
      EXPECT_NE(r->text.find(link), std::string::npos);
      // "Sent at" is the attempt's wall-clock time, not the event time of the message.
      EXPECT_NE(r->html.find("sre-pipeline at " + FormatTime(kSentMs)), std::string::npos);
      EXPECT_NE(r->text.find("sre-pipeline at " + FormatTime(kSentMs)), std::string::npos);
      EXPECT_EQ(r->html.find("{{"), std::string::npos);
      EXPECT_EQ(r->text.find("{{"), std::string::npos);
    }
  }
}

TEST_F(TemplateTest, HostileTextArrivesAsTextInHtmlAndVerbatimInText) {
  for (const auto& email : EveryStage(true)) {
    SCOPED_TRACE(std::string(ToString(email.type)));
    auto r = Render(templates_, email, kSentMs);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->html.find("<script>"), std::string::npos);
    EXPECT_NE(r->html.find("&lt;script&gt;"), std::string::npos);
    EXPECT_NE(r->text.find("<script>alert('x')</script>"), std::string::npos);  // plain text is not HTML
  }
}

TEST_F(TemplateTest, PlanStepsAreGroupedByPriority) {
  auto r = Render(templates_, EveryStage(true)[2], kSentMs);
  ASSERT_TRUE(r.ok());
  size_t immediate = r->html.find("Immediate"), hour = r->html.find("Within 1 hour");
  ASSERT_NE(immediate, std::string::npos);
  ASSERT_NE(hour, std::string::npos);
  EXPECT_LT(immediate, hour);
  EXPECT_EQ(r->html.find("Within 15 minutes"), std::string::npos);  // no step of that priority
}

// Issue 18: the plan email lists the guarded actions and what happens to each; approving happens
// on the incident page, never through a link in the email.
TEST_F(TemplateTest, ThePlanEmailListsItsActionsWithoutAnApprovalLink) {
  RemediationPlan plan;
  plan.incident_id = Anomaly().incident_id;
  plan.root_cause = "deployment 2.4.1";
  plan.confidence = 0.9;
  plan.action_steps = {{1, Priority::IMMEDIATE, "roll back", "r", RiskLevel::LOW, "roll forward", "payments", "ok"}};
  const std::string awaiting_id = "aa000000-0000-4000-8000-000000000001";
  plan.actions = std::vector<PlannedAction>{
      {awaiting_id, RemediationAction::ROLLBACK, "payment-service", "simulator", RiskLevel::MEDIUM, true,
       ActionStatus::AWAITING_APPROVAL, "approve mode: every action waits for a person", 1},
      {"aa000000-0000-4000-8000-000000000002", RemediationAction::RESTART, "payment-service", "command", RiskLevel::LOW,
       true, ActionStatus::APPROVED, "auto: low risk, reversible, confident and corroborated", std::nullopt},
      {"aa000000-0000-4000-8000-000000000003", RemediationAction::SCALE_OUT, "payment-service", "webhook",
       RiskLevel::LOW, true, ActionStatus::APPROVED, "dry-run mode: the dry-run form runs, nothing changes",
       std::nullopt},
      {"aa000000-0000-4000-8000-000000000004", RemediationAction::KILL_LONG_QUERIES, "payment-service", "simulator",
       RiskLevel::HIGH, false, ActionStatus::BLOCKED, "circuit breaker open: 3 failed actions in a row", std::nullopt}};
  ActionRecord row;
  row.id = awaiting_id;
  row.expires_at_ms = 1763893800000;  // 2025-11-23 10:30:00 UTC
  Email e = PlanEmail(plan, Severity::HIGH, "payment-service", AnomalyType::ERROR_RATE_SPIKE, "http://d", {row});
  auto r = Render(templates_, e, kSentMs);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_NE(r->text.find("AUTOMATED ACTIONS"), std::string::npos) << r->text;
  EXPECT_NE(r->html.find("Automated actions"), std::string::npos);
  for (const std::string& body : {r->html, r->text}) {
    EXPECT_NE(body.find("rollback on payment-service via simulator"), std::string::npos) << body;
    EXPECT_NE(body.find("awaiting approval — approve or reject it on the incident page before 2025-11-23 10:30:00 UTC"),
              std::string::npos)
        << body;
    EXPECT_NE(body.find("restart on payment-service via command"), std::string::npos);
    EXPECT_NE(body.find("will run automatically"), std::string::npos);
    EXPECT_NE(body.find("scale out on payment-service via webhook"), std::string::npos);
    EXPECT_NE(body.find("dry run: the executor is asked what it would do; nothing changes"), std::string::npos);
    EXPECT_NE(body.find("blocked: circuit breaker open: 3 failed actions in a row"), std::string::npos);
    EXPECT_NE(body.find("not reversible"), std::string::npos);
    // Only the incident page's link; nothing that decides when a scanner follows it.
    EXPECT_NE(body.find(IncidentLink("http://d", plan.incident_id)), std::string::npos);
    EXPECT_EQ(body.find("/approve"), std::string::npos);
    EXPECT_EQ(body.find("/reject"), std::string::npos);
    EXPECT_EQ(body.find("/actions/"), std::string::npos);
    EXPECT_EQ(body.find(awaiting_id), std::string::npos);
  }
  EXPECT_NE(r->text.find("Approve or reject on the incident page (this email has no approval link):\n" +
                         IncidentLink("http://d", plan.incident_id)),
            std::string::npos)
      << r->text;
  EXPECT_EQ(r->text.find("\n\n\n"), std::string::npos) << r->text;
  // Without actions (a plan of an earlier version): no section, no stray blank lines.
  plan.actions.reset();
  auto bare = Render(templates_, PlanEmail(plan, Severity::HIGH, "payment-service", AnomalyType::ERROR_RATE_SPIKE,
                                           "http://d"),
                     kSentMs);
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->text.find("AUTOMATED ACTIONS"), std::string::npos);
  EXPECT_EQ(bare->html.find("Automated actions"), std::string::npos);
  EXPECT_EQ(bare->text.find("\n\n\n"), std::string::npos) << bare->text;
}

TEST(PlannedActionStatusTest, EveryStatusReads) {
  PlannedAction a;
  a.reason = "why";
  const std::vector<std::pair<ActionStatus, std::string>> cases = {
      {ActionStatus::AWAITING_APPROVAL, "awaiting approval — approve or reject it on the incident page"},
      {ActionStatus::APPROVED, "will run automatically"},
      {ActionStatus::EXECUTING, "running"},
      {ActionStatus::EXECUTED, "executed; being verified"},
      {ActionStatus::VERIFIED, "executed and verified"},
      {ActionStatus::FAILED, "failed: why"},
      {ActionStatus::DRY_RUN, "dry run: nothing changes"},
      {ActionStatus::BLOCKED, "blocked: why"},
      {ActionStatus::REJECTED, "rejected: why"},
      {ActionStatus::ESCALATED, "escalated: a person must act: why"}};
  for (const auto& [status, want] : cases) {
    a.status = status;
    EXPECT_EQ(PlannedActionStatus(a), want) << ToString(status);
  }
  // A dry run is APPROVED with the dry-run mode (from its row).
  a.status = ActionStatus::APPROVED;
  ActionRecord row;
  row.mode = "dry-run";
  EXPECT_EQ(PlannedActionStatus(a, &row), "dry run: the executor is asked what it would do; nothing changes");
}

// Issue 18: the resolution email says what the automated actions did.
TEST_F(TemplateTest, TheResolvedEmailSaysWhatTheAutomatedActionsDid) {
  IncidentResolved resolved;
  resolved.incident_id = Anomaly().incident_id;
  resolved.detection_time = 1763892000000;
  resolved.resolution_time = resolved.detection_time + 250000;
  resolved.mttr_seconds = 250;
  resolved.resolution_method = "METRICS_RECOVERED";
  auto action = [&](RemediationAction what, ActionStatus status, const std::string& reason) {
    ActionRecord a;
    a.id = NewUuid();
    a.incident_id = resolved.incident_id;
    a.action = what;
    a.service = "payment-service";
    a.executor = "simulator";
    a.status = status;
    a.reason = reason;
    a.params = Json{{"team", "payments"}};
    return a;
  };
  auto failed = action(RemediationAction::ROLLBACK, ActionStatus::FAILED,
                       "did not work: error_rate still 12%; undone (roll forward to the version it replaced: HTTP 200)");
  auto verified = action(RemediationAction::KILL_LONG_QUERIES, ActionStatus::VERIFIED, "verified: p99 back to 400 ms");
  verified.decided_by = "alice";
  auto escalated = action(RemediationAction::RESTART, ActionStatus::ESCALATED, "approval expired after 30 min");
  Email e = ResolvedEmail(resolved, Severity::HIGH, "payment-service", AnomalyType::ERROR_RATE_SPIKE, {}, "", {},
                          "http://d", {failed, verified, escalated});
  auto r = Render(templates_, e, kSentMs);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_NE(r->text.find("AUTOMATED ACTIONS"), std::string::npos) << r->text;
  EXPECT_NE(r->html.find("Automated actions"), std::string::npos);
  for (const std::string& body : {r->html, r->text}) {
    EXPECT_NE(body.find("3 automated actions: 1 ran and verified, 1 failed, 1 escalated."), std::string::npos) << body;
    EXPECT_NE(body.find("The automated rollback on payment-service did not help: it was undone and escalated to "
                        "payments."),
              std::string::npos)
        << body;
    EXPECT_NE(body.find("The automated restart on payment-service was escalated to payments instead."),
              std::string::npos);
    EXPECT_NE(body.find("kill long queries on payment-service via simulator"), std::string::npos);
    EXPECT_NE(body.find("ran and was verified: the metric recovered"), std::string::npos);
    EXPECT_NE(body.find("decided by alice"), std::string::npos);
    EXPECT_NE(body.find("did not work: error_rate still 12%"), std::string::npos);
  }
  EXPECT_EQ(r->text.find("\n\n\n"), std::string::npos) << r->text;
  // No action: no section.
  auto none = Render(templates_, EveryStage(false)[3], kSentMs);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->text.find("AUTOMATED ACTIONS"), std::string::npos);
  EXPECT_EQ(none->html.find("Automated actions"), std::string::npos);
}

TEST(LinkTest, IncidentLinkHasOneSlashWhateverTheDashboardUrl) {
  EXPECT_EQ(IncidentLink("http://d", "x"), "http://d/#incident=x");
  EXPECT_EQ(IncidentLink("http://d/", "x"), "http://d/#incident=x");
  EXPECT_EQ(IncidentLink("https://sre.example.com/ops//", "x"), "https://sre.example.com/ops/#incident=x");
}

TEST(MimeTest, TheDateHeaderIsTheGivenWallClockTime) {
  std::string mime = ComposeMime("from@x", {"a@x"}, AlertEmail(Anomaly(), "http://d"), {"h", "t"}, kSentMs);
  EXPECT_NE(mime.find("Date: Sun, 23 Nov 2025 10:02:03 +0000"), std::string::npos) << mime.substr(0, 400);
}

// Issue 15: a log-pattern alert said "(0.0σ)" and "baseline 0.00 ± 0.00"; metric figures had no unit.
TEST_F(TemplateTest, ALogPatternAlertShowsThePatternAndLineCountNotSigmas) {
  AnomalyDetected a = Anomaly();
  a.anomaly_type = AnomalyType::DEPENDENCY_OUTAGE;
  a.trigger_metric = "log:connection_refused";
  a.observed_value = 3;
  a.baseline_mean = a.baseline_std = a.deviation_sigma = 0;
  a.time_to_failure_s.reset();
  a.unit = "lines";
  Email e = AlertEmail(a, "http://d");
  EXPECT_EQ(e.subject, "[HIGH] INC-3F2A9C1D DEPENDENCY_OUTAGE on payment-service (3 lines matching connection_refused)");
  auto r = Render(templates_, e, kSentMs);
  ASSERT_TRUE(r.ok()) << r.status().message();
  for (const std::string& body : {r->html, r->text}) {
    EXPECT_EQ(body.find("0.0 &sigma;"), std::string::npos);
    EXPECT_EQ(body.find("0.0 sigma"), std::string::npos);
    EXPECT_EQ(body.find("Baseline"), std::string::npos);
    EXPECT_NE(body.find("connection_refused"), std::string::npos);
    EXPECT_NE(body.find("3 lines"), std::string::npos);
  }
}

TEST_F(TemplateTest, AMetricAlertCarriesUnitsAndLabelsTheEventClock) {
  AnomalyDetected a = Anomaly();
  a.trigger_metric = "error_rate";
  a.observed_value = 16.4;
  a.baseline_mean = 0.514;
  a.baseline_std = 0.12;
  a.unit = "percent";
  auto r = Render(templates_, AlertEmail(a, "http://d"), kSentMs);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->text.find("Observed value:    16.4%"), std::string::npos) << r->text;
  EXPECT_NE(r->text.find("Baseline:          0.514% +/- 0.12%"), std::string::npos) << r->text;
  EXPECT_NE(r->text.find(FormatTime(a.detection_time) + " (event time"), std::string::npos) << r->text;
  // Without a unit in the payload (an older producer), the metric's name gives it.
  a.unit.reset();
  EXPECT_NE(AlertEmail(a, "http://d").subject.find("error_rate 16.4%"), std::string::npos);
}

// Issue 15: a cascade read as three separate stories.
TEST_F(TemplateTest, TheOriginsResolvedEmailTellsTheWholeCascade) {
  IncidentResolved resolved;
  resolved.incident_id = Anomaly().incident_id;
  resolved.detection_time = 1763892000000;
  resolved.resolution_time = resolved.detection_time + 250000;
  resolved.mttr_seconds = 250;
  resolved.resolution_method = "METRICS_RECOVERED";
  std::vector<postmortem::CascadeMember> cascade = {
      {resolved.incident_id, "payment-service", "RESOLVED", AnomalyType::ERROR_RATE_SPIKE, 1763892000000, true},
      {"aa11bb22-0000-4000-8000-000000000000", "order-service", "MITIGATING", AnomalyType::ERROR_RATE_SPIKE,
       1763892030000, false},
      {"cc33dd44-0000-4000-8000-000000000000", "api-gateway", "RESOLVED", AnomalyType::LATENCY_SPIKE, 1763892040000,
       false}};
  Email e = ResolvedEmail(resolved, Severity::CRITICAL, "payment-service", AnomalyType::ERROR_RATE_SPIKE, {}, "",
                          cascade, "http://d");
  auto r = Render(templates_, e, kSentMs);
  ASSERT_TRUE(r.ok()) << r.status().message();
  for (const std::string& body : {r->html, r->text}) {
    EXPECT_NE(body.find("payment-service, order-service, api-gateway"), std::string::npos);
    EXPECT_NE(body.find("cascaded to 2 linked incident(s)"), std::string::npos);
    EXPECT_NE(body.find("INC-AA11BB22"), std::string::npos);
    EXPECT_NE(body.find("MITIGATING"), std::string::npos);
    EXPECT_NE(body.find(IncidentLink("http://d", "cc33dd44-0000-4000-8000-000000000000")), std::string::npos);
  }
  // A linked incident's email names the origin.
  resolved.incident_id = cascade[1].id;
  Email linked = ResolvedEmail(resolved, Severity::HIGH, "order-service", AnomalyType::ERROR_RATE_SPIKE, {}, "",
                               cascade, "http://d");
  auto r2 = Render(templates_, linked, kSentMs);
  ASSERT_TRUE(r2.ok());
  EXPECT_NE(r2->text.find("part of a cascade that started with INC-3F2A9C1D on payment-service"), std::string::npos)
      << r2->text;
  // Alone: no cascade section.
  auto r3 = Render(templates_, EveryStage(true)[3], kSentMs);
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(r3->text.find("CASCADE"), std::string::npos);
}

}  // namespace
}  // namespace sre::communication
