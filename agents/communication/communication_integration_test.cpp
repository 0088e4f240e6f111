// Communication against real PostgreSQL and MailDev (the SMTP capture, through its REST API):
// one incident through the five stages gives exactly five emails; replaying every message sends
// nothing new; with SMTP down the message stays uncommitted, `emails` shows the attempts (not
// FAILED), and the email arrives once the server is back; an email whose sender died
// mid-conversation is resent once, with the same Message-ID, and counted; a second sender holding
// the lock makes it wait. SMTP servers started by the tests: a MailDev refusing our password holds
// the email (Transient, PENDING, counted as `auth`) until a MailDev on the same port accepts it,
// then it arrives exactly once; a server built on smtp-server (test_smtp_server.js) that refuses
// one recipient delivers to the others and the row names the refused one; one refusing every
// recipient, or the message itself, makes the email FAILED and committed.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agents/communication/service.h"
#include "shared/ids.h"
#include "shared/metrics.h"
#include "shared/remediation_actions.h"
#include "tests/support/process.h"
#include "tests/support/test_stack.h"

namespace sre::communication {
namespace {

const std::string kSource = SRE_TEST_SOURCE_DIR;

const std::string kNodeModules = kSource + "/.tools/maildev/node_modules";

// The emails a MailDev holds (its REST API); null when it does not answer.
Json MailDev(const std::string& maildev_url = testing::Stack().maildev_url) {
  std::string url = maildev_url.substr(7);
  auto colon = url.find(':');
  httplib::Client c(url.substr(0, colon), std::stoi(url.substr(colon + 1)));
  auto r = c.Get("/email");
  return r && r->status == 200 ? Json::parse(r->body, nullptr, false) : Json();
}

std::vector<Json> MailsFor(const std::string& incident_id, const std::string& maildev_url = testing::Stack().maildev_url) {
  std::vector<Json> out;
  Json mails = MailDev(maildev_url);
  if (!mails.is_array()) return out;
  for (const auto& m : mails)
    if (m.is_object() && m.value("subject", std::string()).find(IncidentNumber(incident_id)) != std::string::npos)
      out.push_back(m);
  return out;
}

bool Accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

std::string OnPath(const std::string& name) {
  std::stringstream path(std::getenv("PATH") ? std::getenv("PATH") : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(path, dir, ':'))
    if (!dir.empty() && access((dir + "/" + name).c_str(), X_OK) == 0) return dir + "/" + name;
  return "";
}

double CounterValue(const std::string& name, const MetricLabels& labels) {
  return Metrics().GetCounter(name, "", labels).Value();
}

double SmtpFailures(const std::string& reason) { return CounterValue("sre_smtp_failures_total", {{"reason", reason}}); }

double Emails(const std::string& outcome) {
  return CounterValue("sre_emails_total", {{"type", "INCIDENT_ALERT"}, {"outcome", outcome}});
}

std::vector<Json> JsonLines(const std::string& path) {
  std::vector<Json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(Json::parse(line));
  return out;
}

// test_smtp_server.js on `port` (see there for `args`); stopped, and its record removed, when
// destroyed.
struct TestSmtpServer {
  TestSmtpServer(int port, const std::vector<std::string>& args) {
    std::string node = OnPath("node");
    EXPECT_FALSE(node.empty()) << "node is not on PATH";
    std::string base = std::filesystem::absolute(testing::Unique("smtp-server")).string();
    received = base + ".jsonl";
    std::vector<std::string> argv{kSource + "/agents/communication/test_smtp_server.js", "--port", std::to_string(port),
                                  "--out", received};
    argv.insert(argv.end(), args.begin(), args.end());
    process = std::make_unique<testing::Process>(
        "smtp-server", node, argv, std::map<std::string, std::string>{{"NODE_PATH", kNodeModules}}, base + ".log");
    process->Start();
    EXPECT_TRUE(testing::Eventually([&] { return Accepts(port); })) << "smtp server did not start; see " << base + ".log";
  }
  ~TestSmtpServer() {
    process->Stop();
    std::filesystem::remove(received);
    if (!::testing::Test::HasFailure()) std::filesystem::remove(process->log_path());  // kept to explain a failure
  }
  std::unique_ptr<testing::Process> process;
  std::string received;  // one JSON line per accepted message
};

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
                     auto r = tx.exec_params1("SELECT status, attempts, COALESCE(error, ''), rejected_recipients::text "
                                              "FROM emails WHERE incident_id = $1::uuid AND notification_type = $2",
                                              incident_, type);
                     out = {{"status", r[0].as<std::string>()}, {"attempts", r[1].as<int>()},
                            {"error", r[2].as<std::string>()}, {"rejected", Json::parse(r[3].as<std::string>())}};
                     return Status::Ok();
                   }).ok());
    return out;
  }

  std::unique_ptr<CommunicationService> NewService() { return NewService(good_); }
  std::unique_ptr<CommunicationService> NewService(const SmtpOptions& smtp, Routing routing = {}) {
    auto templates = LoadTemplates(kSource + "/agents/communication/templates");
    EXPECT_TRUE(templates.ok());
    return std::make_unique<CommunicationService>(
        *db_, routing, *templates, "http://dashboard.test",
        [smtp](const std::string& from, const std::vector<std::string>& to, const std::string& mime) {
          return SendMail(smtp, from, to, mime);
        },
        std::chrono::milliseconds(50));
  }

  // A MailDev of the test's own on `smtp_port` that wants the given login.
  std::unique_ptr<testing::Process> StartMailDev(int smtp_port, int web_port, const std::string& user,
                                                 const std::string& pass) {
    std::string dir = std::filesystem::absolute(testing::Unique("maildev")).string();
    std::filesystem::create_directories(dir);
    dirs_.push_back(dir);
    auto p = std::make_unique<testing::Process>(
        "maildev", kNodeModules + "/.bin/maildev",
        std::vector<std::string>{"--smtp", std::to_string(smtp_port), "--web", std::to_string(web_port), "--ip",
                                 "127.0.0.1", "--web-ip", "127.0.0.1", "--mail-directory", dir, "--incoming-user", user,
                                 "--incoming-pass", pass},
        std::map<std::string, std::string>{}, dir + ".log");
    p->Start();
    std::string url = "http://127.0.0.1:" + std::to_string(web_port);
    EXPECT_TRUE(testing::Eventually([&] { return MailDev(url).is_array() && Accepts(smtp_port); }))
        << "maildev did not start; see " << p->log_path();
    return p;
  }

  void TearDown() override {
    for (const auto& d : dirs_) {
      std::filesystem::remove_all(d);
      if (!HasFailure()) std::filesystem::remove(d + ".log");  // kept to explain a failure
    }
  }

  std::unique_ptr<Database> db_;
  std::unique_ptr<CommunicationService> service_;
  SmtpOptions good_, dead_;
  std::atomic<bool> smtp_down_{false};
  std::string incident_;
  std::vector<std::string> dirs_;  // MailDev directories, removed at the end
};

