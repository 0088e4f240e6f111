// Issue 14, end to end: every confirmed way one input or one dependency used to stop the pipeline,
// with the exact input, against the real executables. The whole pipeline runs (with sre-api) on
// the e2e stack, with an LLM double that answers every call 502 with a non-UTF-8 body, and with
// a MailDev of the test's own that refuses the agents' SMTP login (535) until it is restarted
// with the credentials the agents have. Each test asserts that every process stays up and that
// its input was dead-lettered with a reason or cleaned; the last ones that every consumer group's
// lag returns to 0 and that a scenario injected afterwards still completes with five emails.
// The tests of this suite run in order and share one pipeline.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "shared/ids.h"
#include "shared/kafka.h"
#include "shared/messages.h"
#include "shared/postgres.h"
#include "shared/redis.h"
#include "shared/redis_keys.h"
#include "tests/support/fake_llm_server.h"
#include "tests/support/pipeline_harness.h"
#include "tests/support/process.h"
#include "tests/support/test_kafka.h"
#include "tests/support/test_stack.h"

namespace sre {
namespace {

using namespace std::chrono_literals;
using testing::Eventually;
using testing::Stack;

const std::string kFffd = "\xEF\xBF\xBD";
const std::string kSmtpUser = "sre-alerts";
const std::string kConfiguredPassword = "password-in-config";
const std::string kRotatedPassword = "password-rotated-on-the-server";

// Services that are not in the catalogue: what the poison inputs raise stays apart from the
// simulated services (and from the scenario injected at the end).
const std::string kNulService = "poison-nul-svc";        // NUL in an ERROR line: a log-only incident
const std::string kDeployService = "poison-deploy-svc";  // NUL in a deployment description
const std::string kUtf8Service = "poison-utf8-svc";      // characters at the old cut offsets
const std::string kFlatService = "poison-flat-svc";      // 1e308 on a flat series

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Json Envelope(int64_t ts) { return Json{{"event_id", NewUuid()}, {"schema_version", 1}, {"timestamp", ts}}; }

std::string LogLine(const std::string& service, int64_t ts, const std::string& message) {
  Json j = Envelope(ts);
  j.update({{"source_service", service}, {"level", "ERROR"}, {"message", message}, {"trace_id", ""}, {"labels", Json::object()}});
  return j.dump();
}

std::string Metric(const std::string& service, const std::string& metric, int64_t ts, double value) {
  Json j = Envelope(ts);
  j.update({{"source_service", service}, {"metric_name", metric}, {"metric_value", value}, {"labels", Json::object()}});
  return j.dump();
}

// A multi-byte character starting exactly at byte `offset`: the old byte cut at offset + 1
// (2000 in detection, 500 in correlation, 160 in the RCA fallback) split it in half.
std::string LineWithCharacterAt(size_t offset) {
  std::string s = "java.lang.OutOfMemoryError: Java heap space while caching ";
  s.append(offset - s.size(), 'x');
  s += "\xC3\xA9";  // é
  s += " and the rest of the line";
  return s;
}

Json MailDevList(int web_port) {
  httplib::Client c("127.0.0.1", web_port);
  c.set_connection_timeout(5);
  auto r = c.Get("/email");
  return r ? Json::parse(r->body, nullptr, false) : Json::array();
}

// Subjects (and Message-IDs) of the emails MailDev holds for an incident.
std::map<std::string, std::set<std::string>> MailsFor(int web_port, const std::string& incident_id) {
  std::map<std::string, std::set<std::string>> out;
  std::string number = IncidentNumber(incident_id);
  Json mails = MailDevList(web_port);
  if (!mails.is_array()) return out;
  for (const auto& m : mails) {
    if (!m.is_object()) continue;
    std::string subject = m.value("subject", std::string());
    if (subject.find(number) == std::string::npos) continue;
    out[subject.substr(0, subject.find(']') + 1)].insert(m.value("messageId", std::string()));
  }
  return out;
}

struct Letter {
  std::string agent, error;
  DeadLetter dl;
};

class PoisonInputs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (Stack().kafka_bootstrap.empty()) return;
    const char* source = std::getenv("SRE_SOURCE_DIR");
    maildev_bin_ = std::string(source ? source : ".") + "/.tools/maildev/node_modules/.bin/maildev";
    work_ = std::filesystem::current_path().string() + "/poison-inputs";
    std::filesystem::remove_all(work_);
    std::filesystem::create_directories(work_);
    smtp_port_ = testing::FreePort();
    web_port_ = testing::FreePort();
    StartMailDev(kRotatedPassword);  // the agents' password no longer works: 535

