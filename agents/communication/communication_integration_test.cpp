// Communication against real PostgreSQL and MailDev (the SMTP capture, through its REST API):
// one incident through the five stages gives exactly five emails; replaying every message sends
// nothing new; with SMTP down the message stays uncommitted, `emails` shows the attempts, and the
// email arrives once the server is back; an email whose sender died mid-conversation is resent
// once, with the same Message-ID, and counted; a second sender holding the lock makes it wait.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "agents/communication/service.h"
#include "shared/ids.h"
#include "tests/support/test_stack.h"

namespace sre::communication {
namespace {

const std::string kSource = SRE_TEST_SOURCE_DIR;

Json MailDev() {
  std::string url = testing::Stack().maildev_url.substr(7);
  auto colon = url.find(':');
  httplib::Client c(url.substr(0, colon), std::stoi(url.substr(colon + 1)));
  auto r = c.Get("/email");
  return r ? Json::parse(r->body, nullptr, false) : Json::array();
}

std::vector<Json> MailsFor(const std::string& incident_id) {
  std::vector<Json> out;
  for (const auto& m : MailDev())
    if (m.is_object() && m.value("subject", std::string()).find(IncidentNumber(incident_id)) != std::string::npos)
      out.push_back(m);
  return out;
}

class CommunicationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::Stack().kafka_bootstrap.empty()) GTEST_SKIP() << "no native stack";
    db_ = std::make_unique<Database>(testing::Stack().database_url);
    ASSERT_TRUE(db_->Migrate().ok());
    auto templates = LoadTemplates(kSource + "/agents/communication/templates");
    ASSERT_TRUE(templates.ok());
    Routing routing;
    routing.oncall = {"oncall@example.com"};
    routing.team = {"team@example.com"};
    routing.management = {"mgmt@example.com"};
    good_.url = testing::Stack().smtp_url;
    dead_.url = "smtp://127.0.0.1:1";
    dead_.timeout = std::chrono::milliseconds(1000);
    service_ = std::make_unique<CommunicationService>(
        *db_, routing, *templates, "http://dashboard.test",
        [this](const std::string& from, const std::vector<std::string>& to, const std::string& mime) {
          return SendMail(smtp_down_ ? dead_ : good_, from, to, mime);
        },
        std::chrono::milliseconds(50));
    incident_ = NewUuid();
    ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                     tx.exec_params("INSERT INTO incidents (id, status, anomaly_type, severity, service, trigger_metric, "
                                    "detection_time, top_root_cause) VALUES ($1::uuid, 'DETECTING', 'LATENCY_SPIKE', "
                                    "'CRITICAL', 'payment-service', 'latency_p99_ms', to_timestamp(1763892000), "
                                    "'slow queries')",
                                    incident_);
                     return Status::Ok();
                   }).ok());
  }

  std::vector<InboundMessage> Lifecycle() {
    AnomalyDetected a;
    a.event_id = NewUuid();
    a.timestamp = a.detection_time = 1763892000000;
    a.incident_id = incident_;
    a.anomaly_type = AnomalyType::LATENCY_SPIKE;
    a.severity = Severity::CRITICAL;
    a.service = "payment-service";
    a.trigger_metric = "latency_p99_ms";
    a.observed_value = 2400;
    a.baseline_mean = 380;
    a.baseline_std = 22;
    a.deviation_sigma = 91.8;
    a.anomaly_score = 0.99;
    a.description = "payment-service latency_p99_ms at 2400 against 380.";
    a.evidence = {"slow query: SELECT * FROM payments <script>alert(1)</script> took 6834 ms"};
    RcaCompleted r;
    r.event_id = NewUuid();
    r.timestamp = a.timestamp + 2000;
    r.incident_id = incident_;
    r.root_cause_service = "payment-service";
    r.root_cause_category = RootCauseCategory::DATABASE_BOTTLENECK;
    r.top_root_cause = "payment-service's database is the bottleneck (slow queries)";
    r.top_confidence = 0.82;
    r.root_cause_candidates = {{1, r.top_root_cause, r.root_cause_category, "payment-service", 0.82, {"slow queries (0.9 of error lines)"}},
                               {2, "A recent code deployment regressed", RootCauseCategory::DEPLOYMENT_REGRESSION, "payment-service", 0.1, {}}};
    r.similar_incidents = {{"INC-2024-0311", "Payments p99 spike from a missing index", RootCauseCategory::DATABASE_BOTTLENECK, 9.1}};
    RemediationPlan p;
    p.event_id = NewUuid();
    p.timestamp = a.timestamp + 3000;
    p.incident_id = incident_;
    p.root_cause = r.top_root_cause;
    p.confidence = 0.82;
    p.action_steps = {{1, Priority::IMMEDIATE, "Cancel the longest-running queries (pg_cancel_backend)", "Frees connections", RiskLevel::MEDIUM, "None needed", "payments (payments-oncall@example.com)", "p99 falls"},
                      {2, Priority::WITHIN_15MIN, "Check pg_stat_statements for the new slow plan", "Confirms the cause", RiskLevel::LOW, "None (read-only)", "payments (payments-oncall@example.com)", "Query identified"},
                      {3, Priority::WITHIN_1HOUR, "Add the missing index concurrently", "Fixes the plan", RiskLevel::MEDIUM, "DROP INDEX CONCURRENTLY", "payments (payments-oncall@example.com)", "p99 at baseline"}};
    p.escalation_path = {"payments-oncall@example.com", "payments-lead@example.com"};
    p.runbook_references = {"rb-latency-spike"};
    p.estimated_resolution_time = "20-45 minutes";
    IncidentResolved s;
    s.event_id = NewUuid();
    s.timestamp = s.resolution_time = a.timestamp + 250000;
    s.detection_time = a.timestamp;
    s.incident_id = incident_;
    s.mttr_seconds = 250;
    s.resolution_method = "METRICS_RECOVERED";
    PostmortemGenerated pm;
    pm.event_id = NewUuid();
    pm.timestamp = s.timestamp + 1000;
    pm.incident_id = incident_;
    pm.mttr_seconds = 250;
    pm.postmortem_markdown = "# Postmortem " + IncidentNumber(incident_) + "\n\n## Summary\n\nSlow queries.\n\n## Action Items\n\n"
                             "| Action | Owner | Priority | Due |\n|---|---|---|---|\n| Add index | payments | HIGH | 2025-11-30 |\n";
    pm.action_items = {{"Add index", "payments", "HIGH", "2025-11-30"}};
    return {{topics::kAnomaliesDetected, 0, 0, incident_, Encode(a)}, {topics::kRcaCompleted, 0, 0, incident_, Encode(r)},
            {topics::kRemediationPlans, 0, 0, incident_, Encode(p)}, {topics::kIncidentsResolved, 0, 0, incident_, Encode(s)},
            {topics::kPostmortemsGenerated, 0, 0, incident_, Encode(pm)}};
  }

  Json EmailRow(const std::string& type) {
    Json out;
    EXPECT_TRUE(db_->Transact([&](pqxx::work& tx) {
                     auto r = tx.exec_params1("SELECT status, attempts, COALESCE(error, '') FROM emails WHERE incident_id = "
                                              "$1::uuid AND notification_type = $2", incident_, type);
                     out = {{"status", r[0].as<std::string>()}, {"attempts", r[1].as<int>()}, {"error", r[2].as<std::string>()}};
                     return Status::Ok();
                   }).ok());
    return out;
  }

  std::unique_ptr<CommunicationService> NewService() {
    auto templates = LoadTemplates(kSource + "/agents/communication/templates");
    EXPECT_TRUE(templates.ok());
    return std::make_unique<CommunicationService>(
        *db_, Routing{}, *templates, "http://dashboard.test",
        [this](const std::string& from, const std::vector<std::string>& to, const std::string& mime) {
          return SendMail(good_, from, to, mime);
        },
        std::chrono::milliseconds(50));
  }

  std::unique_ptr<Database> db_;
  std::unique_ptr<CommunicationService> service_;
  SmtpOptions good_, dead_;
  std::atomic<bool> smtp_down_{false};
  std::string incident_;
};

