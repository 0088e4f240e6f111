// sre-ingest against real Redis, PostgreSQL and sre-devbroker, through its HTTP routes: an alert
// opens one incident however often it is re-sent, a second alert joins it, its resolution reaches
// the incident row; telemetry passes the mapping into raw.* and nothing else does; every refusal
// has its status code (400 with the field and a dead letter, 401, 413, 415).
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <set>

#include "agents/ingest/remote_write.h"
#include "agents/ingest/service.h"
#include "shared/ids.h"
#include "shared/metrics.h"
#include "shared/messages.h"
#include "shared/redis_keys.h"
#include "tests/support/test_kafka.h"
#include "tests/support/test_stack.h"

namespace sre::ingest {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Rfc3339(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[80];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

Json AlertBody(const std::string& status, const std::string& service, const std::string& alertname,
               const std::string& fingerprint, int64_t starts_ms, int64_t ends_ms = 0) {
  Json alert = {{"status", status},
                {"labels", {{"alertname", alertname}, {"service", service}, {"severity", "critical"}}},
                {"annotations", {{"summary", service + " is failing"}}},
                {"startsAt", Rfc3339(starts_ms)},
                {"endsAt", ends_ms ? Rfc3339(ends_ms) : "0001-01-01T00:00:00Z"},
                {"generatorURL", "http://prometheus:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1"},
                {"fingerprint", fingerprint}};
  return {{"version", "4"},        {"groupKey", "{}:{alertname=\"" + alertname + "\"}"},
          {"truncatedAlerts", 0},  {"status", status},
          {"receiver", "sre"},     {"groupLabels", {{"alertname", alertname}}},
          {"commonLabels", Json::object()}, {"commonAnnotations", Json::object()},
          {"externalURL", "http://alertmanager:9093"}, {"alerts", Json::array({alert})}};
}

class IngestIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::sre::testing::Stack().kafka_bootstrap.empty()) GTEST_SKIP() << "no native stack; run through ctest";
    redis_ = std::make_unique<RedisClient>(*ParseRedisUrl(::sre::testing::Stack().redis_url));
    db_ = std::make_unique<Database>(::sre::testing::Stack().database_url);
    ASSERT_TRUE(db_->Migrate().ok());
    producer_ = std::move(Producer::Create({::sre::testing::Stack().kafka_bootstrap, {}})).value();
    auto catalog = ServiceCatalog::Load(std::string(SRE_TEST_SOURCE_DIR) + "/knowledge/architecture/services.json");
    ASSERT_TRUE(catalog.ok());
    catalog_ = std::make_unique<ServiceCatalog>(std::move(catalog).value());
    auto mapping = LoadMapping(std::string(SRE_TEST_SOURCE_DIR) + "/infra/ingest/mapping.json");
    ASSERT_TRUE(mapping.ok()) << mapping.status().message();
    options_.token = Secret("t0ken");
    options_.max_body_bytes = 64 * 1024;
    service_ = std::make_unique<IngestService>(*redis_, *db_, *producer_, *catalog_, *mapping, options_);
    http_ = std::make_unique<HttpServer>(Metrics());
    ptr_ = service_.get();
    RegisterRoutes(*http_, options_, ptr_);
    port_ = http_->Start("127.0.0.1", 0);
    ASSERT_GT(port_, 0);
  }
  void TearDown() override {
    if (http_) http_->Stop();
  }

  httplib::Result Post(const std::string& path, const std::string& body, const std::string& type = "application/json",
                       httplib::Headers headers = {{"Authorization", "Bearer t0ken"}}) {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(30, 0);
    return c.Post(path.c_str(), headers, body, type.c_str());
  }

  std::vector<std::pair<std::string, std::string>> Incidents(const std::string& service) {
    std::vector<std::pair<std::string, std::string>> out;
    EXPECT_TRUE(db_->Transact([&](pqxx::work& tx) {
                     for (auto row : tx.exec_params(
                              "SELECT id::text, baselines::text FROM incidents WHERE service = $1 ORDER BY detection_time",
                              service))
                       out.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
                     return Status::Ok();
                   }).ok());
    return out;
  }

  template <class T>
  std::vector<T> Published(const std::string& topic, const std::function<bool(const T&)>& keep) {
    std::vector<T> out;
    for (const auto& m : ::sre::testing::ReadAll(::sre::testing::Stack().kafka_bootstrap, topic)) {
      auto v = Decode<T>(m.payload);
      if (v.ok() && keep(*v)) out.push_back(*v);
    }
    return out;
  }

  std::unique_ptr<RedisClient> redis_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<Producer> producer_;
  std::unique_ptr<ServiceCatalog> catalog_;
  IngestOptions options_;
  std::unique_ptr<IngestService> service_;
  std::unique_ptr<HttpServer> http_;
  std::atomic<IngestService*> ptr_{nullptr};
  int port_ = -1;
};

