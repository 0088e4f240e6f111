// Investigation against real PostgreSQL, Redis and the broker, with the fake LLM server speaking
// the Anthropic wire format: a scripted tool-use investigation, an invalid submit_rca that is
// rejected and retried, a failing tool that is survived, and the fallback when the model fails.
// Issue 17: an alert-triggered incident on a service outside the catalogue, investigated with
// query_prometheus against a Prometheus double, and the fallback reading a Loki double.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <tuple>

#include "agents/investigation/resolution_monitor.h"
#include "agents/investigation/service.h"
#include "knowledge/knowledge_base.h"
#include "shared/ids.h"
#include "shared/redis_keys.h"
#include "tests/support/fake_llm_server.h"
#include "tests/support/fake_loki_server.h"
#include "tests/support/fake_prometheus_server.h"
#include "tests/support/test_stack.h"

namespace sre::investigation {
namespace {

using testing::FakeReply;

const std::string kSource = SRE_TEST_SOURCE_DIR;

class InvestigationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::Stack().kafka_bootstrap.empty()) GTEST_SKIP() << "no native stack";
    db_ = std::make_unique<Database>(testing::Stack().database_url);
    ASSERT_TRUE(db_->Migrate().ok());
    auto docs = knowledge::LoadAll(kSource + "/knowledge");
    ASSERT_TRUE(docs.ok());
    ASSERT_TRUE(knowledge::Seed(*db_, *docs).ok());
    redis_ = std::make_unique<RedisClient>(*ParseRedisUrl(testing::Stack().redis_url));
    producer_ = std::move(Producer::Create({testing::Stack().kafka_bootstrap, {}})).value();
    catalog_ = std::make_unique<ServiceCatalog>(*ServiceCatalog::Load(kSource + "/knowledge/architecture/services.json"));
    Config cfg = Config::FromMap({{"LLM_PROVIDER", "anthropic"}, {"ANTHROPIC_API_KEY", "sk-test"},
                                  {"ANTHROPIC_BASE_URL", fake_.BaseUrl()}, {"LLM_TIMEOUT_S", "20"}});
    llm_ = llm::MakeClient(llm::LlmConfig::FromConfig(cfg));
    service_ = std::make_unique<InvestigationService>(*redis_, *db_, *producer_, *catalog_, *llm_);
  }

  // An incident on payment-service with slow-query error lines in Redis.
  IncidentOpened Open() {
    IncidentOpened o;
    o.event_id = NewUuid();
    o.incident_id = NewUuid();
    o.timestamp = o.detection_time = 1763892000000;
    o.anomaly_type = AnomalyType::LATENCY_SPIKE;
    o.severity = Severity::HIGH;
    o.service = "payment-service";
    EXPECT_TRUE(db_->Transact([&](pqxx::work& tx) {
                     tx.exec_params("INSERT INTO incidents (id, status, anomaly_type, severity, service, trigger_metric, "
                                    "detection_time) VALUES ($1::uuid, 'INVESTIGATING', 'LATENCY_SPIKE', 'HIGH', "
                                    "'payment-service', 'latency_p99_ms', to_timestamp(1763892000))",
                                    o.incident_id);
                     return Status::Ok();
                   }).ok());
    return o;
  }

  Status Handle(const IncidentOpened& o) { return Handle(*service_, o); }
  static Status Handle(InvestigationService& service, const IncidentOpened& o) {
    return service.Handle({topics::kIncidentsOpened, 0, 0, o.incident_id, Encode(o)});
  }

  // An incident sre-ingest opened from an alert: trigger "alert:<name>" and its baselines entry.
  IncidentOpened OpenAlert(const std::string& service, const std::string& alertname, const std::string& expr) {
    IncidentOpened o;
    o.event_id = NewUuid();
    o.incident_id = NewUuid();
    o.timestamp = o.detection_time = 1763892000000;
    o.anomaly_type = AnomalyType::ERROR_RATE_SPIKE;
    o.severity = Severity::HIGH;
    o.service = service;
    const std::string trigger = "alert:" + alertname;
    Json baselines = {{trigger,
                       {{"kind", "alert"}, {"alertname", alertname}, {"expr", expr}, {"fingerprint", "0123456789abcdef"},
                        {"since", o.detection_time - 60000}, {"labels", {{"alertname", alertname}, {"service", service}}},
                        {"generator_url", "http://prometheus:9090/graph?g0.expr=x"}}}};
    EXPECT_TRUE(db_->Transact([&](pqxx::work& tx) {
                     tx.exec_params("INSERT INTO incidents (id, status, anomaly_type, severity, service, trigger_metric, "
                                    "baselines, detection_time) VALUES ($1::uuid, 'INVESTIGATING', 'ERROR_RATE_SPIKE', "
                                    "'HIGH', $2, $3, $4::jsonb, to_timestamp(1763892000))",
                                    o.incident_id, service, trigger, Dump(baselines));
                     return Status::Ok();
                   }).ok());
    return o;
  }

  Json Row(const std::string& id) {
    Json out;
    EXPECT_TRUE(db_->Transact([&](pqxx::work& tx) {
                     auto r = tx.exec_params1(
                         "SELECT rca_method, root_cause_category, root_cause_service, status, rca_candidates::text "
                         "FROM incidents WHERE id = $1::uuid", id);
                     out = {{"method", r[0].as<std::string>()}, {"category", r[1].as<std::string>()},
                            {"service", r[2].as<std::string>()}, {"status", r[3].as<std::string>()},
                            {"candidates", Json::parse(r[4].as<std::string>())}};
                     auto e = tx.exec_params1("SELECT payload::text FROM agent_events WHERE incident_id = $1::uuid "
                                              "AND event_type = 'RCA_COMPLETED'", id);
                     out["event"] = Json::parse(e[0].as<std::string>());
                     return Status::Ok();
                   }).ok());
    return out;
  }

  static Json Submit(const std::string& category, double confidence) {
    return {{"summary", "slow queries on payments"},
            {"candidates",
             {{{"hypothesis", "Slow queries on the payments table"}, {"category", category},
               {"service", "payment-service"}, {"confidence", confidence}, {"evidence", {"slow query log"}}}}}};
  }

  testing::FakeLlmServer fake_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<RedisClient> redis_;
  std::unique_ptr<Producer> producer_;
  std::unique_ptr<ServiceCatalog> catalog_;
  std::unique_ptr<llm::Client> llm_;
  std::unique_ptr<InvestigationService> service_;
};