    llm_ = std::make_unique<testing::FakeLlmServer>();
    llm_->SetDefault(testing::FakeReply::Raw(502, "\xFF\xFE<html>bad gateway \xC3 \xE2\x82</html>"));

    testing::PipelineOptions options;
    options.logs_dir = work_ + "/logs";
    options.sim_speed = 30;
    options.with_api = true;
    options.extra_env = {{"LLM_PROVIDER", "anthropic"},
                         {"ANTHROPIC_BASE_URL", llm_->BaseUrl()},
                         {"ANTHROPIC_API_KEY", "sk-test-poison"},
                         {"LLM_TIMEOUT_S", "3"},
                         {"RESOLUTION_SIGNAL_LOST_S", "20"}};
    options.process_env["communication"] = {{"SMTP_URL", "smtp://127.0.0.1:" + std::to_string(smtp_port_)},
                                            {"SMTP_USERNAME", kSmtpUser},
                                            {"SMTP_PASSWORD", kConfiguredPassword},
                                            {"SMTP_TIMEOUT_MS", "5000"}};
    harness_ = std::make_unique<testing::PipelineHarness>(options);
    std::string error;
    ASSERT_TRUE(harness_->Start(&error)) << error;
    ASSERT_TRUE(Eventually([] { return harness_->SimNow() > 0; }, 60s, 200ms)) << "simulator API did not come up";
    for (const auto& name : Processes())
      ASSERT_TRUE(Eventually([&] { return harness_->HealthStatus(name, 2s) == 200; }, 90s, 500ms))
          << name << " is not healthy; see " << options.logs_dir;
    start_wall_ms_ = WallMs();
    PublishPoison();
  }
  static void TearDownTestSuite() {
    harness_.reset();
    llm_.reset();
    maildev_.reset();
  }

  static std::vector<std::string> Processes() {
    std::vector<std::string> names = testing::PipelineHarness::Agents();
    names.push_back("api");
    names.push_back("simulator");
    return names;
  }

  static void StartMailDev(const std::string& password) {
    if (maildev_) maildev_->Stop();
    maildev_ = std::make_unique<testing::Process>(
        "maildev", maildev_bin_,
        std::vector<std::string>{"--smtp", std::to_string(smtp_port_), "--web", std::to_string(web_port_), "--ip",
                                 "127.0.0.1", "--web-ip", "127.0.0.1", "--incoming-user", kSmtpUser,
                                 "--incoming-pass", password},
        std::map<std::string, std::string>{}, work_ + "/maildev.log");
    maildev_->Start();
    ASSERT_TRUE(Eventually([] { return MailDevList(web_port_).is_array(); }, 30s, 200ms))
        << "maildev did not start; see " << work_ << "/maildev.log";
  }

  static void Publish(const std::string& topic, const std::string& key, const std::string& payload) {
    static std::unique_ptr<Producer> producer = [] {
      KafkaOptions k;
      k.bootstrap_servers = Stack().kafka_bootstrap;
      return std::move(Producer::Create(k)).value();
    }();
    Status s = producer->Publish({topic, key, payload});
    ASSERT_TRUE(s.ok()) << s.message();
  }

