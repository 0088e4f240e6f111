#include "agents/ingest/alerts.h"

#include <gtest/gtest.h>

namespace sre::ingest {
namespace {

// The Alertmanager webhook (version 4) as Alertmanager 0.25 sends it.
Json AlertmanagerBody() {
  return Json::parse(R"json({
    "version": "4",
    "groupKey": "{}:{alertname=\"HighErrorRate\", service=\"payment-service\"}",
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "sre-ingest",
    "groupLabels": {"alertname": "HighErrorRate", "service": "payment-service"},
    "commonLabels": {"alertname": "HighErrorRate", "service": "payment-service", "severity": "critical"},
    "commonAnnotations": {"summary": "payment-service error rate above 5%"},
    "externalURL": "http://alertmanager:9093",
    "futureField": {"ignored": true},
    "alerts": [{
      "status": "firing",
      "labels": {"alertname": "HighErrorRate", "service": "payment-service", "severity": "critical", "instance": "sim:8100"},
      "annotations": {"summary": "payment-service error rate above 5%", "description": "error rate is 12.5%", "value": "12.5"},
      "startsAt": "2026-12-05T01:02:03.123456789Z",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://prometheus:9090/graph?g0.expr=sim_metric_value%7Bmetric%3D%22error_rate%22%7D+%3E+5&g0.tab=1",
      "fingerprint": "4f2c1b0a9e8d7c6b"
    }]
  })json");
}

// Grafana's documented webhook example, with a service label added to the second alert.
Json GrafanaBody() {
  return Json::parse(R"json({
    "receiver": "My Super Webhook", "status": "firing", "orgId": 1,
    "alerts": [
      {"status": "firing", "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
       "annotations": {"description": "The system has high memory usage", "runbook_url": "https://myrunbook.com/runbook/1234",
                       "summary": "This alert was triggered for zone us-1"},
       "startsAt": "2021-10-12T09:51:03.157076+02:00", "endsAt": "0001-01-01T00:00:00Z",
       "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit", "fingerprint": "c6eadffa33fcdf37",
       "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1",
       "dashboardURL": "", "panelURL": "", "values": {"B": 44.23943737541908, "C": 1}},
      {"status": "resolved", "labels": {"alertname": "High CPU usage", "team": "blue", "zone": "eu-1", "service": "checkout"},
       "annotations": {"summary": "cpu"}, "startsAt": "2021-10-12T09:56:03.157076+02:00", "endsAt": "2021-10-12T10:01:03Z",
       "generatorURL": "https://play.grafana.org/alerting/d1rdpdv7k/edit", "fingerprint": "bc97ff14869b13e3",
       "silenceURL": "", "dashboardURL": "https://play.grafana.org/d/x", "panelURL": "https://play.grafana.org/d/x?viewPanel=3",
       "values": null}
    ],
    "groupLabels": {}, "commonLabels": {"team": "blue"}, "commonAnnotations": {},
    "externalURL": "https://play.grafana.org/", "version": "1",
    "groupKey": "{}:{alertname=\"High memory usage\"}", "truncatedAlerts": 0,
    "title": "[FIRING:1]  (High memory usage blue us-1)", "state": "alerting", "message": "**Firing**"
  })json");
}

TEST(ParseRfc3339Test, ZonesFractionsAndErrors) {
  EXPECT_EQ(*ParseRfc3339Ms("1970-01-01T00:00:01Z"), 1000);
  EXPECT_EQ(*ParseRfc3339Ms("2026-12-05T01:02:03.123456789Z"), 1796432523123);
  EXPECT_EQ(*ParseRfc3339Ms("2021-10-12T09:51:03.157076+02:00"), *ParseRfc3339Ms("2021-10-12T07:51:03.157Z"));
  EXPECT_EQ(*ParseRfc3339Ms("2021-10-12T05:51:03.5-02:00"), *ParseRfc3339Ms("2021-10-12T07:51:03.500Z"));
  EXPECT_LT(*ParseRfc3339Ms("0001-01-01T00:00:00Z"), 0);  // Go's zero time
  for (const char* bad : {"", "2021-10-12", "2021-10-12T07:51:03", "2021-13-12T07:51:03Z", "2021-10-12T07:51:03.Z",
                          "2021-10-12T07:51:03Zjunk", "yesterday"})
    EXPECT_FALSE(ParseRfc3339Ms(bad).ok()) << bad;
}

