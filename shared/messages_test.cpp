#include "shared/messages.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "shared/ids.h"

namespace sre {
namespace {

template <typename T>
T WithEnvelope(T v) {
  v.event_id = NewUuid();
  v.timestamp = 1763892000000;
  return v;
}

// Encode → Decode → Encode must be identical, for every payload type.
template <typename T>
void ExpectRoundTrip(const T& v) {
  std::string once = Encode(v);
  auto back = Decode<T>(once);
  ASSERT_TRUE(back.ok()) << back.status().message() << "\n" << once;
  EXPECT_EQ(Encode(*back), once);
}

TEST(MessagesTest, EveryPayloadTypeRoundTrips) {
  std::string incident = NewUuid();

  RawMetric m = WithEnvelope(RawMetric{});
  m.source_service = "payment-service";
  m.metric_name = "latency_p99_ms";
  m.metric_value = 381.25;
  m.labels = {{"region", "eu-west-1"}};
  ExpectRoundTrip(m);

  RawLog l = WithEnvelope(RawLog{});
  l.source_service = "order-service";
  l.level = LogLevel::ERROR;
  l.message = "NullPointerException at OrderProcessor.apply(OrderProcessor.java:142)";
  l.trace_id = "4bf92f3577b34da6";
  ExpectRoundTrip(l);

  RawDeployment d = WithEnvelope(RawDeployment{});
  d.source_service = "user-service";
  d.version = "2.4.1";
  d.previous_version = "2.4.0";
  d.change_type = ChangeType::CONFIG;
  d.git_sha = "9fceb02";
  d.known_risks = {"new session cache"};
  ExpectRoundTrip(d);

  AnomalyDetected a = WithEnvelope(AnomalyDetected{});
  a.incident_id = incident;
  a.anomaly_type = AnomalyType::MEMORY_LEAK;
  a.severity = Severity::HIGH;
  a.service = "notification-service";
  a.trigger_metric = "memory_percent";
  a.observed_value = 91;
  a.baseline_mean = 55;
  a.baseline_std = 1.2;
  a.deviation_sigma = 30;
  a.anomaly_score = 0.98;
  a.time_to_failure_s = 240;
  a.detection_time = 1763892000000;
  a.evidence = {"OutOfMemoryError: Java heap space"};
  ExpectRoundTrip(a);
  a.time_to_failure_s.reset();
  ExpectRoundTrip(a);

  IncidentOpened o = WithEnvelope(IncidentOpened{});
  o.incident_id = incident;
  o.detection_time = 1763892000000;
  o.service = "payment-service";
  o.affected_services = {"payment-service", "order-service"};
  o.blast_radius = {{"payment-service", "order-service"},
                    "checkout failing for ~30% of users",
                    "two P0 services"};
  o.correlation_signals = {
      {"DEPLOYMENT", 0.9, "payment 3.1.0 deployed 6 min before", {"sha 1a2b"}}};
  o.deployment_context = Json{{"version", "3.1.0"}};
  o.recent_metrics = {{"latency_p99_ms", {380, 390, 2100}}};
  o.recent_errors = {"timeout"};
  o.related_incident_id = NewUuid();
  ExpectRoundTrip(o);

  RcaCompleted r = WithEnvelope(RcaCompleted{});
  r.incident_id = incident;
  r.root_cause_service = "payment-service";
  r.root_cause_category = RootCauseCategory::DATABASE_BOTTLENECK;
  r.top_root_cause = "slow query on payments table";
  r.top_confidence = 0.82;
  r.root_cause_candidates = {{1,
                              "slow query",
                              RootCauseCategory::DATABASE_BOTTLENECK,
                              "payment-service",
                              0.82,
                              {"slow query log"}}};
  r.similar_incidents = {
      {"INC-2025-0142", "Payments p99 spike", RootCauseCategory::DATABASE_BOTTLENECK, 0.4}};
  r.method = Method::LLM;
  r.tool_calls = {{"get_runbooks", Json{{"anomaly_type", "LATENCY_SPIKE"}}, 12, false}};
  ExpectRoundTrip(r);

  RemediationPlan p = WithEnvelope(RemediationPlan{});
  p.incident_id = incident;
  p.root_cause = "slow query";
  p.confidence = 0.8;
  p.action_steps = {{1, Priority::IMMEDIATE, "kill long-running queries", "frees connections",
                     RiskLevel::MEDIUM, "none needed", "payments", "p99 below 500 ms"}};
  p.runbook_references = {"rb-latency-spike"};
  ExpectRoundTrip(p);

  IncidentResolved res = WithEnvelope(IncidentResolved{});
  res.incident_id = incident;
  res.detection_time = 1763892000000;
  res.resolution_time = 1763892000001;
  res.mttr_seconds = 0.001;
  res.resolution_method = "METRICS_RECOVERED";
  ExpectRoundTrip(res);

  PostmortemGenerated pm = WithEnvelope(PostmortemGenerated{});
  pm.incident_id = incident;
  pm.postmortem_markdown = "# Postmortem\n";
  pm.action_items = {{"add index", "payments", "HIGH", "2026-12-01"}};
  ExpectRoundTrip(pm);

  DeadLetter dl = WithEnvelope(DeadLetter{});
  dl.agent = "detection";
  dl.topic = "raw.metrics";
  dl.partition = 3;
  dl.offset = 99;
  dl.error = "payload is not valid JSON";
  dl.payload = "{oops";
  ExpectRoundTrip(dl);

  GroundTruth g = WithEnvelope(GroundTruth{});
  g.scenario = "LATENCY_SPIKE";
  g.phase = Phase::END;
  g.service = g.root_cause_service = "payment-service";
  g.root_cause_category = RootCauseCategory::DATABASE_BOTTLENECK;
  g.trigger_metrics = {"latency_p99_ms"};
  ExpectRoundTrip(g);
}

Json ValidMetric() {
  return Json{{"event_id", "3f2a9c1d-0000-4000-8000-000000000000"},
              {"schema_version", 1},
              {"timestamp", 1763892000000},
              {"source_service", "payment-service"},
              {"metric_name", "cpu_percent"},
              {"metric_value", 35.5},
              {"labels", Json::object()}};
}

TEST(MessagesTest, BadInputsGivePreciseErrors) {
  struct Case {
    std::string name;
    std::function<void(Json&)> mutate;
    std::string expected;
  } cases[] = {
      {"missing field", [](Json& j) { j.erase("metric_value"); },
       "field 'metric_value': missing required field"},
      {"wrong type", [](Json& j) { j["metric_value"] = "high"; },
       "field 'metric_value': expected a number, got a string"},
      {"null required", [](Json& j) { j["source_service"] = nullptr; },
       "field 'source_service': must not be null"},
      {"empty string", [](Json& j) { j["source_service"] = ""; },
       "field 'source_service': must not be empty"},
      {"bad uuid", [](Json& j) { j["event_id"] = "42"; }, "field 'event_id': '42' is not a UUID"},
      {"schema version", [](Json& j) { j["schema_version"] = 2; },
       "field 'schema_version': 2 is outside [1, 1]"},
      {"negative timestamp", [](Json& j) { j["timestamp"] = -5; },
       "field 'timestamp': -5 is outside"},
      {"float timestamp", [](Json& j) { j["timestamp"] = 1763892000000.5; },
       "field 'timestamp': expected an integer"},
      {"event time beyond PostgreSQL's range", [](Json& j) { j["timestamp"] = 9.3e15; },
       "field 'timestamp': 9.3e+15 is outside [946684800000, 4102444800000]"},
      {"event time before 2000", [](Json& j) { j["timestamp"] = 1000; }, "field 'timestamp': 1000 is outside"},
      {"huge bad uuid is quoted only in part", [](Json& j) { j["event_id"] = std::string(520000, 'x'); },
       "field 'event_id': '" + std::string(61, 'x') + "\xE2\x80\xA6' is not a UUID"},
      {"nested too deep", [](Json& j) { j["labels"] = Json::parse(std::string(100, '[') + std::string(100, ']')); },
       "payload is nested deeper than 64 levels"},
      {"labels not strings",
       [](Json& j) {
         j["labels"] = Json{{"a", 1}};
       },
       "field 'labels.a': expected a string"},
  };
  for (const auto& c : cases) {
    Json j = ValidMetric();
    c.mutate(j);
    auto r = Decode<RawMetric>(j.dump());
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_TRUE(r.status().invalid()) << c.name;
    EXPECT_NE(r.status().message().find(c.expected), std::string::npos)
        << c.name << ": " << r.status().message();
  }
}

TEST(MessagesTest, RejectsUnknownEnumAndOutOfRangeNestedValues) {
  RcaCompleted r = WithEnvelope(RcaCompleted{});
  r.incident_id = NewUuid();
  r.root_cause_service = "payment-service";
  r.top_root_cause = "x";
  r.root_cause_candidates = {{1, "x", RootCauseCategory::UNKNOWN, "payment-service", 0.5, {}}};
  Json j = ToJson(r);
  j["root_cause_category"] = "COSMIC_RAYS";
  auto bad_enum = FromJson<RcaCompleted>(j);
  ASSERT_FALSE(bad_enum.ok());
  EXPECT_NE(
      bad_enum.status().message().find("field 'root_cause_category': unknown value 'COSMIC_RAYS' "
                                       "(expected one of DEPLOYMENT_REGRESSION"),
      std::string::npos)
      << bad_enum.status().message();

  j = ToJson(r);
  j["root_cause_candidates"][0]["confidence"] = 1.7;
  auto bad_range = FromJson<RcaCompleted>(j);
  ASSERT_FALSE(bad_range.ok());
  EXPECT_NE(bad_range.status().message().find(
                "field 'root_cause_candidates[0].confidence': 1.7 is outside [0, 1]"),
            std::string::npos)
      << bad_range.status().message();
}

TEST(MessagesTest, NonJsonAndNonObjectPayloadsAreInvalidNotCrashes) {
  for (std::string payload :
       std::vector<std::string>{"", "{", "[]", "42", "null", "\"x\"", std::string("\xff\xfe", 2)}) {
    auto r = Decode<AnomalyDetected>(payload);
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(r.status().invalid());
  }
}

TEST(MessagesTest, UnknownFieldsAreIgnoredAndOptionalNullAccepted) {
  Json j = ValidMetric();
  j["future_field"] = Json{{"x", 1}};
  EXPECT_TRUE(Decode<RawMetric>(j.dump()).ok());
}

TEST(EnumsTest, NamesMatchEnumeratorsAndParseStrictly) {
  EXPECT_EQ(EnumCount<AnomalyType>(), static_cast<size_t>(AnomalyType::UNKNOWN) + 1);
  EXPECT_EQ(EnumCount<RootCauseCategory>(), static_cast<size_t>(RootCauseCategory::UNKNOWN) + 1);
  EXPECT_EQ(EnumCount<IncidentStatus>(), static_cast<size_t>(IncidentStatus::CLOSED) + 1);
  EXPECT_EQ(ToString(Priority::WITHIN_15MIN), "WITHIN_15MIN");
  EXPECT_EQ(ParseEnum<Severity>("HIGH"), Severity::HIGH);
  EXPECT_FALSE(ParseEnum<Severity>("high").has_value());
  EXPECT_TRUE(StatusAdvances(IncidentStatus::DETECTING, IncidentStatus::CORRELATING));
  EXPECT_FALSE(StatusAdvances(IncidentStatus::RESOLVED, IncidentStatus::RCA_COMPLETE));
}

// Issue 14: decoded text is valid UTF-8 without NUL, whatever the bytes on the wire were, so no
// store or JSON writer downstream can reject it; non-finite numbers never leave the process.
TEST(MessagesTest, DecodedTextIsCleanUtf8WithoutNul) {
  const std::string fffd = "\xEF\xBF\xBD";
  Json j = {{"event_id", NewUuid()}, {"schema_version", 1}, {"timestamp", 1763892000000},
            {"source_service", std::string("pay\0ment", 8)}, {"level", "ERROR"}, {"message", std::string("boom\0 here", 10)},
            {"trace_id", ""}, {"labels", Json{{std::string("k\0", 2), std::string("v\0", 2)}}}};
  auto log = Decode<RawLog>(j.dump());
  ASSERT_TRUE(log.ok()) << log.status().message();
  EXPECT_EQ(log->message, "boom" + fffd + " here");
  EXPECT_EQ(log->source_service, "pay" + fffd + "ment");
  EXPECT_EQ(log->labels.begin()->first, "k" + fffd);
  EXPECT_EQ(log->labels.begin()->second, "v" + fffd);

  // Ill-formed UTF-8 on the wire (a Latin-1 producer, a cut character) is replaced, not rejected.
  std::string wire = j.dump();
  wire.replace(wire.find("boom"), 4, "b\xE9\xE2\x82m");
  auto latin = Decode<RawLog>(wire);
  ASSERT_TRUE(latin.ok()) << latin.status().message();
  EXPECT_TRUE(IsValidUtf8(latin->message));
  EXPECT_EQ(latin->message.substr(0, 8), "b" + fffd + fffd + "m");

  // nlohmann::json members are cleaned through, keys included.
  IncidentOpened o = WithEnvelope(IncidentOpened{});
  o.incident_id = NewUuid();
  o.detection_time = 1763892000000;
  o.service = "payment-service";
  o.deployment_context = Json{{"description", std::string("a\0b", 3)}, {"risks", {std::string("\0", 1)}}};
  auto back = Decode<IncidentOpened>(Encode(o));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ((*back->deployment_context)["description"], "a" + fffd + "b");
  EXPECT_EQ((*back->deployment_context)["risks"][0], fffd);
}

TEST(MessagesTest, NonFiniteNumbersAreEncodedFinite) {
  AnomalyDetected a = WithEnvelope(AnomalyDetected{});
  a.incident_id = NewUuid();
  a.service = "s";
  a.trigger_metric = "m";
  a.detection_time = 1763892000000;
  a.deviation_sigma = std::numeric_limits<double>::infinity();
  a.baseline_mean = -std::numeric_limits<double>::infinity();
  a.observed_value = std::nan("");
  auto back = Decode<AnomalyDetected>(Encode(a));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->deviation_sigma, std::numeric_limits<double>::max());
  EXPECT_EQ(back->baseline_mean, -std::numeric_limits<double>::max());
  EXPECT_EQ(back->observed_value, 0);
}

}  // namespace
}  // namespace sre