TEST_F(InvestigationTest, AScriptedFourToolInvestigationProducesTheSubmittedRca) {
  auto o = Open();
  fake_.Push({FakeReply::ToolUse("search_similar_incidents", {{"query", "payment latency slow query"}}),
              FakeReply::ToolUse("get_recent_logs", {{"service", "payment-service"}, {"limit", 10}}),
              FakeReply::ToolUse("get_metric_history", {{"service", "payment-service"}, {"metric", "latency_p99_ms"}}),
              FakeReply::ToolUse("get_runbooks", {{"query", "latency"}, {"anomaly_type", "LATENCY_SPIKE"}}),
              FakeReply::ToolUse("submit_rca", Submit("DATABASE_BOTTLENECK", 0.85))});
  ASSERT_TRUE(Handle(o).ok());
  Json row = Row(o.incident_id);
  EXPECT_EQ(row["method"], "LLM");
  EXPECT_EQ(row["category"], "DATABASE_BOTTLENECK");
  EXPECT_EQ(row["status"], "RCA_COMPLETE");
  EXPECT_EQ(row["event"]["tool_calls"].size(), 5u);
  EXPECT_EQ(row["event"]["tool_calls"][0]["name"], "search_similar_incidents");
  EXPECT_EQ(fake_.RequestCount(), 5u);
  // The search tool's result reached the model as a tool_result block.
  auto second = fake_.Requests()[1].json;
  EXPECT_NE(second.dump().find("tool_result"), std::string::npos);
  // A redelivery neither calls the model again nor changes the answer.
  ASSERT_TRUE(Handle(o).ok());
  EXPECT_EQ(fake_.RequestCount(), 5u);
}