TEST(ExprFromGeneratorUrlTest, DecodesTheFirstExpression) {
  EXPECT_EQ(ExprFromGeneratorUrl("http://p:9090/graph?g0.expr=sim_metric_value%7Bmetric%3D%22error_rate%22%7D+%3E+5&g0.tab=1"),
            "sim_metric_value{metric=\"error_rate\"} > 5");
  EXPECT_EQ(ExprFromGeneratorUrl("http://p/graph?g0.tab=1&g0.expr=up+%3D%3D+0"), "up == 0");
  EXPECT_EQ(ExprFromGeneratorUrl("https://play.grafana.org/alerting/1afz29v7z/edit"), "");
  EXPECT_EQ(ExprFromGeneratorUrl("http://p/graph?g0.expr=a%2"), "a%2");  // a cut escape stays as it is
}

TEST(ParseAlertNotificationTest, AlertmanagerVersion4) {
  auto n = ParseAlertNotification(AlertmanagerBody(), AlertSource::kAlertmanager);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(n->receiver, "sre-ingest");
  EXPECT_EQ(n->common_labels.at("severity"), "critical");
  ASSERT_EQ(n->alerts.size(), 1u);
  const Alert& a = n->alerts[0];
  EXPECT_EQ(a.status, "firing");
  EXPECT_EQ(a.fingerprint, "4f2c1b0a9e8d7c6b");
  EXPECT_EQ(a.starts_at_ms, 1796432523123);
  EXPECT_FALSE(a.ends_at_ms.has_value());
}

TEST(ParseAlertNotificationTest, GrafanaDocumentedShape) {
  auto n = ParseAlertNotification(GrafanaBody(), AlertSource::kGrafana);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(n->org_id, 1);
  EXPECT_EQ(n->state, "alerting");
  ASSERT_EQ(n->alerts.size(), 2u);
  EXPECT_DOUBLE_EQ(n->alerts[0].values.at("B"), 44.23943737541908);
  EXPECT_EQ(n->alerts[1].status, "resolved");
  ASSERT_TRUE(n->alerts[1].ends_at_ms.has_value());
  EXPECT_EQ(*n->alerts[1].ends_at_ms, *ParseRfc3339Ms("2021-10-12T10:01:03Z"));
  EXPECT_EQ(n->alerts[1].panel_url, "https://play.grafana.org/d/x?viewPanel=3");
}

TEST(ParseAlertNotificationTest, MalformedInputNamesTheField) {
  struct Case {
    std::string patch_path;
    Json value;
    std::string error;
  };
  std::vector<Case> cases = {
      {"/alerts", "x", "alerts: not an array"},
      {"/version", "3", "version: \"3\" is not a supported webhook version (4)"},
      {"/alerts/0/startsAt", "soon", "alerts[0].startsAt: not an RFC 3339 time"},
      {"/alerts/0/status", "pending", "alerts[0].status: \"pending\" is neither firing nor resolved"},
      {"/alerts/0/labels", Json::array(), "alerts[0].labels: not an object of strings"},
      {"/alerts/0/labels/severity", 3, "alerts[0].labels.severity: not a string"},
      {"/alerts/0/values", Json{{"B", "high"}}, "alerts[0].values.B: not a number"},
      {"/truncatedAlerts", "none", "truncatedAlerts: not an integer"},
      {"/commonLabels", 1, "commonLabels: not an object of strings"},
  };
  for (const auto& c : cases) {
    Json body = AlertmanagerBody();
    body[Json::json_pointer(c.patch_path)] = c.value;
    auto n = ParseAlertNotification(body, AlertSource::kAlertmanager);
    ASSERT_FALSE(n.ok()) << c.patch_path;
    EXPECT_EQ(n.status().message(), c.error) << c.patch_path;
  }
  Json no_alerts = AlertmanagerBody();
  no_alerts.erase("alerts");
  EXPECT_EQ(ParseAlertNotification(no_alerts, AlertSource::kAlertmanager).status().message(), "alerts: missing");
  EXPECT_FALSE(ParseAlertNotification(Json::array(), AlertSource::kAlertmanager).ok());
  Json many = AlertmanagerBody();
  for (int i = 0; i < 5; ++i) many["alerts"].push_back(many["alerts"][0]);
  EXPECT_EQ(ParseAlertNotification(many, AlertSource::kAlertmanager, 3).status().message(),
            "alerts: more than 3 alerts");
}

