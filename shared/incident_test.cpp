#include "shared/incident.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <regex>

namespace sre {
namespace {

using S = IncidentStatus;

std::vector<S> AllStatuses() {
  std::vector<S> out;
  for (size_t i = 0; i < EnumCount<S>(); ++i) out.push_back(static_cast<S>(i));
  return out;
}

// The quoted names of StatusOrderSql(), in order.
std::vector<std::string> SqlOrder() {
  std::vector<std::string> out;
  const std::string sql = StatusOrderSql();
  const std::regex quoted("'([A-Z_]+)'");
  for (auto it = std::sregex_iterator(sql.begin(), sql.end(), quoted); it != std::sregex_iterator(); ++it)
    out.push_back((*it)[1]);
  return out;
}

// ---- status ----

TEST(IncidentStatusTest, TheSqlOrderIsTheEnumOrder) {
  EXPECT_EQ(StatusOrderSql(),
            "ARRAY['DETECTING','CORRELATING','INVESTIGATING','RCA_COMPLETE','REMEDIATING','RESOLVED','CLOSED']::text[]");
  const auto order = SqlOrder();
  ASSERT_EQ(order.size(), EnumCount<S>());
  for (S s : AllStatuses()) EXPECT_EQ(order[static_cast<size_t>(s)], ToString(s));
  // The SQL compares array positions; StatusAdvances compares the same positions.
  auto pos = [&](S s) { return std::find(order.begin(), order.end(), ToString(s)) - order.begin(); };
  for (S from : AllStatuses())
    for (S to : AllStatuses()) EXPECT_EQ(StatusAdvances(from, to), pos(from) < pos(to)) << ToString(from) << " -> " << ToString(to);
  EXPECT_EQ(StatusAdvancesSql("status", "$2"),
            "array_position(" + StatusOrderSql() + ", status) < array_position(" + StatusOrderSql() + ", $2)");
}

TEST(IncidentStatusTest, TheRuleTable) {
  struct Row {
    S from, to;
    bool advances;
  };
  const Row rows[] = {
      {S::DETECTING, S::INVESTIGATING, true},   {S::CORRELATING, S::INVESTIGATING, true},
      {S::INVESTIGATING, S::INVESTIGATING, false}, {S::RCA_COMPLETE, S::INVESTIGATING, false},
      {S::INVESTIGATING, S::RCA_COMPLETE, true},  {S::REMEDIATING, S::RCA_COMPLETE, false},
      {S::RCA_COMPLETE, S::REMEDIATING, true},    {S::RESOLVED, S::REMEDIATING, false},
      {S::REMEDIATING, S::RESOLVED, true},        {S::DETECTING, S::RESOLVED, true},
      {S::RESOLVED, S::RESOLVED, false},          {S::CLOSED, S::RESOLVED, false},
      {S::RESOLVED, S::CLOSED, true},             {S::DETECTING, S::CLOSED, true},
      {S::CLOSED, S::CLOSED, false},              {S::CLOSED, S::DETECTING, false},
  };
  for (const auto& r : rows) {
    EXPECT_EQ(StatusAdvances(r.from, r.to), r.advances) << ToString(r.from) << " -> " << ToString(r.to);
    EXPECT_EQ(StatusAfter(r.from, r.to), r.advances ? r.to : r.from);
  }
}

// The hand-written CASE lists AdvanceStatus replaced, as (target, the statuses it moved from):
// every other status stayed. The rule gives the same status after, from every status.
TEST(IncidentStatusTest, TheRuleGivesWhatEveryReplacedCaseListGave) {
  const std::pair<S, std::vector<S>> lists[] = {
      {S::INVESTIGATING, {S::DETECTING, S::CORRELATING}},                                   // correlation
      {S::RCA_COMPLETE, {S::DETECTING, S::CORRELATING, S::INVESTIGATING}},                 // investigation
      {S::REMEDIATING, {S::DETECTING, S::CORRELATING, S::INVESTIGATING, S::RCA_COMPLETE}},  // remediation
      {S::RESOLVED, {S::DETECTING, S::CORRELATING, S::INVESTIGATING, S::RCA_COMPLETE, S::REMEDIATING,
                     S::RESOLVED}},  // resolution monitor: "unless CLOSED"
      {S::CLOSED, AllStatuses()},    // postmortem: unconditional
  };
  for (const auto& [to, from_list] : lists) {
    for (S from : AllStatuses()) {
      bool listed = std::find(from_list.begin(), from_list.end(), from) != from_list.end();
      EXPECT_EQ(StatusAfter(from, to), listed ? to : from) << ToString(from) << " -> " << ToString(to);
    }
  }
}

TEST(IncidentStatusTest, AMoveSaysWhetherItAdvanced) {
  EXPECT_TRUE((StatusMove{S::DETECTING, S::INVESTIGATING}).advanced());
  EXPECT_FALSE((StatusMove{S::CLOSED, S::CLOSED}).advanced());
}

// ---- correlation_context ----

// What agents/correlation stores (service.cpp; the deployment from correlator.cpp).
constexpr const char* kCorrelationContext = R"({
  "signals": [
    {"signal_type": "DEPLOYMENT", "strength": 0.9,
     "description": "CODE deployment 2.0.9 -> 2.1.0 of payment-service 6 min before detection",
     "evidence": ["git_sha abc123", "connection pool refactor", "known risk: pool size"]},
    {"signal_type": "CASCADE", "strength": 0.63, "description": "order-service depends on payment-service",
     "evidence": ["payment-service error_rate 4.1 sigma", "likely_origin"]}],
  "deployment": {"service": "payment-service", "version": "2.1.0", "previous_version": "2.0.9",
                 "change_type": "CODE", "git_sha": "abc123", "description": "connection pool refactor",
                 "known_risks": ["pool size"], "deployed_at": 1763891640000,
                 "minutes_before_detection": 6.0, "confidence": 0.9},
  "summary": "payment-service degraded 6 min after a deployment.",
  "recent_errors": ["HikariPool-1 - Connection is not available"]})";