TEST_F(IngestIntegrationTest, AnAlertOpensOneIncidentAndItsResolutionReachesTheRow) {
  std::string svc = ::sre::testing::Unique("ingest-svc");
  int64_t starts = NowMs() - 60000;
  std::string body = AlertBody("firing", svc, "HighErrorRate", "fp-" + svc, starts).dump();
  auto r = Post("/api/v1/alerts/alertmanager", body);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Json::parse(r->body)["new"], 1);
  // Re-sent (group_interval, an HA peer): answered 200, nothing new.
  for (int i = 0; i < 2; ++i) {
    auto again = Post("/api/v1/alerts/alertmanager", body);
    ASSERT_EQ(again->status, 200);
    EXPECT_EQ(Json::parse(again->body)["duplicate"], 1);
  }
  // The same notification with the dedup marker gone (it expired, Redis restarted): the
  // database's processed-events record still keeps it to one incident and one anomaly.
  ASSERT_TRUE(redis_->Command({"DEL", "sre:ingest:alert:{fp-" + svc + "/" + std::to_string(starts) + "}:firing"}).ok());
  ASSERT_EQ(Post("/api/v1/alerts/alertmanager", body)->status, 200);

  auto incidents = Incidents(svc);
  ASSERT_EQ(incidents.size(), 1u);
  Json baselines = Json::parse(incidents[0].second);
  ASSERT_TRUE(baselines.contains("alert:HighErrorRate")) << baselines.dump();
  EXPECT_EQ(baselines["alert:HighErrorRate"]["expr"], "up == 0");
  auto anomalies = Published<AnomalyDetected>(topics::kAnomaliesDetected,
                                              [&](const AnomalyDetected& a) { return a.service == svc; });
  std::set<std::string> event_ids;
  for (const auto& a : anomalies) {
    event_ids.insert(a.event_id);
    EXPECT_EQ(a.incident_id, incidents[0].first);
    EXPECT_EQ(a.trigger_metric, "alert:HighErrorRate");
    EXPECT_EQ(a.severity, Severity::CRITICAL);
    EXPECT_EQ(a.anomaly_type, AnomalyType::ERROR_RATE_SPIKE);
  }
  EXPECT_EQ(event_ids.size(), 1u);
  auto lock = redis_->Command({"GET", keys::OpenIncidentLock(svc)});
  EXPECT_EQ(lock->str, incidents[0].first);

  // A second alert on the service joins the open incident.
  auto second = Post("/api/v1/alerts/alertmanager",
                     AlertBody("firing", svc, "P99LatencyHigh", "fp2-" + svc, starts + 5000).dump());
  ASSERT_EQ(second->status, 200);
  EXPECT_EQ(Json::parse(second->body)["attached"], 1);
  incidents = Incidents(svc);
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_TRUE(Json::parse(incidents[0].second).contains("alert:P99LatencyHigh"));

  // Resolved: the trigger carries resolved_at (the monitor's input), once.
  int64_t ends = starts + 120000;
  auto resolved = Post("/api/v1/alerts/alertmanager",
                       AlertBody("resolved", svc, "HighErrorRate", "fp-" + svc, starts, ends).dump());
  ASSERT_EQ(resolved->status, 200) << resolved->body;
  EXPECT_EQ(Json::parse(resolved->body)["resolved"], 1);
  baselines = Json::parse(Incidents(svc)[0].second);
  EXPECT_EQ(baselines["alert:HighErrorRate"]["resolved_at"], ends);
  EXPECT_FALSE(baselines["alert:P99LatencyHigh"].contains("resolved_at"));
  EXPECT_EQ(Json::parse(Post("/api/v1/alerts/alertmanager",
                             AlertBody("resolved", svc, "HighErrorRate", "fp-" + svc, starts, ends).dump())
                            ->body)["duplicate"],
            1);
  // A resolved alert nobody saw fire changes nothing.
  auto unknown = Post("/api/v1/alerts/alertmanager",
                      AlertBody("resolved", svc, "Other", "fp3-" + svc, starts, ends).dump());
  EXPECT_EQ(Json::parse(unknown->body)["unmatched"], 1);

  // The service is not in the catalogue: it is recorded as discovered.
  int64_t discovered = 0;
  ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                   discovered = tx.exec_params1("SELECT count(*) FROM discovered_services WHERE name = $1", svc)[0]
                                    .as<int64_t>();
                   return Status::Ok();
                 }).ok());
  EXPECT_EQ(discovered, 1);
}