TEST_F(InvestigationTest, AnInvalidSubmitRcaIsRejectedAndTheModelTriesAgain) {
  auto o = Open();
  fake_.Push({FakeReply::ToolUse("submit_rca", Submit("COSMIC_RAYS", 0.9)),
              FakeReply::ToolUse("submit_rca", Submit("DATABASE_BOTTLENECK", 1.5)),
              FakeReply::ToolUse("submit_rca", Submit("DATABASE_BOTTLENECK", 0.7))});
  ASSERT_TRUE(Handle(o).ok());
  Json row = Row(o.incident_id);
  EXPECT_EQ(row["method"], "LLM");
  EXPECT_DOUBLE_EQ(row["candidates"][0]["confidence"].get<double>(), 0.7);
  auto requests = fake_.Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_NE(requests[1].body.find("\"is_error\":true"), std::string::npos);
}

TEST_F(InvestigationTest, AFailingToolIsSurvived) {
  auto o = Open();
  fake_.Push({FakeReply::ToolUse("get_service_architecture", {{"service", "no-such-service"}}),
              FakeReply::ToolUse("get_metric_history", {{"service", "payment-service"}, {"metric", "nope"}}),
              FakeReply::ToolUse("submit_rca", Submit("DATABASE_BOTTLENECK", 0.6))});
  ASSERT_TRUE(Handle(o).ok());
  Json row = Row(o.incident_id);
  EXPECT_EQ(row["method"], "LLM");
  auto calls = row["event"]["tool_calls"];
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_TRUE(calls[0]["is_error"].get<bool>());
  EXPECT_TRUE(calls[1]["is_error"].get<bool>());
}

TEST_F(InvestigationTest, AModelThatKeepsFailingFallsBackToTheDeterministicRanking) {
  auto o = Open();
  for (int i = 0; i < 3; ++i) fake_.Push(FakeReply::Raw(200, "this is not json"));
  ASSERT_TRUE(Handle(o).ok());
  Json row = Row(o.incident_id);
  EXPECT_EQ(row["method"], "FALLBACK");
  EXPECT_EQ(row["service"], "payment-service");
}

// Issue 17: for an alert on a service the catalogue does not know, the model re-runs the alert's
// expression with query_prometheus; the Prometheus double answers the documented matrix, the
// model reads it (untrusted labels, numbers) and the call is in the audit.
TEST_F(InvestigationTest, TheModelReRunsTheAlertExpressionOnPrometheus) {
  const std::string service = testing::Unique("checkout-api");
  const std::string expr = "sum(rate(http_requests_total{service=\"" + service + "\",code=~\"5..\"}[5m])) / "
                           "sum(rate(http_requests_total{service=\"" + service + "\"}[5m])) > 0.05";
  testing::FakePrometheusServer prom;
  prom.SetSeries(expr, {{{{"service", service}}, testing::StepValue(1763892000.0, 0.01, 0.375)}});
  PrometheusClient client(prom.BaseUrl(), std::chrono::seconds(5));
  InvestigationService service_with_prom(*redis_, *db_, *producer_, *catalog_, *llm_, {&client, nullptr, "service"});
  auto o = OpenAlert(service, "HighErrorRate", expr);
  Json submit = {{"summary", "a bad release"},
                 {"candidates",
                  {{{"hypothesis", "A release of the service throws on checkout"}, {"category", "APPLICATION_BUG"},
                    {"service", service}, {"confidence", 0.8}, {"evidence", {"error ratio 0.01 -> 0.375 at detection"}}}}}};
  fake_.Push({FakeReply::ToolUse("query_prometheus", {{"query", expr}, {"minutes_before", 30}}),
              FakeReply::ToolUse("submit_rca", submit)});
  ASSERT_TRUE(Handle(service_with_prom, o).ok());

  Json row = Row(o.incident_id);
  EXPECT_EQ(row["method"], "LLM");
  EXPECT_EQ(row["service"], service);
  EXPECT_EQ(row["category"], "APPLICATION_BUG");
  auto calls = row["event"]["tool_calls"];
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0]["name"], "query_prometheus");
  EXPECT_EQ(calls[0]["input"]["query"], expr);
  EXPECT_FALSE(calls[0]["is_error"].get<bool>());
  // Prometheus was asked over the window around detection (event time), re-stepped.
  ASSERT_EQ(prom.RequestCount(), 1u);
  auto asked = prom.Requests()[0].params;
  EXPECT_EQ(asked["query"], expr);
  EXPECT_EQ(asked["start"], "1763890200");
  EXPECT_EQ(asked["end"], "1763892300");
  EXPECT_EQ(asked["step"], "21");
  // The first request offered the tool and quoted the alert as untrusted text; the second
  // carried the series back.
  auto requests = fake_.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_NE(requests[0].body.find("\"query_prometheus\""), std::string::npos);
  EXPECT_NE(requests[0].body.find("<untrusted_alert>"), std::string::npos);
  EXPECT_NE(requests[0].body.find("query_prometheus can re-run the alert's expression"), std::string::npos);
  EXPECT_NE(requests[1].body.find("tool_result"), std::string::npos);
  EXPECT_NE(requests[1].body.find("0.375"), std::string::npos);
  EXPECT_NE(requests[1].body.find("untrusted_series_labels"), std::string::npos);
  // The submit_rca schema let the model name a service outside the catalogue.
  EXPECT_NE(requests[0].json.dump().find("\"" + service + "\""), std::string::npos);
}