Routing ThreeRecipients() {
  Routing r;
  r.oncall = {"oncall@example.com"};
  r.team = {"team@example.com"};
  r.management = {"mgmt@example.com"};
  return r;
}

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
  EXPECT_EQ(by_prefix["[CRITICAL]"]["subject"],
            "[CRITICAL] " + n + " LATENCY_SPIKE on payment-service (latency_p99_ms 2400 ms, 91.8σ)");
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

// Issue 18: the plan email lists the plan's actions (their deadline from the table); the
// resolution email reads what became of them from the table.
TEST_F(CommunicationTest, PlanAndResolvedEmailsTellWhatTheAutomatedActionsDid) {
  auto messages = Lifecycle();
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  ActionRecord awaiting, failed;
  awaiting.id = NewUuid();
  awaiting.incident_id = incident_;
  awaiting.ordinal = 1;
  awaiting.action = RemediationAction::KILL_LONG_QUERIES;
  awaiting.service = "payment-service";
  awaiting.executor = "simulator";
  awaiting.risk = RiskLevel::MEDIUM;
  awaiting.status = ActionStatus::AWAITING_APPROVAL;
  awaiting.mode = "approve";
  awaiting.reason = "approve mode: every action waits for a person";
  awaiting.expires_at_ms = 1763893800000;  // 2025-11-23 10:30:00 UTC
  awaiting.proposed_time_ms = 1763892003000;
  failed = awaiting;
  failed.id = NewUuid();
  failed.ordinal = 2;
  failed.action = RemediationAction::ROLLBACK;
  failed.reversible = true;
  failed.status = ActionStatus::APPROVED;
  failed.params = Json{{"team", "payments"}};
  ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                   EXPECT_TRUE(InsertAction(tx, awaiting));
                   EXPECT_TRUE(InsertAction(tx, failed));
                   return Status::Ok();
                 }).ok());
  RemediationPlan plan = *Decode<RemediationPlan>(messages[2].payload);
  plan.actions = std::vector<PlannedAction>{
      {awaiting.id, awaiting.action, awaiting.service, awaiting.executor, awaiting.risk, awaiting.reversible,
       awaiting.status, awaiting.reason, 1},
      {failed.id, failed.action, failed.service, failed.executor, failed.risk, failed.reversible, failed.status,
       "auto: low risk, reversible, confident and corroborated", std::nullopt}};
  messages[2].payload = Encode(plan);
  ASSERT_TRUE(service_->Handle(messages[2]).ok());
  // Meanwhile: the first is approved by a person, the second ran, did not help and was undone.
  ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                   ActionUpdate by_alice;
                   by_alice.decided_by = "alice";
                   by_alice.decided_now = true;
                   EXPECT_TRUE(MoveAction(tx, awaiting.id, {ActionStatus::AWAITING_APPROVAL}, ActionStatus::VERIFIED,
                                          "verified: p99 back to 410 ms", by_alice));
                   ActionUpdate ran;
                   ran.executed_now = true;
                   ran.executed_time_ms = now;
                   EXPECT_TRUE(MoveAction(tx, failed.id, {ActionStatus::APPROVED}, ActionStatus::FAILED,
                                          "did not work: p99 still 2300 ms; undone (roll forward to the version it "
                                          "replaced: HTTP 200)",
                                          ran));
                   return Status::Ok();
                 }).ok());
  ASSERT_TRUE(service_->Handle(messages[3]).ok());
  auto body = [&](const char* type) {
    std::string text;
    EXPECT_TRUE(db_->Transact([&](pqxx::work& tx) {
                     text = tx.exec_params1("SELECT body_text FROM emails WHERE incident_id = $1::uuid AND "
                                            "notification_type = $2",
                                            incident_, type)[0]
                                .as<std::string>();
                     return Status::Ok();
                   }).ok());
    return text;
  };
  const std::string plan_text = body("REMEDIATION_PLAN");
  EXPECT_NE(plan_text.find("kill long queries on payment-service via simulator (risk MEDIUM, not reversible)\n"
                           "    awaiting approval — approve or reject it on the incident page before "
                           "2025-11-23 10:30:00 UTC (wall clock), or it is escalated"),
            std::string::npos)
      << plan_text;
  EXPECT_NE(plan_text.find("rollback on payment-service via simulator (risk MEDIUM, reversible)\n"
                           "    will run automatically"),
            std::string::npos)
      << plan_text;
  EXPECT_EQ(plan_text.find("/approve"), std::string::npos);
  const std::string resolved = body("INCIDENT_RESOLVED");
  EXPECT_NE(resolved.find("2 automated actions: 1 ran and verified, 1 failed. The automated rollback on "
                          "payment-service did not help: it was undone and escalated to payments."),
            std::string::npos)
      << resolved;
  EXPECT_NE(resolved.find("kill long queries on payment-service via simulator: ran and was verified"), std::string::npos)
      << resolved;
  EXPECT_NE(resolved.find("decided by alice"), std::string::npos) << resolved;
}

