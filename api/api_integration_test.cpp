// sre-api against the real native stack: rows inserted directly into PostgreSQL (each test run
// uses a service name of its own, so other tests' rows do not interfere), the real executable
// started on a free port with a bearer token, lifecycle events published to the broker.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "shared/ids.h"
#include "shared/json_codec.h"
#include "shared/kafka.h"
#include "shared/messages.h"
#include "shared/postgres.h"
#include "shared/remediation_actions.h"
#include "tests/support/process.h"
#include "tests/support/test_stack.h"

namespace sre {
namespace {

using namespace std::chrono_literals;
using testing::Stack;
constexpr const char* kToken = "integration-token";
constexpr int kMaxStreams = 40;  // API_MAX_STREAMS of the sre-api under test

struct Row {
  std::string id, status, severity;
  int64_t detection_ms;
};

class ApiIntegration : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (Stack().kafka_bootstrap.empty()) return;
    service_ = testing::Unique("svc");
    for (char& c : service_) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    Database db(Stack().database_url);
    ASSERT_TRUE(db.Migrate().ok());
    // Five incidents one minute apart, the newest last; distinct statuses and severities.
    const int64_t t0 = 1764650000000;
    const std::vector<std::pair<std::string, std::string>> kinds = {{"CLOSED", "HIGH"},
                                                                    {"CLOSED", "CRITICAL"},
                                                                    {"INVESTIGATING", "HIGH"},
                                                                    {"RESOLVED", "LOW"},
                                                                    {"DETECTING", "MEDIUM"}};
    for (size_t i = 0; i < kinds.size(); ++i)
      rows_.push_back(
          {NewUuid(), kinds[i].first, kinds[i].second, t0 + static_cast<int64_t>(i) * 60000});
    Status s = db.Transact([&](pqxx::work& tx) {
      for (const auto& r : rows_)
        tx.exec_params(
            "INSERT INTO incidents (id, status, anomaly_type, severity, service, trigger_metric, "
            "description,"
            " observed_value, baseline_mean, baseline_std, deviation_sigma, anomaly_score, "
            "detection_time,"
            " mttr_seconds, rca_candidates, remediation_plan, postmortem, root_cause_category, "
            "top_root_cause,"
            " rca_confidence) VALUES ($1::uuid, $2, 'LATENCY_SPIKE', $3, $4, 'latency_p99_ms',"
            " '<script>alert(1)</script> p99 up', 7400, 380, 40, 175, 0.99,"
            " to_timestamp($5::bigint / 1000.0), $6, $7::jsonb, $8::jsonb, $9, "
            "'DATABASE_BOTTLENECK', 'slow queries', 0.8)",
            r.id, r.status, r.severity, service_, r.detection_ms,
            r.status == "CLOSED" || r.status == "RESOLVED" ? std::optional<double>(120.0)
                                                           : std::nullopt,
            R"([{"rank":1,"hypothesis":"slow queries","category":"DATABASE_BOTTLENECK","service":"x","confidence":0.8,"evidence":[]}])",
            R"({"action_steps":[{"step_id":1,"priority":"IMMEDIATE","action":"kill long queries"},{"step_id":2,"priority":"WITHIN_1HOUR","action":"add index"}]})",
            r.status == "CLOSED"
                ? std::optional<std::string>("# Postmortem\n\n## Summary\nIt was slow.")
                : std::nullopt);
      // Timeline rows inserted out of order: the API returns them in event-time order.
      const auto& first = rows_[0];
      for (auto [type, offset] : std::vector<std::pair<std::string, int64_t>>{
               {"RCA_COMPLETED", 2000}, {"ANOMALY_DETECTED", 0}, {"CORRELATION_COMPLETE", 1000}})
        tx.exec_params(
            "INSERT INTO agent_events (incident_id, agent_name, event_type, payload, event_time)"
            " VALUES ($1::uuid, 'test', $2, '{}', to_timestamp($3::bigint / 1000.0))",
            first.id, type, first.detection_ms + offset);
      tx.exec_params(
          "INSERT INTO emails (incident_id, notification_type, message_id, subject, body_html, "
          "body_text, status)"
          " VALUES ($1::uuid, 'INCIDENT_ALERT', $2, 'alert subject', '<p>x</p>', 'x', 'SENT')",
          first.id, "<" + first.id + "@test>");
      tx.exec_params(
          "INSERT INTO notifications (incident_id, channel, stage, stage_rank, status, notice, attempts, "
          " external_ref, event_time, sent_at) VALUES ($1::uuid, 'pagerduty', 'INCIDENT_ALERT', 0, 'SENT', '{}', 2, "
          " 'sre-pipeline/' || $1, to_timestamp($2::bigint / 1000.0), now())",
          first.id, first.detection_ms);
      // A cascade on a service of its own: the origin (recorded 2.26 s before its detection
      // time: event time ahead of the wall clock) and two incidents linked to it, detected later.
      cascade_ = {NewUuid(), NewUuid(), NewUuid()};
      for (size_t i = 0; i < cascade_.size(); ++i)
        tx.exec_params(
            "INSERT INTO incidents (id, status, anomaly_type, severity, service, trigger_metric,"
            " detection_time, created_at, related_incident_id)"
            " VALUES ($1::uuid, $2, 'LATENCY_SPIKE', $3, $4, 'latency_p99_ms',"
            " to_timestamp($5::bigint / 1000.0), to_timestamp($6::bigint / 1000.0),"
            " NULLIF($7, '')::uuid)",
            cascade_[i], i == 0 ? "CLOSED" : "RESOLVED", i == 0 ? "CRITICAL" : "HIGH",
            service_ + "-cascade", t0 + static_cast<int64_t>(i) * 30000,
            t0 + static_cast<int64_t>(i) * 30000 + (i == 0 ? -2260 : 1500),
            i == 0 ? std::string() : cascade_[0]);
      return Status::Ok();
    });
    ASSERT_TRUE(s.ok()) << s.message();