  // Every poison input at once, each under a key of its own (dead letters keep the key).
  static void PublishPoison() {
    const int64_t t0 = start_wall_ms_;
    // 1. NUL in an ERROR line that matches a log pattern: a log-only incident on a service with
    // no metrics at all (it must resolve by signal loss and release its lock).
    Publish(topics::kRawLogs, kNulService,
            LogLine(kNulService, t0, std::string("fatal error: worker crashed \0 core dumped", 41)));
    // 2. NUL in a deployment description (raw.deployments straight, and a custom scenario's).
    {
      Json d = Envelope(t0 - 120000);
      d.update({{"source_service", kDeployService}, {"version", std::string("v2\0", 3)}, {"previous_version", "v1"},
                {"change_type", "CODE"}, {"git_sha", "abc123"},
                {"description", std::string("rollout \0 of the new cache", 26)},
                {"known_risks", {std::string("risk \0 of NUL", 13)}}});
      Publish(topics::kRawDeployments, kDeployService, d.dump());
      Publish(topics::kRawLogs, kDeployService,
              LogLine(kDeployService, t0, "upstream cache returned 503 after the rollout (connection refused)"));
    }
    // 3. A two-byte character at byte offsets 159, 499 and 1999.
    for (size_t offset : {159u, 499u, 1999u})
      Publish(topics::kRawLogs, kUtf8Service, LogLine(kUtf8Service, t0 + static_cast<int64_t>(offset), LineWithCharacterAt(offset)));
    // 4. Event time 9.3e15 in raw.logs, and in raw.metrics for a service with an open incident.
    {
      Json j = Json::parse(LogLine(kNulService, t0, "fatal error: from the far future"));
      j["timestamp"] = 9.3e15;
      Publish(topics::kRawLogs, "poison-ts-logs", j.dump());
    }
    // 5. A 520 KB event_id.
    {
      Json j = Json::parse(Metric(kFlatService, "cpu_percent", t0, 1));
      j["event_id"] = std::string(520 * 1024, 'e');
      Publish(topics::kRawMetrics, "poison-huge-event-id", j.dump());
    }
    // 6. "event_id": 42 on every lifecycle topic.
    for (const char* topic : {topics::kAnomaliesDetected, topics::kIncidentsOpened, topics::kRcaCompleted,
                              topics::kRemediationPlans, topics::kIncidentsResolved, topics::kPostmortemsGenerated}) {
      Json j = {{"event_id", 42}, {"schema_version", 1}, {"timestamp", t0}, {"incident_id", NewUuid()}};
      Publish(topic, "poison-event-id-42", j.dump());
    }
    // 9. 1e308 on a flat series: 25 samples of 40 % (past the 20-sample warm-up), then 1e308.
    for (int i = 0; i < 25; ++i) Publish(topics::kRawMetrics, kFlatService, Metric(kFlatService, "cpu_percent", t0 - 300000 + i * 10000, 40));
    for (int i = 0; i < 4; ++i) Publish(topics::kRawMetrics, kFlatService, Metric(kFlatService, "cpu_percent", t0 - 50000 + i * 10000, 1e308));
  }

  // The newest incident of `service` created since the suite started (wall clock), or "".
  static std::string IncidentOf(const std::string& service, int64_t since_wall_ms = 0) {
    std::string id;
    Database db(Stack().database_url);
    (void)db.Transact([&](pqxx::work& tx) {
      auto r = tx.exec_params(
          "SELECT id::text FROM incidents WHERE service = $1 AND created_at >= to_timestamp($2::double precision / 1000.0) "
          "ORDER BY created_at DESC LIMIT 1",
          service, std::max(since_wall_ms, start_wall_ms_) - 5000);
      if (!r.empty()) id = r[0][0].as<std::string>();
      return Status::Ok();
    });
    return id;
  }
  static std::string Column(const std::string& id, const std::string& expression) {
    std::string value;
    Database db(Stack().database_url);
    (void)db.Transact([&](pqxx::work& tx) {
      auto r = tx.exec_params("SELECT COALESCE((" + expression + ")::text, '') FROM incidents WHERE id = $1::uuid", id);
      if (!r.empty()) value = r[0][0].as<std::string>();
      return Status::Ok();
    });
    return value;
  }