TEST_F(CommunicationTest, FiveStagesFiveEmailsAndReplaysSendNothingNew) {
  auto messages = Lifecycle();
  for (const auto& m : messages) ASSERT_TRUE(service_->Handle(m).ok()) << m.topic;
  ASSERT_TRUE(testing::Eventually([&] { return MailsFor(incident_).size() >= 5; }, std::chrono::seconds(20)));
  for (const auto& m : messages) ASSERT_TRUE(service_->Handle(m).ok()) << m.topic;  // a full replay
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto mails = MailsFor(incident_);
  ASSERT_EQ(mails.size(), 5u);
  std::string n = IncidentNumber(incident_);
  std::map<std::string, Json> by_prefix;
  for (const auto& m : mails) by_prefix[m["subject"].get<std::string>().substr(0, m["subject"].get<std::string>().find(' '))] = m;
  EXPECT_EQ(by_prefix["[CRITICAL]"]["subject"], "[CRITICAL] " + n + " LATENCY_SPIKE on payment-service (91.8σ)");
  EXPECT_EQ(by_prefix["[RCA]"]["subject"], "[RCA] " + n + " root cause: DATABASE_BOTTLENECK in payment-service (82% confidence)");
  EXPECT_TRUE(by_prefix.count("[PLAN]") && by_prefix.count("[RESOLVED]") && by_prefix.count("[POSTMORTEM]"));
  // CRITICAL goes to on-call, team and management; every email has a text part and escaped HTML.
  EXPECT_EQ(by_prefix["[CRITICAL]"]["to"].size(), 3u);
  for (const auto& m : mails) {
    EXPECT_FALSE(m.value("text", std::string()).empty()) << m["subject"];
    EXPECT_EQ(m.value("html", std::string()).find("<script>"), std::string::npos);
  }
  // Keep one rendering of each for the README (build tree; docs/emails holds a copy).
  std::filesystem::create_directories("emails");
  for (const auto& m : mails) {
    std::string prefix = m["subject"].get<std::string>().substr(1, m["subject"].get<std::string>().find(']') - 1);
    std::ofstream(std::string("emails/") + prefix + ".html") << m.value("html", std::string());
  }
  for (const char* type : {"INCIDENT_ALERT", "RCA_COMPLETE", "REMEDIATION_PLAN", "INCIDENT_RESOLVED", "POSTMORTEM"}) {
    Json row = EmailRow(type);
    EXPECT_EQ(row["status"], "SENT") << type;
    EXPECT_EQ(row["attempts"], 1) << type;
  }
}