TEST(CorrelationContextTest, TheStoredShapeDecodesAndRoundTrips) {
  Json stored = Json::parse(kCorrelationContext);
  auto c = FromJson<CorrelationContext>(stored);
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->signals.size(), 2u);
  EXPECT_EQ(c->signals[1].signal_type, "CASCADE");
  EXPECT_EQ(c->signals[1].evidence.back(), "likely_origin");
  ASSERT_TRUE(c->deployment);
  EXPECT_EQ(c->deployment->version, "2.1.0");
  EXPECT_EQ(c->deployment->change_type, ChangeType::CODE);
  EXPECT_EQ(c->deployment->deployed_at, 1763891640000);
  EXPECT_EQ(c->recent_errors.size(), 1u);
  EXPECT_EQ(ToJson(*c), stored) << "the writer's shape, field for field";

  stored["deployment"] = nullptr;  // no deployment matched
  auto none = FromJson<CorrelationContext>(stored);
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_FALSE(none->deployment);
  EXPECT_EQ(ToJson(*none), stored);
}

TEST(CorrelationContextTest, ErrorsNameTheField) {
  auto bad = [](const std::function<void(Json&)>& edit) {
    Json j = Json::parse(kCorrelationContext);
    edit(j);
    auto c = FromJson<CorrelationContext>(j);
    EXPECT_FALSE(c.ok());
    return c.ok() ? std::string() : c.status().message();
  };
  EXPECT_NE(bad([](Json& j) { j["signals"][1]["strength"] = 1.7; }).find("signals[1].strength"), std::string::npos);
  EXPECT_NE(bad([](Json& j) { j["deployment"]["change_type"] = "YOLO"; }).find("deployment.change_type"),
            std::string::npos);
  EXPECT_NE(bad([](Json& j) { j["deployment"].erase("version"); }).find("deployment.version"), std::string::npos);
  EXPECT_NE(bad([](Json& j) { j.erase("summary"); }).find("'summary'"), std::string::npos);
  EXPECT_NE(bad([](Json& j) { j["recent_errors"] = "x"; }).find("recent_errors"), std::string::npos);
}