  // Dead letters written since the suite started, by the key of the message they carry.
  static std::vector<Letter> LettersFor(const std::string& key) {
    std::vector<Letter> out;
    for (const auto& m : testing::ReadAll(Stack().kafka_bootstrap, topics::kDeadLetters)) {
      if (m.key != key) continue;
      auto dl = Decode<DeadLetter>(m.payload);
      if (dl.ok() && dl->timestamp >= start_wall_ms_ - 1000) out.push_back({dl->agent, dl->error, *dl});
    }
    return out;
  }
  static std::set<std::string> AgentsOf(const std::vector<Letter>& letters) {
    std::set<std::string> out;
    for (const auto& l : letters) out.insert(l.agent);
    return out;
  }

  static double MetricValue(const std::string& process, const std::string& series) {
    std::string text = harness_->MetricsText(process);
    double sum = 0;
    for (size_t pos = text.find(series); pos != std::string::npos; pos = text.find(series, pos + 1)) {
      if (pos > 0 && text[pos - 1] != '\n') continue;
      size_t space = text.find(' ', pos);
      size_t end = text.find('\n', space);
      sum += std::stod(text.substr(space + 1, end - space - 1));
    }
    return sum;
  }

  void ExpectAllRunning() {
    for (const auto& [name, p] : harness_->processes()) EXPECT_TRUE(p->Running()) << name << " died; see " << p->log_path();
  }

  static inline std::string work_, maildev_bin_;
  static inline int smtp_port_ = 0, web_port_ = 0;
  static inline int64_t start_wall_ms_ = 0;
  static inline std::unique_ptr<testing::Process> maildev_;
  static inline std::unique_ptr<testing::FakeLlmServer> llm_;
  static inline std::unique_ptr<testing::PipelineHarness> harness_;
};

TEST_F(PoisonInputs, NulInALogLineIsCleanedAndItsIncidentIsStored) {
  SRE_REQUIRE_STACK();
  ASSERT_TRUE(Eventually([] { return !IncidentOf(kNulService).empty(); }, 60s, 250ms)) << "no incident for the NUL line";
  std::string id = IncidentOf(kNulService);
  EXPECT_GE(MetricValue("detection", "sre_input_repairs_total{kind=\"nul\"}"), 1);
  // The line reached PostgreSQL's JSONB (the audit trail) with U+FFFD where the NUL was.
  ASSERT_TRUE(Eventually(
      [&] {
        std::string evidence;
        Database db(Stack().database_url);
        (void)db.Transact([&](pqxx::work& tx) {
          auto r = tx.exec_params(
              "SELECT payload::text FROM agent_events WHERE incident_id = $1::uuid AND event_type = 'ANOMALY_DETECTED'", id);
          if (!r.empty()) evidence = r[0][0].as<std::string>();
          return Status::Ok();
        });
        return evidence.find("worker crashed " + kFffd + " core dumped") != std::string::npos;
      },
      30s, 250ms));
  EXPECT_TRUE(LettersFor(kNulService).empty());
  ExpectAllRunning();
}