TEST(AlertSeverityTest, Table) {
  struct Row {
    const char* label;
    Severity want;
  };
  for (const Row& r : std::vector<Row>{{"critical", Severity::CRITICAL}, {"PAGE", Severity::CRITICAL},
                                       {"P1", Severity::CRITICAL},       {"high", Severity::HIGH},
                                       {"error", Severity::HIGH},        {"warning", Severity::MEDIUM},
                                       {"whatever", Severity::MEDIUM},   {"info", Severity::LOW},
                                       {"none", Severity::LOW}})
    EXPECT_EQ(AlertSeverity({{"severity", r.label}}), r.want) << r.label;
  EXPECT_EQ(AlertSeverity({}), Severity::MEDIUM);
}

TEST(AlertAnomalyTypeTest, LabelThenNameThenExpression) {
  struct Row {
    Labels labels;
    std::string expr;
    AnomalyType want;
  };
  std::vector<Row> rows = {
      {{{"alertname", "HighErrorRate"}}, "", AnomalyType::ERROR_RATE_SPIKE},
      {{{"alertname", "P99LatencyHigh"}}, "", AnomalyType::LATENCY_SPIKE},
      {{{"alertname", "KafkaConsumerLagHigh"}}, "", AnomalyType::KAFKA_CONSUMER_LAG},
      {{{"alertname", "DBConnectionPoolExhausted"}}, "", AnomalyType::DB_CONNECTION_EXHAUSTION},
      {{{"alertname", "HostCpuSaturated"}}, "", AnomalyType::CPU_SATURATION},
      {{{"alertname", "ContainerOOMKilled"}}, "", AnomalyType::MEMORY_LEAK},
      {{{"alertname", "TargetDown"}}, "up == 0", AnomalyType::DEPENDENCY_OUTAGE},
      {{{"alertname", "Generic"}}, "sim_metric_value{metric=\"latency_p99_ms\"} > 800", AnomalyType::LATENCY_SPIKE},
      {{{"alertname", "Generic"}}, "rate(http_requests_total{code=~\"5..\"}[5m]) > 1", AnomalyType::ERROR_RATE_SPIKE},
      {{{"alertname", "Generic"}}, "x > 1", AnomalyType::UNKNOWN},
      {{{"alertname", "HighErrorRate"}, {"anomaly_type", "memory_leak"}}, "", AnomalyType::MEMORY_LEAK},
      {{{"alertname", "HighErrorRate"}, {"anomaly_type", "nonsense"}}, "", AnomalyType::ERROR_RATE_SPIKE},
  };
  for (const auto& r : rows) {
    Alert a;
    a.labels = r.labels;
    EXPECT_EQ(AlertAnomalyType(a, r.expr), r.want) << r.labels.at("alertname") << " / " << r.expr;
  }
}