// ---- baselines ----

// Entries as the writers store them: detection (a metric; a log pattern), sre-ingest (an alert,
// later resolved by ResolveAlertTrigger), and detection's older rows without unit or lines.
constexpr const char* kBaselines = R"({
  "error_rate": {"mean": 0.52, "std": 0.11, "threshold": 3.0, "direction": "up", "since": 1763892000000, "unit": "%"},
  "request_rate": {"mean": 240.0, "std": 12.5, "threshold": 3.5, "direction": "both", "since": 1763892000000, "unit": "req/s"},
  "log:OutOfMemoryError": {"pattern": "OutOfMemoryError", "since": 1763892010000, "unit": "lines", "lines": 3.0},
  "alert:HighErrorRate": {"kind": "alert", "source": "alertmanager", "alertname": "HighErrorRate",
                          "fingerprint": "6f1c2d3e4a5b6c7d", "expr": "sum(rate(http_requests_total{status=~\"5..\"}[5m])) > 1",
                          "since": 1763891990000, "labels": {"alertname": "HighErrorRate", "service": "checkout", "severity": "critical"},
                          "generator_url": "http://prometheus:9090/graph?g0.expr=x", "resolved_at": 1763892300000},
  "alert:TargetDown": {"kind": "alert", "source": "grafana", "alertname": "TargetDown", "fingerprint": "f2",
                       "expr": "", "since": 1763891990000, "labels": {}, "generator_url": ""}})";
constexpr const char* kOlderBaselines = R"({
  "latency_p99_ms": {"mean": 380, "std": 20, "threshold": 2.5, "direction": "up", "since": 1763892000000},
  "log:panic": {"pattern": "panic", "since": 1763892000000}})";

TEST(BaselinesTest, TheStoredShapesDecodeAndRoundTrip) {
  Json stored = Json::parse(kBaselines);
  auto b = FromJson<IncidentBaselines>(stored);
  ASSERT_TRUE(b.ok()) << b.status().message();
  ASSERT_EQ(b->triggers.size(), 5u);
  const auto* metric = b->Find("error_rate")->metric();
  ASSERT_TRUE(metric);
  EXPECT_EQ(metric->mean, 0.52);
  EXPECT_EQ(metric->std, 0.11);
  EXPECT_EQ(metric->threshold, 3.0);
  EXPECT_EQ(metric->direction, "up");
  EXPECT_EQ(metric->since, 1763892000000);
  EXPECT_EQ(b->Find("error_rate")->unit(), "%");
  EXPECT_EQ(b->Find("request_rate")->metric()->direction, "both");
  const auto* pattern = b->Find("log:OutOfMemoryError")->pattern();
  ASSERT_TRUE(pattern);
  EXPECT_EQ(pattern->pattern, "OutOfMemoryError");
  EXPECT_EQ(pattern->lines, 3.0);
  EXPECT_EQ(b->Find("log:OutOfMemoryError")->unit(), "lines");
  const auto* alert = b->Find("alert:HighErrorRate")->alert();
  ASSERT_TRUE(alert);
  EXPECT_EQ(alert->fingerprint, "6f1c2d3e4a5b6c7d");
  EXPECT_EQ(alert->alertname, "HighErrorRate");
  EXPECT_EQ(alert->labels->at("service"), "checkout");
  EXPECT_EQ(alert->resolved_at, 1763892300000);
  EXPECT_FALSE(b->Find("alert:TargetDown")->alert()->resolved_at);
  EXPECT_FALSE(b->Find("alert:TargetDown")->unit());
  EXPECT_EQ(b->Find("nope"), nullptr);
  EXPECT_EQ(ToJson(*b), stored) << "the writers' shapes, field for field";

  Json older = Json::parse(kOlderBaselines);
  auto o = FromJson<IncidentBaselines>(older);
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_FALSE(o->Find("latency_p99_ms")->unit());
  EXPECT_FALSE(o->Find("log:panic")->pattern()->lines);
  EXPECT_EQ(ToJson(*o), older) << "absent fields stay absent (never null)";

  auto empty = FromJson<IncidentBaselines>(Json::object());  // the column's default
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->triggers.empty());
}