TEST_F(PoisonInputs, NulInADeploymentDescriptionIsCleanedAndCorrelated) {
  SRE_REQUIRE_STACK();
  ASSERT_TRUE(Eventually([] { return !IncidentOf(kDeployService).empty(); }, 60s, 250ms));
  std::string id = IncidentOf(kDeployService);
  ASSERT_TRUE(Eventually([&] { return !Column(id, "correlation_context").empty(); }, 60s, 250ms)) << "not correlated";
  std::string context = Column(id, "correlation_context");
  EXPECT_NE(context.find("rollout " + kFffd + " of the new cache"), std::string::npos) << context;
  EXPECT_TRUE(LettersFor(kDeployService).empty());
  EXPECT_GE(MetricValue("correlation", "sre_input_repairs_total{kind=\"nul\"}"), 1);

  // The same through a custom scenario: the simulator cleans it with the same decoding.
  Json scenario = {
      {"name", "NUL_DEPLOY"},
      {"service", "inventory-service"},
      {"duration_s", 30},
      {"metrics", {{{"metric", "cpu_percent"}, {"peak", 35}, {"shape", "linear"}}}},
      {"deployment",
       {{"change_type", "CODE"}, {"version", "9.9.9"}, {"description", std::string("nul \0 here", 10)}, {"lead_s", 0}}},
      {"ground_truth", {{"root_cause_service", "inventory-service"}, {"root_cause_category", "DEPLOYMENT_REGRESSION"}}}};
  httplib::Client c("127.0.0.1", harness_->sim_port());
  auto r = c.Post("/api/scenarios", scenario.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201) << r->body;
  ExpectAllRunning();
}

TEST_F(PoisonInputs, CharactersAtTheOldCutOffsetsStayWhole) {
  SRE_REQUIRE_STACK();
  ASSERT_TRUE(Eventually([] { return !IncidentOf(kUtf8Service).empty(); }, 60s, 250ms));
  std::string id = IncidentOf(kUtf8Service);
  // Correlation's recent errors (cut at 500) and the RCA fallback's evidence (cut at 160) were
  // written to JSONB and published: both agents went on.
  ASSERT_TRUE(Eventually([&] { return !Column(id, "rca_candidates").empty(); }, 60s, 250ms)) << "no RCA";
  EXPECT_NE(Column(id, "correlation_context").find("OutOfMemoryError"), std::string::npos);
  EXPECT_TRUE(LettersFor(kUtf8Service).empty());
  ExpectAllRunning();
}

TEST_F(PoisonInputs, FarFutureEventTimesAreDeadLetteredWithTheReason) {
  SRE_REQUIRE_STACK();
  // raw.logs: the line above; raw.metrics during an open incident (the NUL service has one).
  ASSERT_TRUE(Eventually([] { return !IncidentOf(kNulService).empty(); }, 60s, 250ms));
  Json j = Json::parse(Metric(kNulService, "request_rate", start_wall_ms_, 10));
  j["timestamp"] = 9.3e15;
  Publish(topics::kRawMetrics, "poison-ts-metrics", j.dump());
  for (const char* key : {"poison-ts-logs", "poison-ts-metrics"}) {
    std::vector<Letter> letters;
    ASSERT_TRUE(Eventually([&] { return !(letters = LettersFor(key)).empty(); }, 30s, 500ms)) << key;
    EXPECT_EQ(AgentsOf(letters), std::set<std::string>{"detection"});
    EXPECT_NE(letters[0].error.find("field 'timestamp'"), std::string::npos) << letters[0].error;
  }
  ExpectAllRunning();
}

TEST_F(PoisonInputs, AHugeEventIdIsDeadLetteredBounded) {
  SRE_REQUIRE_STACK();
  std::vector<Letter> letters;
  ASSERT_TRUE(Eventually([&] { return !(letters = LettersFor("poison-huge-event-id")).empty(); }, 30s, 500ms));
  const DeadLetter& dl = letters[0].dl;
  EXPECT_EQ(letters[0].agent, "detection");
  EXPECT_TRUE(dl.payload_truncated.value_or(false));
  EXPECT_GT(dl.payload_bytes.value_or(0), 520 * 1024);
  EXPECT_LE(dl.payload.size(), kDeadLetterPayloadMax);
  EXPECT_LE(dl.error.size(), 200u);
  EXPECT_EQ(dl.payload_sha256.value_or("").size(), 64u);
  ExpectAllRunning();
}