// Issue 17: without a model, the fallback reads the service's error lines from Loki and they
// decide the category; Prometheus being down only costs its query. Both queries are audited.
TEST_F(InvestigationTest, WithoutAModelLokiLinesDecideTheCategoryAndTheQueriesAreAudited) {
  const std::string service = testing::Unique("inventory");
  const int64_t ns = int64_t{1763892000000} * 1000000;
  testing::FakeLokiServer loki;
  loki.AddStream({{{"app", service}, {"pod", service + "-0"}},
                  {{ns - 50'000'000'000, "ERROR java.lang.OutOfMemoryError: Java heap space"},
                   {ns - 30'000'000'000, "ERROR heap usage 97% after full GC"},
                   {ns - 10'000'000'000, "FATAL OutOfMemoryError in worker thread"},
                   {ns - 5'000'000'000, "INFO request served"}}});
  testing::FakePrometheusServer prom;
  const std::string prom_url = prom.BaseUrl();
  prom.Stop();  // down
  PrometheusClient prometheus(prom_url, std::chrono::seconds(2));
  LokiClient loki_client(loki.BaseUrl(), std::chrono::seconds(5));
  Config no_llm = Config::FromMap({{"LLM_PROVIDER", "none"}});
  auto none = llm::MakeClient(llm::LlmConfig::FromConfig(no_llm));
  InvestigationService fallback(*redis_, *db_, *producer_, *catalog_, *none, {&prometheus, &loki_client, "app"});
  auto o = OpenAlert(service, "HighErrorRate", "sum(rate(app_errors_total[5m])) > 1");
  ASSERT_TRUE(Handle(fallback, o).ok());

  Json row = Row(o.incident_id);
  EXPECT_EQ(row["method"], "FALLBACK");
  EXPECT_EQ(row["service"], service);
  EXPECT_EQ(row["category"], "RESOURCE_LEAK") << row.dump();
  auto calls = row["event"]["tool_calls"];
  ASSERT_EQ(calls.size(), 2u) << calls.dump();
  EXPECT_EQ(calls[0]["name"], "query_prometheus");
  EXPECT_TRUE(calls[0]["is_error"].get<bool>());
  EXPECT_EQ(calls[1]["name"], "query_logs");
  EXPECT_FALSE(calls[1]["is_error"].get<bool>());
  EXPECT_EQ(calls[1]["input"]["query"], "{app=\"" + service + "\"} |~ \"(?i)error|fatal|exception\"");
  auto queries = row["event"]["fallback_queries"];
  ASSERT_EQ(queries.size(), 2u) << row["event"].dump();
  EXPECT_FALSE(queries[0]["ok"].get<bool>());
  EXPECT_EQ(queries[1]["lines"], 3);
  ASSERT_EQ(loki.RequestCount(), 1u);
  // The Loki lines are the evidence of the top candidate.
  auto candidates = row["candidates"];
  ASSERT_FALSE(candidates.empty());
  bool cites_loki = false;
  for (const auto& e : candidates[0]["evidence"]) cites_loki = cites_loki || e.get<std::string>().find("OutOfMemoryError") != std::string::npos;
  EXPECT_TRUE(cites_loki) << candidates.dump();
}

// A schema and a Redis database of the test's own: the monitor visits every open incident and
// sweeps every lock, and other tests' incidents and locks must not be resolved or swept by it.
struct MonitorSandbox {
  std::string tag, schema, url, redis_url;
  MonitorSandbox(const std::string& prefix, int redis_db) : tag(testing::Unique(prefix)), schema("t_" + tag) {
    std::replace(schema.begin(), schema.end(), '-', '_');
    Database admin(testing::Stack().database_url);
    EXPECT_TRUE(admin.Transact([&](pqxx::work& tx) {
                       tx.exec("CREATE SCHEMA " + schema);
                       return Status::Ok();
                     }).ok());
    url = testing::Stack().database_url + "?options=-csearch_path%3D" + schema;
    redis_url = testing::Stack().redis_url;
    redis_url = redis_url.substr(0, redis_url.rfind('/')) + "/" + std::to_string(redis_db);
    EXPECT_TRUE(Database(url).Migrate().ok());
    EXPECT_TRUE(RedisClient(*ParseRedisUrl(redis_url)).Command({"FLUSHDB"}).ok());
  }
  ~MonitorSandbox() {
    (void)RedisClient(*ParseRedisUrl(redis_url)).Command({"FLUSHDB"});
    (void)Database(url).Transact([&](pqxx::work& tx) {
      tx.exec("DROP SCHEMA " + schema + " CASCADE");
      return Status::Ok();
    });
  }
};

// Issue 14: the resolution monitor visits every open incident on its own. One whose resolution
// fails (here a trigger of the operator's rejects its update: a real server error) is retried
// every pass and never keeps another from resolving; stale locks are swept.
TEST(ResolutionMonitorIntegrationTest, OneFailingIncidentNeverBlocksAnotherAndStaleLocksAreSwept) {
  if (testing::Stack().kafka_bootstrap.empty()) GTEST_SKIP() << "no native stack";
  MonitorSandbox box("mon", 9);
  const std::string& tag = box.tag;
  const std::string& url = box.url;
  const std::string& redis_url = box.redis_url;
  Database db(url);
  RedisClient redis(*ParseRedisUrl(redis_url));
  auto producer = std::move(Producer::Create({testing::Stack().kafka_bootstrap, {}})).value();
  const std::string svc_a = tag + "-a", svc_b = tag + "-b", svc_closed = tag + "-closed", svc_ghost = tag + "-ghost";
  const std::string a = NewUuid(), b = NewUuid(), closed = NewUuid(), ghost = NewUuid();
  const int64_t detected = 1763892000000;
  const std::string fn = "sre_test_reject_" + a.substr(0, 8);
  ASSERT_TRUE(db.Transact([&](pqxx::work& tx) {
                  for (const auto& [id, svc, status] : {std::tuple{a, svc_a, "REMEDIATING"}, std::tuple{b, svc_b, "REMEDIATING"},
                                                        std::tuple{closed, svc_closed, "CLOSED"}})
                    tx.exec_params(
                        "INSERT INTO incidents (id, status, anomaly_type, severity, service, trigger_metric, baselines, "
                        "detection_time) VALUES ($1::uuid, $2, 'CPU_SATURATION', 'HIGH', $3, 'cpu_percent', "
                        "'{\"cpu_percent\": {\"mean\": 30, \"std\": 2, \"threshold\": 2.5, \"direction\": \"up\"}}'::jsonb, "
                        "to_timestamp($4::double precision / 1000.0))",
                        id, std::string(status), svc, detected);
                  tx.exec("CREATE FUNCTION " + fn + "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                          "IF NEW.id = '" + a + "'::uuid AND NEW.status = 'RESOLVED' THEN "
                          "RAISE EXCEPTION 'resolution of this incident is rejected'; END IF; RETURN NEW; END $$");
                  tx.exec("CREATE TRIGGER " + fn + " BEFORE UPDATE ON incidents FOR EACH ROW EXECUTE FUNCTION " + fn + "()");
                  return Status::Ok();
                }).ok());
  // Both incidents' series are back in their baseline for three samples.
  for (const auto& svc : {svc_a, svc_b})
    for (int i = 1; i <= 3; ++i) {
      std::string ts = std::to_string(detected + i * 10000);
      ASSERT_TRUE(redis.Command({"ZADD", keys::SeriesHistory(svc, "cpu_percent"), ts, ts + "|30|normal"}).ok());
    }
  for (const auto& [svc, id] : {std::pair{svc_a, a}, std::pair{svc_b, b}, std::pair{svc_closed, closed}, std::pair{svc_ghost, ghost}})
    ASSERT_TRUE(redis.Command({"SET", keys::OpenIncidentLock(svc), id}).ok());

  MonitorOptions options;
  options.lock_sweep = std::chrono::milliseconds(0);
  options.missing_row_grace = std::chrono::milliseconds(1500);
  ResolutionMonitor monitor(*ParseRedisUrl(redis_url), url, *producer, options);
  auto status_of = [&](const std::string& id) {
    std::string st;
    EXPECT_TRUE(db.Transact([&](pqxx::work& tx) {
                    st = tx.exec_params1("SELECT status FROM incidents WHERE id = $1::uuid", id)[0].as<std::string>();
                    return Status::Ok();
                  }).ok());
    return st;
  };
  auto lock_of = [&](const std::string& svc) {
    auto r = redis.Command({"GET", keys::OpenIncidentLock(svc)});
    return r.ok() && !r->is_nil() ? r->str : std::string();
  };
  // Whatever the order the monitor visits them in, B resolves while A fails; A is retried.
  for (int pass = 0; pass < 3; ++pass) {
    auto r = monitor.CheckOnce();
    ASSERT_TRUE(r.ok()) << r.status().message();
  }
  EXPECT_EQ(status_of(b), "RESOLVED");
  EXPECT_EQ(lock_of(svc_b), "");
  EXPECT_EQ(status_of(a), "REMEDIATING");
  EXPECT_EQ(lock_of(svc_a), a);
  EXPECT_EQ(lock_of(svc_closed), "") << "the lock of a closed incident survived a sweep";
  EXPECT_EQ(lock_of(svc_ghost), ghost) << "a lock without a row is kept for the grace period";
  // Redis lost the lock of an open incident (restarted empty): the next pass puts it back, so a
  // new breach on that service attaches instead of opening a second incident.
  ASSERT_TRUE(redis.Command({"DEL", keys::OpenIncidentLock(svc_a)}).ok());
  ASSERT_TRUE(monitor.CheckOnce().ok());
  EXPECT_EQ(lock_of(svc_a), a);
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));

  ASSERT_TRUE(db.Transact([&](pqxx::work& tx) {
                  tx.exec("DROP TRIGGER " + fn + " ON incidents");
                  tx.exec("DROP FUNCTION " + fn + "()");
                  return Status::Ok();
                }).ok());
  ASSERT_TRUE(monitor.CheckOnce().ok());
  EXPECT_EQ(status_of(a), "RESOLVED");
  EXPECT_EQ(lock_of(svc_a), "");
  EXPECT_EQ(lock_of(svc_ghost), "");
}

// Signal loss counts event time against the pipeline's clock (the upper quartile of
// sre:clock:services): while the other services' telemetry stands still (detection behind or
// down) a silent incident stays open; once it moves on, the incident is resolved as SIGNAL_LOST.
TEST(ResolutionMonitorIntegrationTest, SignalLossWaitsForThePipelineClock) {
  if (testing::Stack().kafka_bootstrap.empty()) GTEST_SKIP() << "no native stack";
  MonitorSandbox box("clk", 10);
  const std::string& tag = box.tag;
  const std::string& url = box.url;
  const std::string& redis_url = box.redis_url;
  Database db(url);
  RedisClient redis(*ParseRedisUrl(redis_url));
  auto producer = std::move(Producer::Create({testing::Stack().kafka_bootstrap, {}})).value();
  const std::string svc = tag + "-silent", id = NewUuid();
  const int64_t detected = 1763892000000, last_sample = detected + 10000;
  ASSERT_TRUE(db.Transact([&](pqxx::work& tx) {
                  tx.exec_params(
                      "INSERT INTO incidents (id, status, anomaly_type, severity, service, trigger_metric, baselines, "
                      "detection_time) VALUES ($1::uuid, 'REMEDIATING', 'CPU_SATURATION', 'HIGH', $2, 'cpu_percent', "
                      "'{\"cpu_percent\": {\"mean\": 30, \"std\": 2, \"threshold\": 2.5, \"direction\": \"up\"}}'::jsonb, "
                      "to_timestamp($3::double precision / 1000.0))",
                      id, svc, detected);
                  return Status::Ok();
                }).ok());
  // Still breaching when it went silent.
  const std::string ts = std::to_string(last_sample);
  ASSERT_TRUE(redis.Command({"ZADD", keys::SeriesHistory(svc, "cpu_percent"), ts, ts + "|95|breach"}).ok());
  ASSERT_TRUE(redis.Command({"SET", keys::OpenIncidentLock(svc), id}).ok());
  auto clock = [&](const std::string& service, int64_t t) {
    ASSERT_TRUE(redis.Command({"ZADD", keys::kServiceClock, "GT", std::to_string(t), service}).ok());
  };
  // Eight services stopped with the incident (detection stopped), one far in the future.
  clock(svc, last_sample);
  for (int k = 0; k < 7; ++k) clock(tag + "-peer-" + std::to_string(k), last_sample);
  clock(tag + "-absurd", 4000000000000);

  MonitorOptions options;
  options.signal_lost = std::chrono::milliseconds(300);
  ResolutionMonitor monitor(*ParseRedisUrl(redis_url), url, *producer, options);
  auto status = [&] {
    std::string st;
    EXPECT_TRUE(db.Transact([&](pqxx::work& tx) {
                    st = tx.exec_params1("SELECT status FROM incidents WHERE id = $1::uuid", id)[0].as<std::string>();
                    return Status::Ok();
                  }).ok());
    return st;
  };
  ASSERT_TRUE(monitor.CheckOnce().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  ASSERT_TRUE(monitor.CheckOnce().ok());
  EXPECT_EQ(status(), "REMEDIATING") << "resolved while the pipeline's clock stood still";
  // Six of the nine services move on by an hour: the upper quartile does, the incident is lost.
  for (int k = 0; k < 6; ++k) clock(tag + "-peer-" + std::to_string(k), last_sample + 3600000);
  ASSERT_TRUE(monitor.CheckOnce().ok());
  EXPECT_EQ(status(), "RESOLVED");
  std::string method;
  ASSERT_TRUE(db.Transact([&](pqxx::work& tx) {
                  method = tx.exec_params1("SELECT payload->>'method' FROM agent_events WHERE incident_id = $1::uuid "
                                           "AND event_type = 'INCIDENT_RESOLVED'",
                                           id)[0]
                               .as<std::string>();
                  return Status::Ok();
                }).ok());
  EXPECT_EQ(method, "SIGNAL_LOST");
  auto lock = redis.Command({"GET", keys::OpenIncidentLock(svc)});
  ASSERT_TRUE(lock.ok());
  EXPECT_TRUE(lock->is_nil());
}

}  // namespace
}  // namespace sre::investigation