    port_ = testing::FreePort();
    std::string source = std::getenv("SRE_SOURCE_DIR");
    std::map<std::string, std::string> env = {{"KAFKA_BOOTSTRAP_SERVERS", Stack().kafka_bootstrap},
                                              {"REDIS_URL", Stack().redis_url},
                                              {"DATABASE_URL", Stack().database_url},
                                              {"HTTP_PORT", std::to_string(port_)},
                                              {"API_TOKEN", kToken},
                                              {"API_MAX_STREAMS", std::to_string(kMaxStreams)},
                                              {"KNOWLEDGE_DIR", source + "/knowledge"},
                                              {"API_STATIC_DIR", source + "/api/static"}};
    api_ = std::make_unique<testing::Process>(
        "sre-api", std::string(std::getenv("SRE_BIN_DIR")) + "/sre-api", std::vector<std::string>{},
        env, std::filesystem::current_path().string() + "/api_integration_test.log");
    api_->Start();
    ASSERT_TRUE(testing::Eventually(
        [] {
          httplib::Client c("127.0.0.1", port_);
          auto r = c.Get("/healthz");
          return r && r->status == 200;
        },
        60s, 200ms))
        << "sre-api did not become healthy";
  }
  static void TearDownTestSuite() {
    if (api_) {
      EXPECT_EQ(api_->Stop(), 0) << "sre-api exits 0 on SIGTERM";
    }
    api_.reset();
  }

  static httplib::Result Get(const std::string& path, bool with_token = true) {
    static httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10);
    httplib::Headers h;
    if (with_token) h.emplace("Authorization", std::string("Bearer ") + kToken);
    return c.Get(path.c_str(), h);
  }
  static Json GetJson(const std::string& path, int want_status = 200) {
    auto r = Get(path);
    EXPECT_TRUE(r) << path;
    if (!r) return nullptr;
    EXPECT_EQ(r->status, want_status) << path << ": " << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json") << path;
    return Json::parse(r->body, nullptr, false);
  }
  // A POST with a JSON body (or `type`), the bearer token unless `with_token` is false, and
  // `headers` (e.g. an Origin).
  static httplib::Result Post(const std::string& path, const std::string& body,
                              bool with_token = true, httplib::Headers headers = {},
                              const std::string& type = "application/json") {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10);
    if (with_token) headers.emplace("Authorization", std::string("Bearer ") + kToken);
    return c.Post(path.c_str(), headers, body, type.c_str());
  }
  static std::vector<std::string> Ids(const Json& page) {
    std::vector<std::string> out;
    for (const auto& i : page["incidents"]) out.push_back(i["id"]);
    return out;
  }

  static inline std::string service_;
  static inline std::vector<Row> rows_;
  static inline std::vector<std::string> cascade_;  // origin, then two incidents linked to it
  static inline int port_ = 0;
  static inline std::unique_ptr<testing::Process> api_;
};

TEST_F(ApiIntegration, TokenGuardsEverythingButHealthz) {
  SRE_REQUIRE_STACK();
  EXPECT_EQ(Get("/healthz", false)->status, 200);
  for (const char* path : {"/api/incidents", "/api/stats", "/api/services", "/metrics",
                           "/api/stream", "/api/events"}) {
    auto r = Get(path, false);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 401) << path;
    EXPECT_TRUE(Json::parse(r->body, nullptr, false).contains("error")) << path;
  }
  httplib::Client c("127.0.0.1", port_);
  EXPECT_EQ(c.Get("/api/incidents", {{"Authorization", "Bearer wrong"}})->status, 401);
  EXPECT_EQ(c.Get((std::string("/api/stats?access_token=") + kToken).c_str())->status, 200);
  EXPECT_EQ(Get("/api/incidents")->status, 200);
  EXPECT_EQ(Get("/metrics")->status, 200);
}

TEST_F(ApiIntegration, ListsNewestFirstWithFilters) {
  SRE_REQUIRE_STACK();
  Json all = GetJson("/api/incidents?service=" + service_);
  EXPECT_EQ(Ids(all), (std::vector<std::string>{rows_[4].id, rows_[3].id, rows_[2].id, rows_[1].id,
                                                rows_[0].id}));
  EXPECT_TRUE(all["next_before"].is_null());
  EXPECT_EQ(all["incidents"][0]["incident_number"], IncidentNumber(rows_[4].id));
  EXPECT_EQ(all["incidents"][0]["detection_time_ms"], rows_[4].detection_ms);

  EXPECT_EQ(Ids(GetJson("/api/incidents?status=CLOSED&service=" + service_)),
            (std::vector<std::string>{rows_[1].id, rows_[0].id}));
  EXPECT_EQ(Ids(GetJson("/api/incidents?status=open&service=" + service_)),
            (std::vector<std::string>{rows_[4].id, rows_[2].id}));
  EXPECT_EQ(Ids(GetJson("/api/incidents?severity=HIGH&service=" + service_)),
            (std::vector<std::string>{rows_[2].id, rows_[0].id}));
  EXPECT_EQ(Ids(GetJson("/api/incidents?status=RESOLVED&severity=LOW&service=" + service_)),
            (std::vector<std::string>{rows_[3].id}));
  EXPECT_TRUE(GetJson("/api/incidents?service=no-such-service")["incidents"].empty());
}

TEST_F(ApiIntegration, PaginatesWithBefore) {
  SRE_REQUIRE_STACK();
  std::vector<std::string> seen;
  std::string before;
  for (int page = 0; page < 5; ++page) {
    Json p = GetJson("/api/incidents?limit=2&service=" + service_ +
                     (before.empty() ? "" : "&before=" + before));
    for (const auto& id : Ids(p)) seen.push_back(id);
    if (p["next_before"].is_null()) break;
    EXPECT_EQ(p["incidents"].size(), 2u);
    before = p["next_before"];
  }
  EXPECT_EQ(seen, (std::vector<std::string>{rows_[4].id, rows_[3].id, rows_[2].id, rows_[1].id,
                                            rows_[0].id}));
  // A time cursor: strictly before the third incident's detection.
  EXPECT_EQ(Ids(GetJson("/api/incidents?service=" + service_ +
                        "&before=" + std::to_string(rows_[2].detection_ms))),
            (std::vector<std::string>{rows_[1].id, rows_[0].id}));
}