TEST_F(CommunicationTest, WithSmtpDownTheEmailWaitsAndArrivesWhenItReturns) {
  auto alert = Lifecycle().front();
  smtp_down_ = true;
  Status s = service_->Handle(alert);
  EXPECT_TRUE(s.transient()) << s.ToString();
  Json failed = EmailRow("INCIDENT_ALERT");
  EXPECT_EQ(failed["status"], "FAILED");
  EXPECT_EQ(failed["attempts"], 3);
  EXPECT_FALSE(failed["error"].get<std::string>().empty());
  EXPECT_TRUE(MailsFor(incident_).empty());
  smtp_down_ = false;
  ASSERT_TRUE(service_->Handle(alert).ok());
  Json sent = EmailRow("INCIDENT_ALERT");
  EXPECT_EQ(sent["status"], "SENT");
  EXPECT_EQ(sent["attempts"], 4);
  ASSERT_TRUE(testing::Eventually([&] { return MailsFor(incident_).size() == 1; }, std::chrono::seconds(20)));
}

std::string Unbracket(std::string id) {
  if (!id.empty() && id.front() == '<') id = id.substr(1, id.size() - 2);
  return id;
}

TEST_F(CommunicationTest, AnEmailLeftSendingByADeadSenderIsResentOnceWithTheSameMessageId) {
  auto alert = Lifecycle().front();
  ASSERT_TRUE(service_->Handle(alert).ok());
  ASSERT_TRUE(testing::Eventually([&] { return MailsFor(incident_).size() == 1; }, std::chrono::seconds(20)));
  // What a sender killed after the server's "250" but before its SENT update leaves behind.
  ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                   tx.exec_params("UPDATE emails SET status = 'SENDING', sent_at = NULL WHERE incident_id = $1::uuid",
                                  incident_);
                   return Status::Ok();
                 }).ok());
  auto restarted = NewService();  // a new process: it did not send this email itself
  ASSERT_TRUE(restarted->Handle(alert).ok());
  ASSERT_TRUE(restarted->Handle(alert).ok());  // and a redelivery after that sends nothing
  ASSERT_TRUE(testing::Eventually([&] { return MailsFor(incident_).size() >= 2; }, std::chrono::seconds(20)));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto mails = MailsFor(incident_);
  ASSERT_EQ(mails.size(), 2u);
  const std::string id = MessageId(incident_, NotificationType::INCIDENT_ALERT);
  for (const auto& m : mails) EXPECT_EQ(Unbracket(m.value("messageId", std::string())), Unbracket(id));
  Json row = EmailRow("INCIDENT_ALERT");
  EXPECT_EQ(row["status"], "SENT");
  EXPECT_EQ(row["attempts"], 2);
  EXPECT_TRUE(db_->Transact([&](pqxx::work& tx) {
                   auto r = tx.exec_params1("SELECT in_doubt_resends FROM emails WHERE incident_id = $1::uuid", incident_);
                   EXPECT_EQ(r[0].as<int>(), 1);
                   return Status::Ok();
                 }).ok());
}

TEST_F(CommunicationTest, ASecondSenderWaitsWhileTheFirstHoldsTheMessageId) {
  auto alert = Lifecycle().front();
  const std::string id = MessageId(incident_, NotificationType::INCIDENT_ALERT);
  Database other(testing::Stack().database_url);  // another replica, in the middle of sending it
  ASSERT_TRUE(other.Transact([&](pqxx::work& tx) {
                     tx.exec_params("SELECT pg_advisory_lock(hashtextextended($1, 0))", id);
                     return Status::Ok();
                   }).ok());
  Status s = service_->Handle(alert);
  EXPECT_TRUE(s.transient()) << s.ToString();
  ASSERT_TRUE(other.Transact([&](pqxx::work& tx) {
                     tx.exec_params("SELECT pg_advisory_unlock(hashtextextended($1, 0))", id);
                     return Status::Ok();
                   }).ok());
  ASSERT_TRUE(service_->Handle(alert).ok());
  ASSERT_TRUE(testing::Eventually([&] { return MailsFor(incident_).size() == 1; }, std::chrono::seconds(20)));
  EXPECT_EQ(EmailRow("INCIDENT_ALERT")["status"], "SENT");
}

}  // namespace
}  // namespace sre::communication