TEST(BaselinesTest, AnUnresolvedAlertIsWrittenWithoutResolvedAt) {
  // ResolveAlertTrigger's SQL sets resolved_at only where the key is absent.
  AlertBaseline a;
  a.fingerprint = "f1";
  a.since = 1000;
  TriggerBaseline t{a};
  Json j = ToJson(t);
  EXPECT_FALSE(j.contains("resolved_at")) << j.dump();
  EXPECT_FALSE(j.contains("labels")) << j.dump();
  EXPECT_EQ(j, Json::parse(R"({"kind": "alert", "fingerprint": "f1", "since": 1000})"));
  auto back = FromJson<TriggerBaseline>(j);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(back->alert());

  MetricBaseline m;
  m.mean = 1;
  m.std = 0.5;
  m.threshold = 3;
  m.direction = "down";
  m.unit = "ms";
  auto round = FromJson<TriggerBaseline>(ToJson(TriggerBaseline{m}));
  ASSERT_TRUE(round.ok()) << round.status().message();
  ASSERT_TRUE(round->metric());
  EXPECT_EQ(round->metric()->direction, "down");
  EXPECT_EQ(round->unit(), "ms");
}

TEST(BaselinesTest, ErrorsNameTheTriggerAndTheField) {
  auto message = [](const char* text) {
    auto b = FromJson<IncidentBaselines>(Json::parse(text));
    EXPECT_FALSE(b.ok()) << text;
    return b.ok() ? std::string() : b.status().message();
  };
  EXPECT_EQ(message(R"({"cpu_percent": {"mean": "thirty", "std": 1, "threshold": 2.5, "direction": "up"}})"),
            "field 'cpu_percent.mean': expected a number, got a string");
  EXPECT_EQ(message(R"({"cpu_percent": {"mean": 30, "std": 1, "threshold": 2.5}})"),
            "field 'cpu_percent.direction': missing required field");
  EXPECT_EQ(message(R"({"cpu_percent": {"mean": 30, "std": 1, "threshold": 2.5, "direction": "sideways"}})"),
            "field 'cpu_percent.direction': unknown value 'sideways' (expected one of up, down, both)");
  EXPECT_NE(message(R"({"cpu_percent": {"mean": 30, "std": -1, "threshold": 2.5, "direction": "up"}})")
                .find("'cpu_percent.std'"),
            std::string::npos);
  EXPECT_EQ(message(R"({"log:x": {"pattern": 5}})"), "field 'log:x.pattern': expected a string, got a number");
  EXPECT_EQ(message(R"({"alert:Odd": {"kind": "alert", "expr": 7, "fingerprint": "f"}})"),
            "field 'alert:Odd.expr': expected a string, got a number");
  EXPECT_EQ(message(R"({"alert:Odd": {"kind": "alert", "since": 1}})"),
            "field 'alert:Odd.fingerprint': missing required field");
  EXPECT_EQ(message(R"({"alert:Odd": {"kind": "alert", "fingerprint": "f", "since": "yesterday"}})"),
            "field 'alert:Odd.since': expected an integer, got a string");
  EXPECT_EQ(message(R"({"alert:Odd": {"kind": "alert", "fingerprint": "f", "labels": {"n": 3}}})"),
            "field 'alert:Odd.labels.n': expected a string, got a number");
  EXPECT_EQ(message(R"({"alert:X": {"kind": "metric"}})"),
            "field 'alert:X.kind': unknown value 'metric' (expected alert)");
  EXPECT_EQ(message(R"({"junk": 3})"), "field 'junk': expected an object, got a number");
  EXPECT_EQ(message(R"([])"), "payload: expected an object, got an array");
}

}  // namespace
}  // namespace sre