TEST_F(PoisonInputs, ANonStringEventIdIsDeadLetteredByEveryConsumer) {
  SRE_REQUIRE_STACK();
  // One message per lifecycle topic, dead-lettered once by each consumer of its topic.
  const std::map<std::string, std::set<std::string>> consumers = {
      {topics::kAnomaliesDetected, {"correlation", "communication", "api"}},
      {topics::kIncidentsOpened, {"investigation", "api"}},
      {topics::kRcaCompleted, {"remediation", "communication", "api"}},
      {topics::kRemediationPlans, {"communication", "api"}},
      {topics::kIncidentsResolved, {"postmortem", "communication", "api"}},
      {topics::kPostmortemsGenerated, {"communication", "api"}}};
  auto by_topic = [](const std::vector<Letter>& letters) {
    std::map<std::string, std::set<std::string>> out;
    for (const auto& l : letters) out[l.dl.topic].insert(l.agent);
    return out;
  };
  std::vector<Letter> letters;
  ASSERT_TRUE(Eventually([&] { return by_topic(letters = LettersFor("poison-event-id-42")) == consumers; }, 60s, 500ms))
      << "dead-lettered by " << ::testing::PrintToString(by_topic(letters));
  EXPECT_EQ(letters.size(), 15u) << "one dead letter per consumer and message";
  for (const auto& l : letters) EXPECT_NE(l.error.find("event_id"), std::string::npos) << l.agent << ": " << l.error;
  EXPECT_EQ(harness_->HealthStatus("api"), 200);
  ExpectAllRunning();
}

