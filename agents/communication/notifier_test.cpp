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
  return {AlertEmail(a, "http://d"), RcaEmail(rca, Severity::HIGH, "payment-service", AnomalyType::LATENCY_SPIKE, "http://d"),
          PlanEmail(plan, Severity::HIGH, "payment-service", AnomalyType::LATENCY_SPIKE, "http://d"),
          ResolvedEmail(resolved, Severity::HIGH, "payment-service", AnomalyType::LATENCY_SPIKE, timeline,
                        complete ? "slow queries" : "", {}, "http://d"),
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