TEST(ToAnomalyTest, FiringAlertmanagerAlert) {
  auto n = ParseAlertNotification(AlertmanagerBody(), AlertSource::kAlertmanager);
  ASSERT_TRUE(n.ok());
  auto aa = ToAnomaly(n->alerts[0], *n, {"service", "job"});
  ASSERT_TRUE(aa.ok()) << aa.status().message();
  EXPECT_EQ(aa->service, "payment-service");
  EXPECT_EQ(aa->trigger, "alert:HighErrorRate");
  EXPECT_EQ(aa->dedup_key, "4f2c1b0a9e8d7c6b/1796432523123");
  EXPECT_EQ(aa->expr, "sim_metric_value{metric=\"error_rate\"} > 5");
  const AnomalyDetected& a = aa->anomaly;
  EXPECT_EQ(a.incident_id, aa->candidate_id);
  EXPECT_EQ(a.anomaly_type, AnomalyType::ERROR_RATE_SPIKE);
  EXPECT_EQ(a.severity, Severity::CRITICAL);
  EXPECT_EQ(a.trigger_metric, "alert:HighErrorRate");
  EXPECT_DOUBLE_EQ(a.observed_value, 12.5);
  EXPECT_EQ(a.detection_time, 1796432523123);
  EXPECT_EQ(a.description, "Alert HighErrorRate firing on payment-service: payment-service error rate above 5%");
  bool expr_in_evidence = false;
  for (const auto& e : a.evidence) expr_in_evidence |= e == "expr: sim_metric_value{metric=\"error_rate\"} > 5";
  EXPECT_TRUE(expr_in_evidence);
  EXPECT_EQ(aa->baseline.kind, "alert");
  EXPECT_EQ(aa->baseline.fingerprint, "4f2c1b0a9e8d7c6b");
  EXPECT_EQ(aa->baseline.since, 1796432523123);
  // The payload passes the contract's own validation.
  auto round = Decode<AnomalyDetected>(Encode(a));
  ASSERT_TRUE(round.ok()) << round.status().message();

  // The same alert re-sent (group_interval, an HA peer) has the same identity.
  auto again = ToAnomaly(n->alerts[0], *n, {"service", "job"});
  EXPECT_EQ(again->anomaly.event_id, a.event_id);
  EXPECT_EQ(again->candidate_id, aa->candidate_id);
  // A new firing of the same alert (a new startsAt) is a new identity.
  Alert later = n->alerts[0];
  later.starts_at_ms += 600000;
  EXPECT_NE(ToAnomaly(later, *n, {"service", "job"})->anomaly.event_id, a.event_id);
}

TEST(ToAnomalyTest, ServiceLabelsInOrderThenCommonLabels) {
  auto n = ParseAlertNotification(GrafanaBody(), AlertSource::kGrafana);
  ASSERT_TRUE(n.ok());
  auto none = ToAnomaly(n->alerts[0], *n, {"service", "job"});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message(), "labels: none of the service labels (service, job) is set");
  auto by_team = ToAnomaly(n->alerts[0], *n, {"service", "team"});
  ASSERT_TRUE(by_team.ok());
  EXPECT_EQ(by_team->service, "blue");
  EXPECT_DOUBLE_EQ(by_team->anomaly.observed_value, 44.23943737541908);
  EXPECT_EQ(by_team->anomaly.anomaly_type, AnomalyType::MEMORY_LEAK);
  EXPECT_EQ(by_team->expr, "");  // a Grafana generatorURL carries no PromQL
  EXPECT_EQ(ToAnomaly(n->alerts[1], *n, {"service", "team"})->service, "checkout");
}

TEST(AlertFingerprintTest, StableFromLabelsWhenAbsent) {
  Alert a;
  a.labels = {{"alertname", "X"}, {"service", "s"}};
  Alert b = a;
  EXPECT_EQ(AlertFingerprint(a), AlertFingerprint(b));
  EXPECT_EQ(AlertFingerprint(a).size(), 16u);
  b.labels["zone"] = "eu";
  EXPECT_NE(AlertFingerprint(a), AlertFingerprint(b));
  a.fingerprint = "given";
  EXPECT_EQ(AlertFingerprint(a), "given");
}

}  // namespace
}  // namespace sre::ingest