TEST_F(CommunicationTest, WithSmtpDownTheEmailWaitsAndArrivesWhenItReturns) {
  auto alert = Lifecycle().front();
  smtp_down_ = true;
  const double connect_failures = SmtpFailures("connect");
  Status s = service_->Handle(alert);
  EXPECT_TRUE(s.transient()) << s.ToString();
  Json held = EmailRow("INCIDENT_ALERT");
  EXPECT_EQ(held["status"], "PENDING");  // not FAILED: nothing is given up while the server is down
  EXPECT_EQ(held["attempts"], 3);        // a blip is retried in Handle
  EXPECT_NE(held["error"].get<std::string>().find("127.0.0.1:1"), std::string::npos) << held;
  EXPECT_EQ(SmtpFailures("connect") - connect_failures, 3);
  EXPECT_TRUE(MailsFor(incident_).empty());
  smtp_down_ = false;
  ASSERT_TRUE(service_->Handle(alert).ok());
  Json sent = EmailRow("INCIDENT_ALERT");
  EXPECT_EQ(sent["status"], "SENT");
  EXPECT_EQ(sent["attempts"], 4);
  ASSERT_TRUE(testing::Eventually([&] { return MailsFor(incident_).size() == 1; }, std::chrono::seconds(20)));
}

// /healthz of sre-communication: the probe answers for a live server, and names a dead one
// (redacted) without sending anything.
TEST_F(CommunicationTest, TheSmtpProbeTellsALiveServerFromADeadOne) {
  EXPECT_EQ(SmtpProbe(good_, std::chrono::milliseconds(2000)), "");
  SmtpOptions secret = dead_;
  secret.url = "smtp://user:hunter2@127.0.0.1:1";
  std::string problem = SmtpProbe(secret, std::chrono::milliseconds(1000));
  EXPECT_NE(problem.find("127.0.0.1:1"), std::string::npos) << problem;
  EXPECT_EQ(problem.find("hunter2"), std::string::npos) << problem;
  EXPECT_TRUE(MailsFor(incident_).empty());
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

TEST_F(CommunicationTest, RefusedCredentialsHoldTheEmailUntilTheServerAcceptsThem) {
  auto alert = Lifecycle().front();
  const int smtp_port = testing::FreePort(), web_port = testing::FreePort();
  const std::string web = "http://127.0.0.1:" + std::to_string(web_port);
  SmtpOptions smtp;
  smtp.url = "smtp://127.0.0.1:" + std::to_string(smtp_port);
  smtp.username = "sre";
  smtp.password = Secret("s3cret-in-config");
  auto service = NewService(smtp, ThreeRecipients());

  auto maildev = StartMailDev(smtp_port, web_port, "sre", "the-new-password");  // rotated, config not yet
  const double auth = SmtpFailures("auth"), failed = Emails("failed");
  for (int round = 1; round <= 2; ++round) {
    Status s = service->Handle(alert);
    EXPECT_TRUE(s.transient()) << s.ToString();
    EXPECT_NE(s.message().find("535"), std::string::npos) << s.message();
    EXPECT_EQ(s.message().find("s3cret"), std::string::npos);
    Json row = EmailRow("INCIDENT_ALERT");
    EXPECT_EQ(row["status"], "PENDING") << row;
    EXPECT_EQ(row["attempts"], round);  // a refused login is not retried inside Handle
    EXPECT_NE(row["error"].get<std::string>().find("535"), std::string::npos) << row;
    EXPECT_EQ(SmtpFailures("auth") - auth, round);
  }
  EXPECT_EQ(Emails("failed"), failed);
  EXPECT_TRUE(MailsFor(incident_, web).empty());

  maildev->Stop();
  maildev = StartMailDev(smtp_port, web_port, "sre", "s3cret-in-config");  // the same port, credentials fixed
  ASSERT_TRUE(service->Handle(alert).ok());
  ASSERT_TRUE(service->Handle(alert).ok());  // a redelivery sends nothing
  Json row = EmailRow("INCIDENT_ALERT");
  EXPECT_EQ(row["status"], "SENT");
  EXPECT_EQ(row["attempts"], 3);
  EXPECT_EQ(row["error"], "");
  EXPECT_EQ(SmtpFailures("auth") - auth, 2);
  ASSERT_TRUE(testing::Eventually([&] { return MailsFor(incident_, web).size() >= 1; }, std::chrono::seconds(20)));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto mails = MailsFor(incident_, web);
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(mails[0]["to"].size(), 3u);
}

TEST_F(CommunicationTest, ARefusedRecipientMissesTheEmailAndTheOthersGetIt) {
  auto alert = Lifecycle().front();
  const int port = testing::FreePort();
  TestSmtpServer server(port, {"--refuse", "team@example.com=550"});
  SmtpOptions smtp;
  smtp.url = "smtp://127.0.0.1:" + std::to_string(port);
  auto service = NewService(smtp, ThreeRecipients());
  const double rejected = Emails("recipient_rejected"), sent = Emails("sent");

  ASSERT_TRUE(service->Handle(alert).ok());
  ASSERT_TRUE(service->Handle(alert).ok());  // a redelivery sends nothing
  Json row = EmailRow("INCIDENT_ALERT");
  EXPECT_EQ(row["status"], "SENT");
  EXPECT_EQ(row["attempts"], 1);
  ASSERT_EQ(row["rejected"].size(), 1u) << row;
  EXPECT_EQ(row["rejected"][0]["recipient"], "team@example.com");
  EXPECT_EQ(row["rejected"][0]["code"], 550);
  EXPECT_NE(row["rejected"][0]["reply"].get<std::string>().find("Mailbox unavailable"), std::string::npos) << row;
  EXPECT_EQ(Emails("recipient_rejected") - rejected, 1);
  EXPECT_EQ(Emails("sent") - sent, 1);

  std::vector<Json> messages;
  ASSERT_TRUE(testing::Eventually([&] { return !(messages = JsonLines(server.received)).empty(); }, std::chrono::seconds(10)));
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0]["to"], Json({"oncall@example.com", "mgmt@example.com"}));
  EXPECT_EQ(messages[0]["message_id"], MessageId(incident_, NotificationType::INCIDENT_ALERT));
  bool event = false;
  ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                   auto r = tx.exec_params("SELECT payload::text FROM agent_events WHERE incident_id = $1::uuid AND "
                                           "event_type = 'EMAIL_SENT'", incident_);
                   for (const auto& e : r)
                     event = Json::parse(e[0].as<std::string>())["rejected_recipients"][0]["recipient"] == "team@example.com";
                   return Status::Ok();
                 }).ok());
  EXPECT_TRUE(event);
}