TEST_F(ApiIntegration, BadParametersAre400AndUnknownIds404) {
  SRE_REQUIRE_STACK();
  for (const std::string path :
       {"/api/incidents?status=BROKEN", "/api/incidents?limit=0", "/api/incidents?limit=abc",
        "/api/incidents?limit=1000", "/api/incidents?severity=urgent",
        "/api/incidents?before=yesterday", "/api/incidents?service=UPPER-case",
        "/api/incidents?bogus=1", "/api/incidents?group=service", "/api/events?limit=0",
        "/api/events?limit=101", "/api/events?limit=x", "/api/events?since=1",
        "/api/incidents/not-a-uuid", "/api/incidents/not-a-uuid/timeline",
        "/api/incidents/1%27%3BDROP%20TABLE%20incidents/postmortem", "/api/stream?since=-1"}) {
    Json j = GetJson(path, 400);
    EXPECT_TRUE(j.is_object() && j.contains("error")) << path;
  }
  const std::string missing = NewUuid();
  for (const std::string& path :
       {"/api/incidents/" + missing, "/api/incidents/" + missing + "/timeline",
        "/api/incidents/" + missing + "/postmortem",
        "/api/incidents/" + rows_[2].id + "/postmortem", std::string("/api/nothing-here")}) {
    Json j = GetJson(path, 404);
    EXPECT_TRUE(j.is_object() && j.contains("error")) << path;
  }
  // An unknown pagination cursor is a bad request, not an empty page.
  GetJson("/api/incidents?before=" + missing, 400);
  // The incidents table survived the injection attempts above.
  EXPECT_EQ(GetJson("/api/incidents?service=" + service_)["incidents"].size(), 5u);
}

TEST_F(ApiIntegration, IncidentDetailTimelineAndPostmortem) {
  SRE_REQUIRE_STACK();
  const auto& first = rows_[0];
  Json d = GetJson("/api/incidents/" + first.id);
  EXPECT_EQ(d["id"], first.id);
  EXPECT_EQ(d["incident_number"], IncidentNumber(first.id));
  EXPECT_EQ(d["description"], "<script>alert(1)</script> p99 up")
      << "stored as-is; the dashboard escapes";
  EXPECT_EQ(d["rca_candidates"][0]["category"], "DATABASE_BOTTLENECK");
  EXPECT_EQ(d["plan_by_priority"]["IMMEDIATE"][0]["action"], "kill long queries");
  EXPECT_EQ(d["plan_by_priority"]["WITHIN_1HOUR"][0]["action"], "add index");
  ASSERT_EQ(d["emails"].size(), 1u);
  EXPECT_EQ(d["emails"][0]["notification_type"], "INCIDENT_ALERT");
  EXPECT_EQ(d["emails"][0]["subject"], "alert subject");
  ASSERT_EQ(d["notifications"].size(), 1u) << d["notifications"].dump();
  EXPECT_EQ(d["notifications"][0]["channel"], "pagerduty");
  EXPECT_EQ(d["notifications"][0]["status"], "SENT");
  EXPECT_EQ(d["notifications"][0]["attempts"], 2);
  EXPECT_EQ(d["notifications"][0]["external_ref"], "sre-pipeline/" + first.id);
  EXPECT_DOUBLE_EQ(d["mttr_seconds"].get<double>(), 120.0);

  Json t = GetJson("/api/incidents/" + first.id + "/timeline");
  std::vector<std::string> types;
  for (const auto& e : t["events"]) types.push_back(e["event_type"]);
  EXPECT_EQ(types, (std::vector<std::string>{"ANOMALY_DETECTED", "CORRELATION_COMPLETE",
                                             "RCA_COMPLETED"}));
  EXPECT_TRUE(GetJson("/api/incidents/" + rows_[4].id + "/timeline")["events"].empty());

  auto pm = Get("/api/incidents/" + first.id + "/postmortem");
  ASSERT_TRUE(pm);
  EXPECT_EQ(pm->status, 200);
  EXPECT_EQ(pm->get_header_value("Content-Type"), "text/markdown; charset=utf-8");
  EXPECT_EQ(pm->body, "# Postmortem\n\n## Summary\nIt was slow.");
}

TEST_F(ApiIntegration, StatsAndServices) {
  SRE_REQUIRE_STACK();
  Json s = GetJson("/api/stats");
  EXPECT_GE(s["total"].get<int>(), 5);
  EXPECT_GE(s["open"].get<int>(), 2);
  EXPECT_GE(s["by_type"]["LATENCY_SPIKE"].get<int>(), 5);
  EXPECT_GE(s["mttr_seconds"]["count"].get<int>(), 3);
  EXPECT_TRUE(s["mttr_seconds"]["p90"].is_number());
  // Issue 6: the delay is wall clock from the sample's timestamp to the row; an incident whose
  // event time is ahead of the wall clock (the cascade's origin below: recorded 2.26 s before
  // its detection time) is skipped, never a negative figure.
  const Json& delay = s["pipeline_delay_seconds"];
  EXPECT_GE(delay["skipped_event_time_ahead"].get<int>(), 1) << delay.dump();
  EXPECT_GE(delay["count"].get<int>(), 5) << delay.dump();
  ASSERT_TRUE(delay["mean"].is_number()) << delay.dump();
  EXPECT_GE(delay["mean"].get<double>(), 0);
  EXPECT_EQ(s["detection_delay_seconds"], delay) << "the old field name carries the same figures";
  // Issue 5: the chart's buckets, empty ones included, by detection (event) time.
  const Json& activity = s["incident_activity"];
  EXPECT_EQ(activity["clock"], "event");
  EXPECT_TRUE(activity["bucket"] == "hour" || activity["bucket"] == "day") << activity.dump();
  EXPECT_GE(activity["buckets"].size(), 7u);
  Json v = GetJson("/api/services");
  // The catalogue's six, then any service other tests sent through sre-ingest (discovered).
  size_t catalogued = 0;
  for (const auto& svc : v["services"]) {
    EXPECT_TRUE(svc["history"].contains("latency_p99_ms")) << svc.dump();
    EXPECT_TRUE(svc["health"].is_string());
    if (!svc["discovered"].get<bool>()) ++catalogued;
  }
  EXPECT_EQ(catalogued, 6u);
}