TEST_F(IngestIntegrationTest, RefusalsHaveTheirStatusCodesAndMalformedBodiesAreDeadLettered) {
  std::string svc = ::sre::testing::Unique("ingest-bad");
  std::string good = AlertBody("firing", svc, "X", "fp-" + svc, NowMs()).dump();
  auto no_token = Post("/api/v1/alerts/alertmanager", good, "application/json", {});
  ASSERT_TRUE(no_token);
  EXPECT_EQ(no_token->status, 401);
  EXPECT_EQ(no_token->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(Post("/api/v1/alerts/alertmanager", good, "application/json", {{"Authorization", "Bearer nope"}})->status,
            401);
  auto big = Post("/api/v1/alerts/alertmanager", std::string(70 * 1024, ' '));
  if (big) {  // the server may also close before the client reads the answer
    EXPECT_EQ(big->status, 413);
  }
  EXPECT_EQ(Post("/api/v1/alerts/alertmanager", good, "text/plain")->status, 415);
  EXPECT_EQ(Post("/api/v1/write", "x", "application/x-protobuf")->status, 415);  // no Content-Encoding: snappy

  std::string marker = "bad-" + svc;
  Json bad = AlertBody("firing", svc, "X", "fp-" + svc, NowMs());
  bad["alerts"][0]["startsAt"] = marker;
  auto r = Post("/api/v1/alerts/alertmanager", bad.dump());
  ASSERT_EQ(r->status, 400);
  EXPECT_EQ(Json::parse(r->body)["error"], "alerts[0].startsAt: not an RFC 3339 time");
  EXPECT_EQ(Post("/api/v1/alerts/alertmanager", "{not json")->status, 400);
  // An alert without a service label: the rest of the batch is taken, that one is dead-lettered.
  Json mixed = AlertBody("firing", svc, "Y", "fpy-" + svc, NowMs());
  Json orphan = mixed["alerts"][0];
  orphan["labels"].erase("service");
  orphan["fingerprint"] = "orphan-" + svc;
  mixed["alerts"].push_back(orphan);
  auto m = Post("/api/v1/alerts/alertmanager", mixed.dump());
  ASSERT_EQ(m->status, 200) << m->body;
  Json reply = Json::parse(m->body);
  EXPECT_EQ(reply["new"], 1);
  ASSERT_EQ(reply["rejected"].size(), 1u);
  EXPECT_EQ(reply["rejected"][0]["index"], 1);

  auto letters = Published<DeadLetter>(topics::kDeadLetters, [&](const DeadLetter& d) {
    return d.agent == "ingest" && d.payload.find(svc) != std::string::npos;
  });
  bool startsat = false, orphaned = false;
  for (const auto& d : letters) {
    EXPECT_EQ(d.topic, "http:/api/v1/alerts/alertmanager");
    startsat |= d.error == "alerts[0].startsAt: not an RFC 3339 time";
    orphaned |= d.error.find("none of the service labels") != std::string::npos;
  }
  EXPECT_TRUE(startsat);
  EXPECT_TRUE(orphaned);
}

TEST_F(IngestIntegrationTest, RemoteWriteAndOtlpPassTheMappingIntoRawTopics) {
  std::string svc = ::sre::testing::Unique("ingest-tel");
  int64_t now = NowMs();
  std::vector<PromSeries> series = {
      {{{"__name__", "sim_metric_value"}, {"metric", "error_rate"}, {"service", svc}, {"instance", "sim:8100"}},
       {{now - 2000, 1.5}, {now - 1000, 1.7}}},
      {{{"__name__", "not_in_the_mapping_total"}, {"service", svc}}, {{now - 1000, 5}}},
  };
  auto r = Post("/api/v1/write", EncodeRemoteWrite(series), "application/x-protobuf",
                {{"Authorization", "Bearer t0ken"}, {"Content-Encoding", "snappy"},
                 {"X-Prometheus-Remote-Write-Version", "0.1.0"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 204) << r->body;
  auto metrics = Published<RawMetric>(topics::kRawMetrics, [&](const RawMetric& m) { return m.source_service == svc; });
  ASSERT_EQ(metrics.size(), 2u);
  for (const auto& m : metrics) {
    EXPECT_EQ(m.metric_name, "error_rate");
    EXPECT_EQ(m.labels.at("source"), "remote_write");
  }
  EXPECT_EQ(Post("/api/v1/write", "garbage", "application/x-protobuf",
                 {{"Authorization", "Bearer t0ken"}, {"Content-Encoding", "snappy"}})
                ->status,
            400);

  Json logs = {{"resourceLogs",
                {{{"resource", {{"attributes", {{{"key", "service.name"}, {"value", {{"stringValue", svc}}}}}}}},
                  {"scopeLogs",
                   {{{"logRecords",
                      {{{"timeUnixNano", std::to_string(now * 1000000)},
                        {"severityNumber", 17},
                        {"severityText", "ERROR"},
                        {"body", {{"stringValue", "connection refused to ledger-db"}}},
                        {"traceId", "5b8efff798038103d269b633813fc60c"}}}}}}}}}}};
  auto lr = Post("/v1/logs", logs.dump());
  ASSERT_EQ(lr->status, 200) << lr->body;
  auto lines = Published<RawLog>(topics::kRawLogs, [&](const RawLog& l) { return l.source_service == svc; });
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].level, LogLevel::ERROR);
  EXPECT_EQ(lines[0].message, "connection refused to ledger-db");
  EXPECT_EQ(lines[0].timestamp, now);
}

TEST_F(IngestIntegrationTest, AGrafanaNotificationInItsDocumentedShapeOpensAnIncident) {
  std::string svc = ::sre::testing::Unique("ingest-grafana");
  Json alert = {{"status", "firing"},
                {"labels", {{"alertname", "High memory usage"}, {"team", "blue"}, {"service", svc}}},
                {"annotations", {{"summary", "This alert was triggered for zone us-1"}}},
                {"startsAt", Rfc3339(NowMs() - 30000)},
                {"endsAt", "0001-01-01T00:00:00Z"},
                {"generatorURL", "https://grafana.example/alerting/1afz29v7z/edit"},
                {"fingerprint", "g-" + svc},
                {"silenceURL", "https://grafana.example/alerting/silence/new"},
                {"dashboardURL", ""},
                {"panelURL", ""},
                {"values", {{"B", 91.5}, {"C", 1}}}};
  Json body = {{"receiver", "sre"}, {"status", "firing"}, {"orgId", 1}, {"alerts", Json::array({alert})},
               {"groupLabels", Json::object()}, {"commonLabels", {{"team", "blue"}}},
               {"commonAnnotations", Json::object()}, {"externalURL", "https://grafana.example/"},
               {"version", "1"}, {"groupKey", "{}:{}"}, {"truncatedAlerts", 0},
               {"title", "[FIRING:1] High memory usage"}, {"state", "alerting"}, {"message", "**Firing**"}};
  auto r = Post("/api/v1/alerts/grafana", body.dump());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Json::parse(r->body)["new"], 1);
  auto anomalies = Published<AnomalyDetected>(topics::kAnomaliesDetected,
                                              [&](const AnomalyDetected& a) { return a.service == svc; });
  ASSERT_EQ(anomalies.size(), 1u);
  EXPECT_EQ(anomalies[0].anomaly_type, AnomalyType::MEMORY_LEAK);
  EXPECT_DOUBLE_EQ(anomalies[0].observed_value, 91.5);
  EXPECT_EQ(Incidents(svc).size(), 1u);
}

}  // namespace
}  // namespace sre::ingest