TEST_F(CommunicationTest, EveryRecipientRefusedFailsTheEmailAndCommits) {
  auto alert = Lifecycle().front();
  const int port = testing::FreePort();
  TestSmtpServer server(port, {"--refuse", "oncall@example.com=550", "--refuse", "team@example.com=553",
                                           "--refuse", "mgmt@example.com=550"});
  SmtpOptions smtp;
  smtp.url = "smtp://127.0.0.1:" + std::to_string(port);
  auto service = NewService(smtp, ThreeRecipients());
  const double failed = Emails("failed"), rejected = SmtpFailures("rejected");
  ASSERT_TRUE(service->Handle(alert).ok());  // retrying cannot help: committed
  Json row = EmailRow("INCIDENT_ALERT");
  EXPECT_EQ(row["status"], "FAILED");
  EXPECT_EQ(row["attempts"], 1);
  EXPECT_NE(row["error"].get<std::string>().find("every recipient refused"), std::string::npos) << row;
  EXPECT_EQ(row["rejected"].size(), 3u) << row;
  EXPECT_EQ(Emails("failed") - failed, 1);
  EXPECT_EQ(SmtpFailures("rejected") - rejected, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(JsonLines(server.received).empty());
}

TEST_F(CommunicationTest, AMessageRefusedForGoodFailsTheEmailAndCommits) {
  auto alert = Lifecycle().front();
  const int port = testing::FreePort();
  TestSmtpServer server(port, {"--reject-data", "552"});
  SmtpOptions smtp;
  smtp.url = "smtp://127.0.0.1:" + std::to_string(port);
  auto service = NewService(smtp, ThreeRecipients());
  const double rejected = SmtpFailures("rejected");
  ASSERT_TRUE(service->Handle(alert).ok());
  Json row = EmailRow("INCIDENT_ALERT");
  EXPECT_EQ(row["status"], "FAILED");
  EXPECT_EQ(row["attempts"], 1);
  EXPECT_NE(row["error"].get<std::string>().find("552"), std::string::npos) << row;
  EXPECT_TRUE(row["rejected"].empty()) << row;
  EXPECT_EQ(SmtpFailures("rejected") - rejected, 1);
}

TEST_F(CommunicationTest, AServerSilentAfterTheWholeMessageMakesTheRetryAnInDoubtResend) {
  auto alert = Lifecycle().front();
  const int port = testing::FreePort();
  SmtpOptions smtp;
  smtp.url = "smtp://127.0.0.1:" + std::to_string(port);
  smtp.timeout = std::chrono::milliseconds(1500);
  auto service = NewService(smtp, ThreeRecipients());
  const double timeouts = SmtpFailures("timeout"), resent = Emails("resent_in_doubt");
  {
    TestSmtpServer silent(port, {"--hang-data"});
    const auto start = std::chrono::steady_clock::now();
    Status s = service->Handle(alert);
    EXPECT_TRUE(s.transient()) << s.ToString();
    // Bounded by SMTP_TIMEOUT_MS (libcurl's own wait for the verdict is 120 s).
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
    Json row = EmailRow("INCIDENT_ALERT");
    EXPECT_EQ(row["status"], "SENDING") << row;  // the server may have kept it
    EXPECT_EQ(row["attempts"], 1);               // not retried in Handle
    EXPECT_EQ(SmtpFailures("timeout") - timeouts, 1);
  }
  TestSmtpServer server(port, {});
  ASSERT_TRUE(service->Handle(alert).ok());
  Json row = EmailRow("INCIDENT_ALERT");
  EXPECT_EQ(row["status"], "SENT");
  EXPECT_EQ(row["attempts"], 2);
  EXPECT_EQ(Emails("resent_in_doubt") - resent, 1);
  ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                   auto r = tx.exec_params1("SELECT in_doubt_resends FROM emails WHERE incident_id = $1::uuid", incident_);
                   EXPECT_EQ(r[0].as<int>(), 1);
                   return Status::Ok();
                 }).ok());
  std::vector<Json> messages;
  ASSERT_TRUE(testing::Eventually([&] { return !(messages = JsonLines(server.received)).empty(); }, std::chrono::seconds(10)));
  EXPECT_EQ(messages.size(), 1u);
}