// Issue 2: the detail names the origin of a cascade and the incidents linked to it; the list
// groups them with group=cascade.
TEST_F(ApiIntegration, CascadeOriginAndLinkedIncidents) {
  SRE_REQUIRE_STACK();
  const std::string origin = cascade_[0], first = cascade_[1], second = cascade_[2];
  Json o = GetJson("/api/incidents/" + origin);
  EXPECT_TRUE(o["related_incident_id"].is_null());
  EXPECT_TRUE(o["related_incident_number"].is_null());
  EXPECT_TRUE(o["related_incident"].is_null());
  ASSERT_EQ(o["linked_incidents"].size(), 2u) << o["linked_incidents"].dump();
  const Json& l0 = o["linked_incidents"][0];
  EXPECT_EQ(l0["id"], first) << "oldest first";
  EXPECT_EQ(l0["incident_number"], IncidentNumber(first));
  EXPECT_EQ(l0["service"], service_ + "-cascade");
  EXPECT_EQ(l0["anomaly_type"], "LATENCY_SPIKE");
  EXPECT_EQ(l0["status"], "RESOLVED");
  EXPECT_EQ(l0["severity"], "HIGH");
  EXPECT_EQ(o["linked_incidents"][1]["id"], second);
  // Recorded before its own detection time: no delay rather than a negative one.
  EXPECT_TRUE(o["pipeline_delay_seconds"].is_null()) << o["pipeline_delay_seconds"];
  EXPECT_TRUE(o["created_at_ms"].is_number_integer());

  Json l = GetJson("/api/incidents/" + first);
  EXPECT_EQ(l["related_incident_id"], origin);
  EXPECT_EQ(l["related_incident_number"], IncidentNumber(origin));
  EXPECT_EQ(l["related_incident"]["id"], origin);
  EXPECT_EQ(l["related_incident"]["incident_number"], IncidentNumber(origin));
  EXPECT_EQ(l["related_incident"]["service"], service_ + "-cascade");
  EXPECT_EQ(l["related_incident"]["severity"], "CRITICAL");
  EXPECT_EQ(l["related_incident"]["status"], "CLOSED");
  EXPECT_TRUE(l["linked_incidents"].empty());
  EXPECT_DOUBLE_EQ(l["pipeline_delay_seconds"].get<double>(), 1.5);
  // Unrelated incidents have an empty cascade.
  EXPECT_TRUE(GetJson("/api/incidents/" + rows_[0].id)["linked_incidents"].empty());

  const std::string list = "/api/incidents?service=" + service_ + "-cascade";
  Json plain = GetJson(list);
  EXPECT_EQ(Ids(plain), (std::vector<std::string>{second, first, origin})) << "newest first";
  EXPECT_EQ(plain["incidents"][0]["related_incident_number"], IncidentNumber(origin));
  Json grouped = GetJson(list + "&group=cascade");
  EXPECT_EQ(Ids(grouped), (std::vector<std::string>{origin, second, first}));
  std::vector<int> depths;
  for (const auto& i : grouped["incidents"]) depths.push_back(i.value("cascade_depth", -1));
  EXPECT_EQ(depths, (std::vector<int>{0, 1, 1}));
}