TEST_F(PoisonInputs, FortyStreamClientsLeaveHealthAndRestAnswering) {
  SRE_REQUIRE_STACK();
  std::vector<int> sockets;
  for (int i = 0; i < 40; ++i) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(harness_->api_port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    std::string req = "GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
    ASSERT_EQ(send(s, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
    sockets.push_back(s);
  }
  std::this_thread::sleep_for(1s);
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(harness_->HealthStatus("api", 3s), 200);
  httplib::Client c("127.0.0.1", harness_->api_port());
  c.set_read_timeout(3);
  auto list = c.Get("/api/incidents?limit=5");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 6s);
  for (int s : sockets) close(s);
  ExpectAllRunning();
}

TEST_F(PoisonInputs, TwentyThousandUnknownApiPathsKeepMetricsBounded) {
  SRE_REQUIRE_STACK();
  httplib::Client c("127.0.0.1", harness_->api_port());
  c.set_keep_alive(true);
  int not_found = 0;
  for (int i = 0; i < 20000; ++i) {
    auto r = c.Get(("/api/no/such/" + std::to_string(i) + "/" + NewUuid()).c_str());
    if (r && r->status == 404) ++not_found;
  }
  EXPECT_EQ(not_found, 20000);
  std::string metrics = harness_->MetricsText("api");
  EXPECT_LT(metrics.size(), 64u * 1024) << "one series per path?";
  size_t series = 0;
  for (size_t pos = metrics.find("\nsre_api_requests_total{"); pos != std::string::npos;
       pos = metrics.find("\nsre_api_requests_total{", pos + 1))
    ++series;
  EXPECT_LE(series, 40u);
  ExpectAllRunning();
}

TEST_F(PoisonInputs, HugeValueOnAFlatSeriesRaisesWithFiniteFiguresAndIsAlerted) {
  SRE_REQUIRE_STACK();
  ASSERT_TRUE(Eventually([] { return !IncidentOf(kFlatService).empty(); }, 60s, 250ms)) << "1e308 raised nothing";
  std::string id = IncidentOf(kFlatService);
  double sigma = std::stod(Column(id, "deviation_sigma"));
  EXPECT_TRUE(std::isfinite(sigma));
  EXPECT_GE(sigma, 1e9);
  EXPECT_EQ(Column(id, "trigger_metric"), "cpu_percent");
  // Nothing downstream dead-lettered the anomaly (a non-finite z used to be written as null).
  for (const auto& m : testing::ReadAll(Stack().kafka_bootstrap, topics::kDeadLetters)) {
    auto dl = Decode<DeadLetter>(m.payload);
    if (dl.ok() && dl->timestamp >= start_wall_ms_ - 1000) {
      EXPECT_EQ(dl->payload.find(id), std::string::npos) << dl->agent << ": " << dl->error;
    }
  }
  ExpectAllRunning();
}

TEST_F(PoisonInputs, LogOnlyIncidentWithoutMetricsResolvesBySignalLossAndReleasesItsLock) {
  SRE_REQUIRE_STACK();
  std::string id = IncidentOf(kNulService);
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(Eventually([&] { return Column(id, "status") == "CLOSED"; }, 120s, 500ms)) << "status " << Column(id, "status");
  Database db(Stack().database_url);
  std::string method;
  ASSERT_TRUE(db.Transact([&](pqxx::work& tx) {
                  auto r = tx.exec_params(
                      "SELECT payload->>'method' FROM agent_events WHERE incident_id = $1::uuid AND event_type = 'INCIDENT_RESOLVED'",
                      id);
                  if (!r.empty()) method = r[0][0].as<std::string>("");
                  return Status::Ok();
                }).ok());
  EXPECT_EQ(method, "SIGNAL_LOST");
  auto redis_options = ParseRedisUrl(Stack().redis_url);
  ASSERT_TRUE(redis_options.ok());
  RedisClient redis(*redis_options);
  auto lock = redis.Command({"GET", keys::OpenIncidentLock(kNulService)});
  ASSERT_TRUE(lock.ok());
  EXPECT_TRUE(lock->is_nil()) << "the lock still holds " << lock->str;
  ExpectAllRunning();
}

TEST_F(PoisonInputs, LlmAnswering502WithANonUtf8BodyFallsBack) {
  SRE_REQUIRE_STACK();
  EXPECT_GT(llm_->RequestCount(), 0u) << "the agents never called the LLM double";
  std::string id = IncidentOf(kUtf8Service);
  ASSERT_TRUE(Eventually([&] { return Column(id, "rca_method") == "FALLBACK"; }, 60s, 500ms)) << Column(id, "rca_method");
  EXPECT_GE(MetricValue("detection", "sre_llm_fallbacks_total{"), 1);
  EXPECT_GE(MetricValue("investigation", "sre_llm_fallbacks_total{"), 1);
  // The provider's error body was recorded in the audit trail, cleaned.
  Database db(Stack().database_url);
  int audited = 0;
  ASSERT_TRUE(db.Transact([&](pqxx::work& tx) {
                  audited = tx.exec_params1("SELECT count(*)::int FROM agent_events WHERE incident_id = $1::uuid "
                                            "AND payload::text LIKE '%bad gateway%'",
                                            id)[0]
                                .as<int>();
                  return Status::Ok();
                }).ok());
  EXPECT_GE(audited, 1);
  ExpectAllRunning();
}

TEST_F(PoisonInputs, Smtp535HoldsTheAlertsUntilTheServerAcceptsTheLogin) {
  SRE_REQUIRE_STACK();
  std::string id = IncidentOf(kFlatService);
  ASSERT_FALSE(id.empty());
  // While the server refuses the login, nothing is sent and nothing is marked FAILED.
  ASSERT_TRUE(Eventually([] { return MetricValue("communication", "sre_smtp_failures_total{reason=\"auth\"}") >= 1; }, 60s,
                         500ms));
  EXPECT_TRUE(MailsFor(web_port_, id).empty());
  Database db(Stack().database_url);
  auto failed = [&] {
    int n = -1;
    (void)db.Transact([&](pqxx::work& tx) {
      n = tx.exec_params1("SELECT count(*)::int FROM emails WHERE incident_id = $1::uuid AND status = 'FAILED'", id)[0].as<int>();
      return Status::Ok();
    });
    return n;
  };
  EXPECT_EQ(failed(), 0);
  // The operator fixes the server's credentials: the held emails go out, once each.
  StartMailDev(kConfiguredPassword);
  auto alerts = [&] {
    size_t n = 0;
    for (const auto& [kind, ids] : MailsFor(web_port_, id))
      if (kind != "[RCA]" && kind != "[PLAN]" && kind != "[RESOLVED]" && kind != "[POSTMORTEM]") n += ids.size();
    return n;
  };
  ASSERT_TRUE(Eventually([&] { return alerts() == 1; }, 120s, 500ms))
      << "the alert held during the SMTP outage never arrived";
  EXPECT_EQ(failed(), 0);
  ExpectAllRunning();
}

TEST_F(PoisonInputs, AfterwardsEveryGroupCatchesUpAndAScenarioCompletesWithFiveEmails) {
  SRE_REQUIRE_STACK();
  // The simulator's services are warm (backfill); inject a scenario on one of them.
  Json info = harness_->SimApi("GET", "/api/scenarios");
  const int64_t live_start = info.value("live_start_ms", int64_t{0});
  ASSERT_TRUE(Eventually([&] { return harness_->SimNow() >= live_start + 300000; }, 120s, 250ms));
  int status = 0;
  const int64_t injected_at = WallMs();
  Json injected = harness_->SimApi("POST", "/api/scenarios/ERROR_RATE_SPIKE", &status);
  ASSERT_EQ(status, 201) << injected.dump();
  std::string id;
  ASSERT_TRUE(Eventually(
      [&] {
        id = IncidentOf("order-service", injected_at);
        return !id.empty() && Column(id, "status") == "CLOSED";
      },
      240s, 500ms))
      << "the scenario's incident did not close: " << (id.empty() ? "none" : Column(id, "status"));
  std::map<std::string, std::set<std::string>> mails;
  ASSERT_TRUE(Eventually([&] { return (mails = MailsFor(web_port_, id)).size() == 5; }, 60s, 500ms))
      << ::testing::PrintToString(mails);
  for (const auto& [kind, ids] : mails) EXPECT_EQ(ids.size(), 1u) << kind;

  // Every consumer group drains every topic it reads, poison included.
  const std::map<std::string, std::vector<std::string>> groups = {
      {"sre-detection", {topics::kRawMetrics, topics::kRawLogs}},
      {"sre-correlation", {topics::kAnomaliesDetected, topics::kRawDeployments}},
      {"sre-investigation", {topics::kIncidentsOpened}},
      {"sre-remediation", {topics::kRcaCompleted}},
      {"sre-communication",
       {topics::kAnomaliesDetected, topics::kRcaCompleted, topics::kRemediationPlans, topics::kIncidentsResolved,
        topics::kPostmortemsGenerated}},
      {"sre-postmortem", {topics::kIncidentsResolved}},
      {"sre-api",
       {topics::kAnomaliesDetected, topics::kIncidentsOpened, topics::kRcaCompleted, topics::kRemediationPlans,
        topics::kIncidentsResolved, topics::kPostmortemsGenerated}},
  };
  // The simulator keeps publishing raw telemetry: stop it so the raw topics can drain to 0.
  harness_->process("simulator").Stop();
  for (const auto& entry : groups)
    for (const auto& topic : entry.second) {
      const std::string& group = entry.first;  // a named reference: Clang 14 cannot capture bindings
      EXPECT_TRUE(Eventually([&] { return testing::GroupLag(Stack().kafka_bootstrap, group, topic) == 0; }, 60s, 500ms))
          << group << " on " << topic << " is " << testing::GroupLag(Stack().kafka_bootstrap, group, topic) << " behind";
    }
  for (const auto& name : testing::PipelineHarness::Agents()) {
    EXPECT_TRUE(harness_->process(name).Running()) << name;
    EXPECT_EQ(harness_->HealthStatus(name), 200) << name;
  }
  EXPECT_TRUE(harness_->process("api").Running());
}

}  // namespace
}  // namespace sre