// What libcurl really reports for TLS and timeouts, against real listeners, lands in the right reason.
TEST(SmtpFailureTest, TlsAndTimeoutFailuresAreTransientWithTheirReason) {
  const int port = testing::FreePort();
  TestSmtpServer plain(port, {});  // plain SMTP, no STARTTLS offered
  SmtpOptions starttls;
  starttls.url = "smtp://127.0.0.1:" + std::to_string(port);
  starttls.starttls = true;
  SmtpOutcome o = SendMail(starttls, "sre@example.com", {"a@example.com"}, "Subject: x\r\n\r\nx\r\n");
  EXPECT_EQ(o.kind, SmtpOutcome::Kind::kTransient) << o.error;
  EXPECT_EQ(ToString(o.reason), "tls") << o.error;
  SmtpOptions implicit_tls;
  implicit_tls.url = "smtps://127.0.0.1:" + std::to_string(port);
  o = SendMail(implicit_tls, "sre@example.com", {"a@example.com"}, "Subject: x\r\n\r\nx\r\n");
  EXPECT_EQ(o.kind, SmtpOutcome::Kind::kTransient) << o.error;
  EXPECT_EQ(ToString(o.reason), "tls") << o.error;
  EXPECT_TRUE(JsonLines(plain.received).empty());

  // A server that accepts the connection and never speaks.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  SmtpOptions silent;
  silent.url = "smtp://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  silent.timeout = std::chrono::milliseconds(500);
  o = SendMail(silent, "sre@example.com", {"a@example.com"}, "Subject: x\r\n\r\nx\r\n");
  close(fd);
  EXPECT_EQ(o.kind, SmtpOutcome::Kind::kTransient) << o.error;
  EXPECT_EQ(ToString(o.reason), "timeout") << o.error;
  EXPECT_FALSE(o.in_doubt);
}

}  // namespace
}  // namespace sre::communication