// Issue 4: the most recently recorded agent events across incidents, newest first, readable.
TEST_F(ApiIntegration, RecentEventsAcrossIncidents) {
  SRE_REQUIRE_STACK();
  Database db(Stack().database_url);
  Status s = db.Transact([&](pqxx::work& tx) {
    tx.exec_params(
        "INSERT INTO agent_events (incident_id, agent_name, event_type, payload, event_time)"
        " VALUES ($1::uuid, 'investigation', 'RCA_COMPLETED',"
        " '{\"root_cause_category\": \"DATABASE_BOTTLENECK\", \"root_cause_service\": \"x\"}',"
        " to_timestamp($2::bigint / 1000.0))",
        rows_[2].id, rows_[2].detection_ms + 1000);
    tx.exec_params(
        "INSERT INTO agent_events (incident_id, agent_name, event_type, payload, event_time)"
        " VALUES ($1::uuid, 'communication', 'EMAIL_SENT', $2::jsonb,"
        " to_timestamp($3::bigint / 1000.0))",
        rows_[1].id,
        Json{{"notification_type", "INCIDENT_ALERT"},
             {"subject", "recent subject"},
             {"recipients", {"a@x", "b@x", "c@x"}}}
            .dump(),
        rows_[1].detection_ms);  // event time older than the RCA's: the order is recording order
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.message();
  Json page = GetJson("/api/events?limit=100");
  ASSERT_TRUE(page["events"].is_array());
  EXPECT_LE(page["events"].size(), 100u);
  std::vector<Json> mine;
  int64_t previous_id = std::numeric_limits<int64_t>::max();
  for (const auto& e : page["events"]) {
    EXPECT_LT(e["id"].get<int64_t>(), previous_id) << "newest recorded first";
    previous_id = e["id"].get<int64_t>();
    EXPECT_FALSE(e.contains("payload")) << "payloads (LLM audits, tool calls) stay out";
    if (e["incident_id"] == rows_[1].id || e["incident_id"] == rows_[2].id) mine.push_back(e);
  }
  ASSERT_GE(mine.size(), 2u) << page.dump().substr(0, 2000);
  EXPECT_EQ(mine[0]["event_type"], "EMAIL_SENT");
  EXPECT_EQ(mine[0]["incident_number"], IncidentNumber(rows_[1].id));
  EXPECT_EQ(mine[0]["summary"], "INCIDENT_ALERT email sent to 3 recipients — recent subject");
  EXPECT_TRUE(mine[0]["topic"].is_null());
  EXPECT_EQ(mine[0]["event_time_ms"], rows_[1].detection_ms);
  EXPECT_TRUE(mine[0]["created_at_ms"].is_number_integer());
  EXPECT_EQ(mine[1]["event_type"], "RCA_COMPLETED");
  EXPECT_EQ(mine[1]["topic"], "rca.completed");
  EXPECT_EQ(mine[1]["summary"], "root cause DATABASE_BOTTLENECK in x");
  // The default is 20; limit=1 is the newest row of the table.
  EXPECT_LE(GetJson("/api/events")["events"].size(), 20u);
  Json one = GetJson("/api/events?limit=1");
  ASSERT_EQ(one["events"].size(), 1u);
  EXPECT_GE(one["events"][0]["id"].get<int64_t>(), mine[0]["id"].get<int64_t>());

  // The timeline carries the same readable summaries.
  Json t = GetJson("/api/incidents/" + rows_[1].id + "/timeline");
  ASSERT_EQ(t["events"].size(), 1u);
  EXPECT_EQ(t["events"][0]["summary"],
            "INCIDENT_ALERT email sent to 3 recipients — recent subject");
}

TEST_F(ApiIntegration, ServesTheDashboardWithoutTraversal) {
  SRE_REQUIRE_STACK();
  auto index = Get("/", false);
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_NE(index->body.find("incident-list"), std::string::npos);
  EXPECT_EQ(Get("/app.js", false)->get_header_value("Content-Type"),
            "text/javascript; charset=utf-8");
  EXPECT_EQ(Get("/no-such-file.js", false)->status, 404);
  auto traversal = Get("/../CMakeLists.txt", false);
  ASSERT_TRUE(traversal);
  EXPECT_NE(traversal->status, 200);
}

// Reads /api/stream until `until` says stop (or 20 s pass); returns the raw text.
std::string ReadStream(int port, const std::string& path, const httplib::Headers& headers,
                       const std::function<bool(const std::string&)>& until) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(20);
  std::string body;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  c.Get(path.c_str(), headers, [&](const char* data, size_t n) {
    body.append(data, n);
    return !until(body) && std::chrono::steady_clock::now() < deadline;
  });
  return body;
}

// The SSE id of the frame whose data mentions `needle`; 0 if none.
uint64_t FrameId(const std::string& body, const std::string& needle) {
  size_t at = body.find(needle);
  if (at == std::string::npos) return 0;
  size_t id = body.rfind("id: ", at);
  return id == std::string::npos ? 0 : std::stoull(body.substr(id + 4));
}

TEST_F(ApiIntegration, StreamsLifecycleEventsAndResumesAfterLastEventId) {
  SRE_REQUIRE_STACK();
  KafkaOptions kafka;
  kafka.bootstrap_servers = Stack().kafka_bootstrap;
  auto producer = Producer::Create(kafka);
  ASSERT_TRUE(producer.ok());
  const std::string a = NewUuid(), b = NewUuid();
  // Valid payloads of their topics: the stream carries what the agents accept.
  auto event = [](const std::string& id, const std::string& service) {
    IncidentOpened o;
    o.event_id = NewUuid();
    o.timestamp = o.detection_time = 1764650000000;
    o.incident_id = id;
    o.service = service;
    o.severity = Severity::HIGH;
    o.anomaly_type = AnomalyType::LATENCY_SPIKE;
    return Encode(o);
  };
  auto rca = [](const std::string& id) {
    RcaCompleted r;
    r.event_id = NewUuid();
    r.timestamp = 1764650000000;
    r.incident_id = id;
    r.root_cause_service = "payment-service";
    r.top_root_cause = "slow queries";
    r.root_cause_candidates = {{1, "slow queries", RootCauseCategory::DATABASE_BOTTLENECK, "payment-service", 0.8, {}}};
    return Encode(r);
  };
  const httplib::Headers auth = {{"Authorization", std::string("Bearer ") + kToken}};
  // A live client sees the event published after it connected.
  std::atomic<bool> connected{false};
  std::string live;
  std::thread reader([&] {
    live = ReadStream(port_, "/api/stream", auth, [&](const std::string& body) {
      connected = body.find("retry:") != std::string::npos;
      return body.find(a) != std::string::npos;
    });
  });
  ASSERT_TRUE(testing::Eventually([&] { return connected.load(); }, 20s));
  ASSERT_TRUE(
      (*producer)->Publish({"incidents.opened", "k", "not json"}).ok());  // dead-lettered, ignored
  // Off the contract (event_id must be a UUID string): dead-lettered too. sre-api used to stop
  // on this one (issue 14); the live client below only sees `a` if it did not.
  const std::string off_contract = NewUuid();
  Json bad_event_id = Json::parse(event(off_contract, "svc-bad"));
  bad_event_id["event_id"] = 42;
  ASSERT_TRUE((*producer)->Publish({"incidents.opened", off_contract, bad_event_id.dump()}).ok());
  ASSERT_TRUE((*producer)->Publish({"incidents.opened", a, event(a, "svc-a")}).ok());
  reader.join();
  ASSERT_NE(live.find(a), std::string::npos) << live;
  EXPECT_EQ(live.find(off_contract), std::string::npos) << "an off-contract event was streamed";
  EXPECT_TRUE(api_->Running());
  EXPECT_NE(live.find("event: incidents.opened"), std::string::npos);
  const uint64_t id_a = FrameId(live, a);
  ASSERT_GT(id_a, 0u);

  // Events while the client was away come on reconnect with Last-Event-ID, and nothing older.
  ASSERT_TRUE((*producer)->Publish({"rca.completed", b, rca(b)}).ok());
  std::string resumed = ReadStream(
      port_, "/api/stream",
      {{"Authorization", std::string("Bearer ") + kToken}, {"Last-Event-ID", std::to_string(id_a)}},
      [&](const std::string& body) { return body.find(b) != std::string::npos; });
  EXPECT_NE(resumed.find(b), std::string::npos) << resumed;
  EXPECT_EQ(resumed.find(a), std::string::npos) << "replayed an event the client had seen";
  EXPECT_GT(FrameId(resumed, b), id_a);
  // ?since= does the same for clients that cannot set headers.
  std::string since =
      ReadStream(port_, "/api/stream?since=" + std::to_string(id_a - 1), auth,
                 [&](const std::string& body) { return body.find(b) != std::string::npos; });
  EXPECT_NE(since.find(a), std::string::npos);
  EXPECT_NE(since.find(b), std::string::npos);
}

// A raw /api/stream client: connects, sends the request and reads the response head (for a 200,
// up to the first SSE bytes). The socket stays open until destruction: the client going away.
class RawStream {
 public:
  explicit RawStream(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return;
    timeval tv{20, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return;
    const std::string request = std::string("GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n") +
                                "Authorization: Bearer " + kToken + "\r\n\r\n";
    if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size()))
      return;
    char buf[4096];
    while (true) {
      size_t head_end = received_.find("\r\n\r\n");
      if (head_end != std::string::npos && received_.size() > 12) {
        status_ = std::atoi(received_.substr(9, 3).c_str());
        if (status_ != 200 || received_.find("retry:", head_end) != std::string::npos) return;
      }
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return;  // closed, or nothing for 20 s
      received_.append(buf, static_cast<size_t>(n));
    }
  }
  ~RawStream() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawStream(const RawStream&) = delete;
  RawStream& operator=(const RawStream&) = delete;
  // 200 once the stream's first bytes arrived; 0 when no response head came.
  int status() const { return status_; }
  const std::string& received() const { return received_; }

 private:
  int fd_ = -1;
  int status_ = 0;
  std::string received_;
};

