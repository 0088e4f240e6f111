// End to end with the real programs (issue 17): Prometheus 2.42 scrapes the simulator's /metrics
// and remote-writes every sample to sre-ingest; an alerting rule fires to Alertmanager 0.25, which
// posts to sre-ingest. The simulator publishes nothing to the broker itself (SIM_PUBLISH=none),
// so every metric the pipeline sees came through Prometheus. One injected failure must give one
// incident on the right service, an RCA whose audit holds a query_prometheus call (the LLM double
// asks for it; Prometheus answers), five emails in MailDev, and the incident closes once
// Alertmanager reports the alert resolved.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <regex>
#include <thread>

#include "shared/ids.h"
#include "shared/postgres.h"
#include "tests/support/fake_llm_server.h"
#include "tests/support/pipeline_harness.h"
#include "tests/support/prom_stack.h"
#include "tests/support/test_stack.h"

namespace sre {
namespace {

using namespace std::chrono_literals;
using testing::FakeReply;
using testing::Stack;

constexpr const char* kRules = R"yaml(groups:
  - name: e2e
    rules:
      - alert: HighErrorRate
        expr: sim_metric_value{metric="error_rate"} > 5
        labels:
          severity: critical
        annotations:
          summary: "{{ $labels.service }} error rate is {{ $value }}%"
          value: "{{ $value }}"
)yaml";

struct Row {
  std::string id, status;
};

std::vector<Row> IncidentsOn(const std::string& service, int64_t since_wall_ms) {
  std::vector<Row> out;
  Database db(Stack().database_url);
  EXPECT_TRUE(db.Transact([&](pqxx::work& tx) {
                  for (auto r : tx.exec_params("SELECT id::text, status FROM incidents WHERE service = $1 "
                                               "AND created_at >= to_timestamp($2::double precision / 1000.0)",
                                               service, since_wall_ms))
                    out.push_back({r[0].as<std::string>(), r[1].as<std::string>()});
                  return Status::Ok();
                }).ok());
  return out;
}

std::vector<Json> Events(const std::string& incident_id, const std::string& type) {
  std::vector<Json> out;
  Database db(Stack().database_url);
  EXPECT_TRUE(db.Transact([&](pqxx::work& tx) {
                  for (auto r : tx.exec_params("SELECT agent_name, payload::text FROM agent_events WHERE incident_id = "
                                               "$1::uuid AND event_type = $2 ORDER BY id",
                                               incident_id, type))
                    out.push_back(Json{{"agent", r[0].as<std::string>()}, {"payload", Json::parse(r[1].as<std::string>())}});
                  return Status::Ok();
                }).ok());
  return out;
}

Json MailDev() {
  std::string url = Stack().maildev_url.substr(7);  // http://
  auto colon = url.find(':');
  httplib::Client c(url.substr(0, colon), std::stoi(url.substr(colon + 1)));
  auto r = c.Get("/email");
  return r ? Json::parse(r->body, nullptr, false) : Json::array();
}

size_t MailsFor(const std::string& incident_id) {
  size_t n = 0;
  std::string number = IncidentNumber(incident_id);
  for (const auto& m : MailDev())
    if (m.is_object() && m.value("subject", std::string()).find(number) != std::string::npos) ++n;
  return n;
}

// A counter's value in a Prometheus text exposition (summed over the label sets matching).
double MetricSum(const std::string& text, const std::string& name, const std::string& must_contain) {
  double sum = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name, 0) == 0 && line.find(must_contain) != std::string::npos)
      sum += std::stod(line.substr(line.rfind(' ') + 1));
  return sum;
}