// The value of the first /metrics sample line starting with `series`; nullopt when absent.
std::optional<double> Sample(const std::string& metrics, const std::string& series) {
  size_t at = metrics.find("\n" + series + " ");
  if (at == std::string::npos) return std::nullopt;
  return std::strtod(metrics.c_str() + at + series.size() + 2, nullptr);
}

// Issue 14: 32 stream clients used to hold every worker, so REST and /healthz hung.
TEST_F(ApiIntegration, StreamsAreCappedAndLeaveWorkersForRestAndHealthz) {
  SRE_REQUIRE_STACK();
  auto open_streams = [] {
    auto r = Get("/metrics");
    return r ? Sample(r->body, "sre_api_open_streams") : std::nullopt;
  };
  // Earlier tests' stream clients are gone; their slots come back within about a second.
  ASSERT_TRUE(testing::Eventually([&] { return open_streams() == std::optional<double>(0); }, 20s))
      << open_streams().value_or(-1);
  std::vector<std::unique_ptr<RawStream>> streams;
  for (int i = 0; i < kMaxStreams; ++i) {
    streams.push_back(std::make_unique<RawStream>(port_));
    ASSERT_EQ(streams.back()->status(), 200)
        << "stream " << i << " of " << kMaxStreams << ": " << streams.back()->received();
  }
  // Beyond the cap: 503 at once, with Retry-After and a JSON error.
  {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10);
    auto r = c.Get("/api/stream", {{"Authorization", std::string("Bearer ") + kToken}});
    ASSERT_TRUE(r) << "no answer beyond the cap";
    EXPECT_EQ(r->status, 503);
    EXPECT_EQ(r->get_header_value("Retry-After"), "5");
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
    Json body = Json::parse(r->body, nullptr, false);
    EXPECT_TRUE(body.is_object() && body.contains("error")) << r->body;
  }
  // With every stream slot taken, REST and /healthz still answer promptly.
  for (const std::string& path :
       std::vector<std::string>{"/healthz", "/api/incidents?service=" + service_, "/api/stats"}) {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10);
    auto started = std::chrono::steady_clock::now();
    auto r = c.Get(path.c_str(), {{"Authorization", std::string("Bearer ") + kToken}});
    auto took = std::chrono::steady_clock::now() - started;
    ASSERT_TRUE(r) << path << " got no answer with " << kMaxStreams << " streams open";
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_LT(took, 3s) << path;
  }
  EXPECT_EQ(open_streams(), std::optional<double>(kMaxStreams));
  // Clients that go away give their slots back.
  streams.clear();
  EXPECT_TRUE(testing::Eventually([&] { return open_streams() == std::optional<double>(0); }, 20s))
      << "slots still held after every client disconnected: " << open_streams().value_or(-1);
  RawStream again(port_);
  EXPECT_EQ(again.status(), 200) << again.received();
}

// Issue 14: the route label used to be the raw path, one new series per unknown /api/ path.
TEST_F(ApiIntegration, UnknownApiPathsDoNotGrowMetrics) {
  SRE_REQUIRE_STACK();
  constexpr int kPaths = 20000;
  constexpr int kClients = 4;
  std::atomic<int> not_404{0};
  std::mutex mu;
  std::string first_failure;
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", port_);
      c.set_keep_alive(true);
      c.set_read_timeout(10);
      const httplib::Headers auth = {{"Authorization", std::string("Bearer ") + kToken}};
      for (int i = t; i < kPaths; i += kClients) {
        auto r = c.Get(("/api/no-such-" + std::to_string(i) + "/x" + std::to_string(i * 7)).c_str(),
                       auth);
        if (r && r->status == 404) continue;
        ++not_404;
        std::lock_guard<std::mutex> lock(mu);
        if (first_failure.empty())
          first_failure =
              "request " + std::to_string(i) + ": " +
              (r ? "status " + std::to_string(r->status) : httplib::to_string(r.error()));
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(not_404.load(), 0) << first_failure;
  auto r = Get("/metrics");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_LT(r->body.size(), 64u * 1024) << "/metrics grew with the paths requested";
  EXPECT_EQ(r->body.find("no-such-"), std::string::npos);
  std::istringstream lines(r->body);
  std::set<std::string> routes;
  int request_lines = 0;
  const std::regex route_re(R"re(^sre_api_requests_total\{route="([^"]*)",status="\d+"\} )re");
  std::smatch m;
  for (std::string line; std::getline(lines, line);) {
    if (!std::regex_search(line, m, route_re)) continue;
    ++request_lines;
    routes.insert(m[1]);
  }
  EXPECT_LE(request_lines, 40) << "route x status stays a small fixed set";
  const std::set<std::string> allowed = {"/api/incidents",
                                         "/api/incidents/{id}",
                                         "/api/incidents/{id}/timeline",
                                         "/api/incidents/{id}/postmortem",
                                         "/api/incidents/{id}/actions",
                                         "/api/incidents/{id}/actions/{action_id}/{decision}",
                                         "/api/stats",
                                         "/api/services",
                                         "/api/stream",
                                         "/api/events",
                                         "/api/unknown",
                                         "static",
                                         "/healthz",
                                         "/metrics"};
  for (const auto& route : routes) EXPECT_TRUE(allowed.count(route)) << route;
  EXPECT_GE(
      Sample(r->body, R"(sre_api_requests_total{route="/api/unknown",status="404"})").value_or(0),
      kPaths);
}

// Issue 14: PostgreSQL rejects NUL in a text parameter; such values are a 400 naming the parameter.
TEST_F(ApiIntegration, NulAndInvalidUtf8ParametersAre400) {
  SRE_REQUIRE_STACK();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/api/incidents?service=%00", "'service'"},
      {"/api/incidents?service=payment%00service", "'service'"},
      {"/api/incidents?status=%FF", "'status'"},
      {"/api/incidents?before=%C3%28", "'before'"},
      {"/api/incidents?limit=5&na%00me=1", "parameter name"},
      {"/api/stream?since=1%00", "'since'"},
      {"/api/stats?x=%00", "'x'"},
      {"/api/incidents/" + rows_[0].id + "?v=%ED%A0%80", "'v'"},
  };
  for (const auto& [path, named] : cases) {
    Json j = GetJson(path, 400);
    ASSERT_TRUE(j.is_object() && j.contains("error") && j["error"].is_string()) << path;
    EXPECT_NE(j["error"].get<std::string>().find(named), std::string::npos)
        << path << ": " << j["error"];
  }
  // The largest accepted cursor is no SQL error either.
  EXPECT_TRUE(
      GetJson("/api/incidents?before=999999999999999&service=" + service_)["incidents"].is_array());
  // A body beyond 64 KB is refused (the API only answers GET).
  httplib::Client c("127.0.0.1", port_);
  c.set_read_timeout(10);
  auto post = c.Post("/api/incidents", {{"Authorization", std::string("Bearer ") + kToken}},
                     std::string(100 * 1024, 'x'), "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 413);
  EXPECT_EQ(Get("/healthz", false)->status, 200);
}

// Issue 18: a person approves or rejects a remediation action AWAITING_APPROVAL; who decided is
// recorded with an ACTION_* event; a replay is a visible 409, an expired approval a 410.
TEST_F(ApiIntegration, ApproveAndRejectRemediationActions) {
  SRE_REQUIRE_STACK();
  Database db(Stack().database_url);
  const std::string incident = NewUuid(), other_incident = NewUuid();
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  // approve, reject, expired (expires_at in the past), verified (already decided, for the list).
  std::vector<ActionRecord> actions(4);
  ActionRecord foreign;
  Status s = db.Transact([&](pqxx::work& tx) {
    for (const auto& id : {incident, other_incident})
      tx.exec_params(
          "INSERT INTO incidents (id, status, anomaly_type, severity, service, trigger_metric, "
          "detection_time)"
          " VALUES ($1::uuid, 'REMEDIATING', 'ERROR_RATE_SPIKE', 'HIGH', $2, 'error_rate',"
          " to_timestamp($3::bigint / 1000.0))",
          id, service_ + "-actions", now - 60000);
    const std::vector<std::tuple<RemediationAction, ActionStatus, int64_t>> kinds = {
        {RemediationAction::ROLLBACK, ActionStatus::AWAITING_APPROVAL, now + 1800000},
        {RemediationAction::RESTART, ActionStatus::AWAITING_APPROVAL, now + 1800000},
        {RemediationAction::SCALE_OUT, ActionStatus::AWAITING_APPROVAL, now - 60000},
        {RemediationAction::KILL_LONG_QUERIES, ActionStatus::VERIFIED, now + 1800000}};
    for (size_t i = 0; i < kinds.size(); ++i) {
      ActionRecord& a = actions[i];
      a.id = NewUuid();
      a.incident_id = incident;
      a.ordinal = static_cast<int64_t>(i) + 1;
      a.action = std::get<0>(kinds[i]);
      a.service = service_ + "-actions";
      a.executor = "simulator";
      a.risk = RiskLevel::MEDIUM;
      a.reversible = true;
      a.trigger_metric = "error_rate";
      a.status = std::get<1>(kinds[i]);
      a.mode = "approve";
      a.reason = "approve mode: every action waits for a person";
      a.expires_at_ms = std::get<2>(kinds[i]);
      a.proposed_time_ms = now - 30000;
      EXPECT_TRUE(InsertAction(tx, a));
    }
    foreign = actions[0];
    foreign.id = NewUuid();
    foreign.incident_id = other_incident;
    EXPECT_TRUE(InsertAction(tx, foreign));
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.message();
  const std::string base = "/api/incidents/" + incident + "/actions/";
  auto path = [&](size_t i, const char* decision) { return base + actions[i].id + "/" + decision; };
  auto events = [&](const std::string& type) {
    std::vector<Json> out;
    EXPECT_TRUE(db.Transact([&](pqxx::work& tx) {
                    for (const auto& row :
                         tx.exec_params("SELECT payload::text FROM agent_events WHERE incident_id "
                                        "= $1::uuid AND event_type = $2"
                                        " ORDER BY id",
                                        incident, type))
                      out.push_back(Json::parse(row[0].as<std::string>()));
                    return Status::Ok();
                  }).ok());
    return out;
  };
  auto json = [](const httplib::Result& r) {
    return r ? Json::parse(r->body, nullptr, false) : Json();
  };

  // The list and the detail.
  Json list = GetJson("/api/incidents/" + incident + "/actions");
  ASSERT_EQ(list["actions"].size(), 4u) << list.dump();
  EXPECT_EQ(list["actions"][0]["id"], actions[0].id);
  EXPECT_EQ(list["actions"][0]["action"], "rollback");
  EXPECT_EQ(list["actions"][0]["status"], "AWAITING_APPROVAL");
  EXPECT_EQ(list["actions"][0]["awaiting_approval"], true);
  EXPECT_EQ(list["actions"][3]["status"], "VERIFIED");
  Json detail = GetJson("/api/incidents/" + incident);
  ASSERT_EQ(detail["actions"].size(), 4u);
  EXPECT_EQ(detail["actions"][1]["action"], "restart");
  EXPECT_TRUE(GetJson("/api/incidents/" + rows_[0].id + "/actions")["actions"].empty());
  EXPECT_EQ(Get("/api/incidents/" + NewUuid() + "/actions")->status, 404);
  EXPECT_EQ(Get("/api/incidents/" + incident + "/actions", false)->status, 401);

  // Refusals, none of which changes anything.
  auto r = Post(path(0, "approve"), R"({"by": "alice"})", /*with_token=*/false);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = Post(path(0, "approve") + "?access_token=" + kToken, R"({"by": "alice"})", false);
  EXPECT_EQ(r->status, 401) << "a mutating request needs the header, not ?access_token=";
  r = Post(path(0, "approve"), R"({"by": "alice"})", true, {{"Origin", "http://evil.example"}});
  EXPECT_EQ(r->status, 403) << r->body;
  r = Post(path(0, "approve"), "by=alice", true, {}, "application/x-www-form-urlencoded");
  EXPECT_EQ(r->status, 415) << r->body;
  for (const std::string& body :
       {std::string(), std::string("{}"), std::string(R"({"by": "  "})"),
        Json{{"by", std::string(101, 'a')}}.dump(), std::string(R"({"by": "a\u0007"})")}) {
    r = Post(path(0, "approve"), body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << body;
    EXPECT_EQ(json(r)["field"], "by") << body << ": " << r->body;
  }
  EXPECT_EQ(Post(base + "not-a-uuid/approve", R"({"by": "alice"})")->status, 400);
  EXPECT_EQ(Post("/api/incidents/nope/actions/" + actions[0].id + "/approve", R"({"by": "alice"})")
                ->status,
            400);
  EXPECT_EQ(Post(base + NewUuid() + "/approve", R"({"by": "alice"})")->status, 404);
  EXPECT_EQ(Post("/api/incidents/" + NewUuid() + "/actions/" + actions[0].id + "/approve",
                 R"({"by": "alice"})")
                ->status,
            404);
  // An action of another incident is not found under this one.
  EXPECT_EQ(Post(base + foreign.id + "/approve", R"({"by": "alice"})")->status, 404);
  EXPECT_EQ(Post(base + actions[0].id + "/execute", R"({"by": "alice"})")->status, 404);
  EXPECT_TRUE(events("ACTION_APPROVED").empty());
  EXPECT_EQ(GetJson("/api/incidents/" + incident + "/actions")["actions"][0]["status"],
            "AWAITING_APPROVAL");

  // Approve (the dashboard's way: same-origin page, token header): 200, recorded with who.
  const std::string self = "http://127.0.0.1:" + std::to_string(port_);
  r = Post(path(0, "approve"),
           R"({"by": " alice@example.com ", "note": "deploy 2.4.1 is the cause"})", true,
           {{"Origin", self}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  Json approved = json(r);
  EXPECT_EQ(approved["id"], actions[0].id);
  EXPECT_EQ(approved["status"], "APPROVED");
  EXPECT_EQ(approved["decided_by"], "alice@example.com");
  EXPECT_TRUE(approved["decided_at_ms"].is_number());
  auto approvals = events("ACTION_APPROVED");
  ASSERT_EQ(approvals.size(), 1u);
  EXPECT_EQ(approvals[0]["by"], "alice@example.com");
  EXPECT_EQ(approvals[0]["action_id"], actions[0].id);
  EXPECT_EQ(approvals[0]["status"], "APPROVED");
  EXPECT_NE(approvals[0]["reason"].get<std::string>().find("deploy 2.4.1 is the cause"),
            std::string::npos);

  // A replayed approval, or a rejection after it: 409, nothing changes.
  r = Post(path(0, "approve"), R"({"by": "alice@example.com"})");
  EXPECT_EQ(r->status, 409) << r->body;
  EXPECT_EQ(json(r)["error"], "action is APPROVED");
  EXPECT_EQ(json(r)["status"], "APPROVED");
  r = Post(path(0, "reject"), R"({"by": "mallory"})");
  EXPECT_EQ(r->status, 409) << r->body;
  EXPECT_EQ(events("ACTION_APPROVED").size(), 1u);
  EXPECT_TRUE(events("ACTION_REJECTED").empty());

  // Reject another.
  r = Post(path(1, "reject"), R"({"by": "bob"})");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json(r)["status"], "REJECTED");
  EXPECT_EQ(json(r)["decided_by"], "bob");
  auto rejections = events("ACTION_REJECTED");
  ASSERT_EQ(rejections.size(), 1u);
  EXPECT_EQ(rejections[0]["by"], "bob");
  EXPECT_EQ(Post(path(1, "approve"), R"({"by": "bob"})")->status, 409);

  // An expired approval: 410, escalated and recorded (not rolled back with the answer).
  r = Post(path(2, "approve"), R"({"by": "carol"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 410) << r->body;
  EXPECT_EQ(json(r)["error"], "approval expired; escalated");
  auto escalations = events("ACTION_ESCALATED");
  ASSERT_EQ(escalations.size(), 1u);
  EXPECT_EQ(escalations[0]["action_id"], actions[2].id);
  EXPECT_EQ(escalations[0]["status"], "ESCALATED");
  EXPECT_EQ(Post(path(2, "approve"), R"({"by": "carol"})")->status, 409) << "escalated now";
  EXPECT_EQ(Post(path(3, "approve"), R"({"by": "carol"})")->status, 409) << "already verified";

  Json after = GetJson("/api/incidents/" + incident + "/actions");
  std::vector<std::string> statuses;
  for (const auto& a : after["actions"]) statuses.push_back(a["status"]);
  EXPECT_EQ(statuses, (std::vector<std::string>{"APPROVED", "REJECTED", "ESCALATED", "VERIFIED"}));
  EXPECT_EQ(after["actions"][0]["decided_by"], "alice@example.com");
  // The timeline reads as sentences.
  Json t = GetJson("/api/incidents/" + incident + "/timeline");
  std::vector<std::string> lines;
  for (const auto& e : t["events"]) lines.push_back(e["summary"]);
  const std::string svc = service_ + "-actions";
  EXPECT_NE(
      std::find(lines.begin(), lines.end(),
                "rollback on " + svc +
                    " via simulator: approved by alice@example.com — deploy 2.4.1 is the cause"),
      lines.end())
      << t.dump();
  EXPECT_NE(std::find(lines.begin(), lines.end(),
                      "restart on " + svc + " via simulator: rejected by bob"),
            lines.end())
      << t.dump();
  // The other incident's action was never touched.
  EXPECT_TRUE(db.Transact([&](pqxx::work& tx) {
                  EXPECT_EQ(LoadAction(tx, foreign.id)->status, ActionStatus::AWAITING_APPROVAL);
                  return Status::Ok();
                }).ok());
}

// Runs last (tests run in declaration order): by now requests were served and events consumed.
TEST_F(ApiIntegration, MetricsExposeRequestsStreamAndConsumerFigures) {
  SRE_REQUIRE_STACK();
  auto r = Get("/metrics");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  for (const char* needle :
       {"sre_api_requests_total{route=\"/api/incidents\",status=\"200\"}",
        "sre_api_requests_total{route=\"/api/incidents\",status=\"400\"}",
        "sre_api_requests_total{route=\"/api/unknown\",status=\"404\"}",
        "sre_api_requests_total{route=\"/api/stream\",status=\"503\"}", "sre_api_open_streams ",
        "sre_api_stream_events_total{topic=\"incidents.opened\"}",
        "sre_messages_consumed_total{topic=\"incidents.opened\",outcome=\"ok\"}",
        "sre_messages_consumed_total{topic=\"incidents.opened\",outcome=\"invalid\"}",
        "sre_messages_dead_lettered_total", "sre_consumer_lag{",
        "sre_handler_duration_seconds_bucket", "sre_api_mttr_seconds{stat=\"p90\"}",
        "sre_api_incidents{status=\"open\"}"})
    EXPECT_NE(r->body.find(needle), std::string::npos) << needle << " missing from /metrics";
}

}  // namespace
}  // namespace sre