TEST(PrometheusE2E, ARealAlertBecomesOneIncidentWithAPrometheusQueryInItsRcaAndClosesWhenResolved) {
  SRE_REQUIRE_STACK();
  if (std::string missing = testing::PromStack::MissingBinaries(); !missing.empty()) GTEST_SKIP() << missing;
  const int64_t start_wall = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count() - 1000;
  std::string logs = std::filesystem::current_path().string() + "/prometheus-e2e-logs";
  std::filesystem::create_directories(logs);

  // The model asks Prometheus about the error rate, then submits; every later call fails fast
  // (the other agents' calls, if any, take the deterministic fallback).
  testing::FakeLlmServer llm;
  llm.SetDefault(FakeReply::Error(400, "invalid_request_error", "no scripted reply (e2e)"));
  llm.Push({FakeReply::ToolUse("query_prometheus",
                               {{"query", "sim_metric_value{metric=\"error_rate\",service=\"order-service\"}"},
                                {"minutes_before", 10}}),
            FakeReply::ToolUse(
                "submit_rca",
                {{"summary", "promotion pricing throws on a code without a rule"},
                 {"candidates",
                  {{{"hypothesis", "NullPointerException in promotion pricing fails checkouts"},
                    {"category", "APPLICATION_BUG"},
                    {"service", "order-service"},
                    {"confidence", 0.8},
                    {"evidence", {"error_rate from 0.5% to 45% (query_prometheus)"}}}}}})});

  const int prometheus_port = testing::FreePort();
  testing::PipelineOptions options;
  options.logs_dir = logs;
  options.sim_speed = 10;
  options.sim_backfill_s = 0;
  options.with_ingest = true;
  options.process_env["simulator"] = {{"SIM_PUBLISH", "none"}};
  options.process_env["investigation"] = {{"LLM_PROVIDER", "anthropic"},
                                          {"ANTHROPIC_API_KEY", "e2e-test-key"},
                                          {"ANTHROPIC_BASE_URL", llm.BaseUrl()},
                                          {"PROMETHEUS_URL", "http://127.0.0.1:" + std::to_string(prometheus_port)}};
  options.process_env["ingest"] = {{"INGEST_TOKEN", "e2e-token"}};
  testing::PipelineHarness harness(options);
  std::string error;
  ASSERT_TRUE(harness.Start(&error)) << error;
  ASSERT_TRUE(testing::Eventually([&] { return harness.HealthStatus("ingest") == 200; }, 60s))
      << "sre-ingest not healthy; see " << logs << "/ingest.log";
  ASSERT_TRUE(testing::Eventually([&] { return harness.SimNow() > 0; }, 60s));

  testing::PromStackOptions prom;
  prom.scrape_target = "127.0.0.1:" + std::to_string(harness.sim_port());
  prom.remote_write_url = "http://127.0.0.1:" + std::to_string(harness.ingest_port()) + "/api/v1/write";
  prom.webhook_url = "http://127.0.0.1:" + std::to_string(harness.ingest_port()) + "/api/v1/alerts/alertmanager";
  prom.webhook_token = "e2e-token";
  prom.remote_write_token = "e2e-token";
  prom.rules_yaml = kRules;
  prom.dir = logs + "/prom";
  prom.prometheus_port = prometheus_port;
  testing::PromStack stack(prom);
  ASSERT_EQ(stack.Start(), "");

  // Remote write reaches the broker through the mapping (sim_metric_value → the seven metrics);
  // detection warms up on it (20 samples) before the failure.
  ASSERT_TRUE(testing::Eventually(
      [&] {
        return MetricSum(harness.MetricsText("ingest"), "sre_ingest_samples_total",
                         "outcome=\"forwarded\"") >= 6 * 7 * 25;
      },
      120s, 500ms))
      << "remote write did not arrive; see " << stack.prometheus_log() << " and " << logs << "/ingest.log";

  int status = 0;
  harness.SimApi("POST", "/api/scenarios/ERROR_RATE_SPIKE", &status);
  ASSERT_EQ(status, 201);

  std::string id;
  ASSERT_TRUE(testing::Eventually(
      [&] {
        auto rows = IncidentsOn("order-service", start_wall);
        if (rows.empty()) return false;
        id = rows[0].id;
        return true;
      },
      120s, 500ms))
      << "no incident; Alertmanager log: " << stack.alertmanager_log();
  // The alert reached the incident through sre-ingest (it opened it, or joined detection's).
  ASSERT_TRUE(testing::Eventually(
      [&] {
        for (const char* type : {"ANOMALY_DETECTED", "ALERT_ATTACHED"})
          for (const auto& e : Events(id, type))
            if (e["agent"] == "ingest") return true;
        return false;
      },
      60s, 500ms));

  // The RCA asked Prometheus, and Prometheus answered (not an error result).
  ASSERT_TRUE(testing::Eventually([&] { return !Events(id, "RCA_COMPLETED").empty(); }, 120s, 500ms));
  Json rca = Events(id, "RCA_COMPLETED")[0]["payload"];
  bool queried = false;
  for (const auto& call : rca["tool_calls"])
    if (call["name"] == "query_prometheus") {
      queried = true;
      EXPECT_FALSE(call["is_error"].get<bool>()) << call.dump();
    }
  EXPECT_TRUE(queried) << rca.dump();
  EXPECT_EQ(rca["method"], "LLM") << rca.dump();

  // Alertmanager reports the alert resolved once the failure is over; the incident resolves,
  // gets its postmortem and closes; five emails, one per stage.
  ASSERT_TRUE(testing::Eventually(
      [&] {
        auto rows = IncidentsOn("order-service", start_wall);
        return !rows.empty() && rows[0].status == "CLOSED";
      },
      300s, 1s))
      << "not closed; see " << logs;
  bool alert_resolved = false;
  for (const auto& e : Events(id, "ALERT_RESOLVED")) alert_resolved |= e["agent"] == "ingest";
  EXPECT_TRUE(alert_resolved);
  ASSERT_TRUE(testing::Eventually([&] { return MailsFor(id) >= 5; }, 120s, 1s));
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(MailsFor(id), 5u);
  EXPECT_EQ(IncidentsOn("order-service", start_wall).size(), 1u);
}

}  // namespace
}  // namespace sre
