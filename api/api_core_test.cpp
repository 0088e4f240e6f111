#include "api/api_core.h"

#include <gtest/gtest.h>

#include <thread>

#include "api/server.h"

namespace sre::api {
namespace {

using Params = std::multimap<std::string, std::string>;
const std::string kId = "0f8fad5b-d9cb-469f-a165-70867728950e";

TEST(ParseIncidentQueryTest, AcceptsValidFiltersAndNormalisesCase) {
  auto r = ParseIncidentQuery({{"status", "closed"},
                               {"severity", "High"},
                               {"service", "payment-service"},
                               {"limit", "10"}});
  ASSERT_TRUE(std::holds_alternative<IncidentQuery>(r));
  const auto& q = std::get<IncidentQuery>(r);
  EXPECT_EQ(q.status, "CLOSED");
  EXPECT_EQ(q.severity, "HIGH");
  EXPECT_EQ(q.service, "payment-service");
  EXPECT_EQ(q.limit, 10);
}

TEST(ParseIncidentQueryTest, DefaultsWithoutParameters) {
  auto q = std::get<IncidentQuery>(ParseIncidentQuery({}));
  EXPECT_EQ(q.limit, kDefaultLimit);
  EXPECT_TRUE(q.status.empty());
  EXPECT_TRUE(q.before_id.empty());
  EXPECT_EQ(q.before_ms, 0);
}

TEST(ParseIncidentQueryTest, BeforeTakesAnIdOrMilliseconds) {
  EXPECT_EQ(std::get<IncidentQuery>(ParseIncidentQuery({{"before", kId}})).before_id, kId);
  EXPECT_EQ(std::get<IncidentQuery>(ParseIncidentQuery({{"before", "1764650000000"}})).before_ms,
            1764650000000);
}

TEST(ParseIncidentQueryTest, RejectsBadValues) {
  const std::vector<Params> bad = {{{"status", "BROKEN"}},
                                   {{"severity", "URGENT"}},
                                   {{"limit", "0"}},
                                   {{"limit", "201"}},
                                   {{"limit", "-1"}},
                                   {{"limit", "ten"}},
                                   {{"before", "yesterday"}},
                                   {{"before", "0F8FAD5B-D9CB-469F-A165-70867728950E"}},
                                   {{"service", "x' OR 1=1--"}},
                                   {{"service", std::string(129, 'a')}},
                                   {{"colour", "red"}},
                                   {{"limit", "5"}, {"limit", "6"}}};
  for (const auto& p : bad) {
    auto r = ParseIncidentQuery(p);
    ASSERT_TRUE(std::holds_alternative<ApiError>(r))
        << p.begin()->first << "=" << p.begin()->second;
    EXPECT_EQ(std::get<ApiError>(r).status, 400);
  }
}

TEST(IsUuidTest, OnlyCanonicalLowerCase) {
  EXPECT_TRUE(IsUuid(kId));
  EXPECT_FALSE(IsUuid("0f8fad5b-d9cb-469f-a165-70867728950"));
  EXPECT_FALSE(IsUuid("0f8fad5b_d9cb-469f-a165-70867728950e"));
  EXPECT_FALSE(IsUuid("not-a-uuid"));
  EXPECT_FALSE(IsUuid("'; DROP TABLE incidents; --"));
}

TEST(ShapeIncidentListTest, CutsToLimitAndPointsAtNextPage) {
  Json rows = Json::array();
  for (int i = 0; i < 3; ++i)
    rows.push_back({{"id", "0000000" + std::to_string(i) + "-0000-0000-0000-000000000000"}});
  Json page = ShapeIncidentList(rows, 2);
  ASSERT_EQ(page["incidents"].size(), 2u);
  EXPECT_EQ(page["next_before"], "00000001-0000-0000-0000-000000000000");
  EXPECT_EQ(page["incidents"][0]["incident_number"], "INC-00000000");
  Json last = ShapeIncidentList(rows, 3);
  EXPECT_EQ(last["incidents"].size(), 3u);
  EXPECT_TRUE(last["next_before"].is_null());
}

TEST(ShapeIncidentDetailTest, GroupsPlanByPriorityAndAddsEmails) {
  Json incident = {
      {"id", kId},
      {"remediation_plan",
       {{"action_steps",
         {{{"step_id", 1}, {"priority", "IMMEDIATE"}},
          {{"step_id", 2}, {"priority", "WITHIN_1HOUR"}},
          {{"step_id", 3}, {"priority", "IMMEDIATE"}}}}}},
      {"correlation_context",
       {{"signals", {{{"signal_type", "DEPLOYMENT"}}}}, {"summary", "deployed 5 min before"}}}};
  Json d = ShapeIncidentDetail(incident, Json::array({{{"subject", "s"}}}));
  EXPECT_EQ(d["incident_number"], "INC-0F8FAD5B");
  EXPECT_EQ(d["plan_by_priority"]["IMMEDIATE"].size(), 2u);
  EXPECT_EQ(d["plan_by_priority"]["WITHIN_15MIN"].size(), 0u);
  EXPECT_EQ(d["plan_by_priority"]["WITHIN_1HOUR"][0]["step_id"], 2);
  EXPECT_EQ(d["emails"].size(), 1u);
  EXPECT_EQ(d["correlation_signals"][0]["signal_type"], "DEPLOYMENT");
  EXPECT_EQ(d["correlation_summary"], "deployed 5 min before");
}

TEST(ShapeIncidentDetailTest, ToleratesMissingPlan) {
  Json d = ShapeIncidentDetail({{"id", kId}, {"remediation_plan", nullptr}}, nullptr);
  EXPECT_TRUE(d["emails"].is_array());
  EXPECT_TRUE(d["plan_by_priority"]["IMMEDIATE"].empty());
  EXPECT_TRUE(d["correlation_signals"].empty());
}

TEST(ComputeStatsTest, CountsOpenTypesSeveritiesAndMttr) {
  std::vector<StatsRow> rows = {
      {"CLOSED", "LATENCY_SPIKE", "HIGH", 100.0, 2.0, 0},
      {"RESOLVED", "LATENCY_SPIKE", "CRITICAL", 300.0, 4.0, 0},
      {"INVESTIGATING", "MEMORY_LEAK", "HIGH", std::nullopt, std::nullopt, 86400000},
  };
  Json s = ComputeStats(rows);
  EXPECT_EQ(s["total"], 3);
  EXPECT_EQ(s["open"], 1);
  EXPECT_EQ(s["by_type"]["LATENCY_SPIKE"], 2);
  EXPECT_EQ(s["by_severity"]["HIGH"], 2);
  EXPECT_EQ(s["by_severity"]["LOW"], 0);
  EXPECT_EQ(s["mttr_seconds"]["count"], 2);
  EXPECT_DOUBLE_EQ(s["mttr_seconds"]["mean"].get<double>(), 200.0);
  EXPECT_DOUBLE_EQ(s["mttr_seconds"]["p90"].get<double>(), 300.0);
  EXPECT_DOUBLE_EQ(s["detection_delay_seconds"]["mean"].get<double>(), 3.0);
  ASSERT_EQ(s["per_day"].size(), 2u);
  EXPECT_EQ(s["per_day"][0]["count"], 2);
  EXPECT_TRUE(s["per_day"][1]["mttr_mean"].is_null());
}

TEST(ComputeStatsTest, EmptyHasNullMeans) {
  Json s = ComputeStats({});
  EXPECT_EQ(s["total"], 0);
  EXPECT_TRUE(s["mttr_seconds"]["mean"].is_null());
  EXPECT_TRUE(s["mttr_seconds"]["p90"].is_null());
}

TEST(ServiceHealthTest, Table) {
  struct Case {
    bool open;
    std::map<std::string, double> latest;
    std::string want;
  };
  const std::vector<Case> cases = {
      {true, {}, "incident"},
      {false, {}, "unknown"},
      {false, {{"latency_p99_ms", 400}, {"error_rate", 0.5}}, "ok"},
      {false, {{"latency_p99_ms", 1200}}, "degraded"},
      {false, {{"error_rate", 5}}, "degraded"},
      {true, {{"latency_p99_ms", 10}}, "incident"},
  };
  for (const auto& c : cases) EXPECT_EQ(ServiceHealth(c.open, c.latest, 1000, 1), c.want);
}

TEST(MakeStreamEventTest, SummarisesLifecyclePayloads) {
  auto r = MakeStreamEvent("rca.completed", Json{{"event_id", "e1"},
                                                 {"timestamp", 1000},
                                                 {"incident_id", kId},
                                                 {"root_cause_service", "payment-service"},
                                                 {"root_cause_category", "DATABASE_BOTTLENECK"},
                                                 {"top_confidence", 0.8}}
                                                .dump());
  ASSERT_TRUE(std::holds_alternative<StreamEvent>(r));
  const auto& e = std::get<StreamEvent>(r);
  EXPECT_EQ(e.type, "rca.completed");
  Json d = Json::parse(e.data);
  EXPECT_EQ(d["incident_number"], "INC-0F8FAD5B");
  EXPECT_EQ(d["event_id"], "e1");
  EXPECT_EQ(d["summary"]["root_cause_category"], "DATABASE_BOTTLENECK");
  EXPECT_DOUBLE_EQ(d["summary"]["top_confidence"].get<double>(), 0.8);
}

TEST(MakeStreamEventTest, RejectsMalformedPayloads) {
  for (const std::string p :
       {"not json", "[1,2]", R"({"incident_id": 5})", R"({"incident_id": "abc"})", "{}"})
    EXPECT_TRUE(std::holds_alternative<ApiError>(MakeStreamEvent("incidents.opened", p))) << p;
}

StreamEvent Ev(const std::string& type) { return StreamEvent{0, type, R"({"x":1})"}; }

TEST(EventRingTest, AssignsIncreasingIdsAndReplaysAfterCursor) {
  EventRing ring(10, 100);
  EXPECT_EQ(ring.last_id(), 0u);
  EXPECT_EQ(ring.Push(Ev("a")), 100u);
  EXPECT_EQ(ring.Push(Ev("b")), 101u);
  EXPECT_EQ(ring.Push(Ev("c")), 102u);
  auto r = ring.Since(100);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].type, "b");
  EXPECT_EQ(Json::parse(r.events[0].data)["id"], 101);
  EXPECT_FALSE(r.gap);
  EXPECT_EQ(r.last_id, 102u);
  EXPECT_TRUE(ring.Since(102).events.empty());
}

TEST(EventRingTest, DropsOldestBeyondCapacityAndReportsGap) {
  EventRing ring(3, 1);
  for (int i = 0; i < 5; ++i) ring.Push(Ev(std::to_string(i)));
  EXPECT_EQ(ring.size(), 3u);
  auto r = ring.Since(1);  // ids 2 was dropped; 3,4,5 remain
  EXPECT_TRUE(r.gap);
  ASSERT_EQ(r.events.size(), 3u);
  EXPECT_EQ(r.events.front().id, 3u);
  EXPECT_FALSE(ring.Since(2).gap) << "the client saw 2; 3 is the oldest held: nothing lost";
}

TEST(EventRingTest, UnknownFutureIdReplaysEverything) {
  EventRing ring(5, 1000);
  ring.Push(Ev("a"));
  ring.Push(Ev("b"));
  EXPECT_EQ(ring.Since(999999).events.size(), 2u) << "an id from an earlier process";
}

TEST(ResumePointTest, HeaderWinsOverParameter) {
  EXPECT_FALSE(std::get<std::optional<uint64_t>>(ResumePoint("", "")));
  EXPECT_EQ(*std::get<std::optional<uint64_t>>(ResumePoint("42", "7")), 42u);
  EXPECT_EQ(*std::get<std::optional<uint64_t>>(ResumePoint("", "7")), 7u);
  EXPECT_TRUE(std::holds_alternative<ApiError>(ResumePoint("abc", "")));
  EXPECT_TRUE(std::holds_alternative<ApiError>(ResumePoint("", "-3")));
}

TEST(SseFrameTest, FramesIdEventAndMultilineData) {
  EXPECT_EQ(SseFrame({7, "incidents.opened", "{\"a\":1}"}),
            "id: 7\nevent: incidents.opened\ndata: {\"a\":1}\n\n");
  EXPECT_EQ(SseFrame({8, "x", "one\r\ntwo"}), "id: 8\nevent: x\ndata: one\ndata: two\n\n");
  EXPECT_EQ(SseComment("ping"), ": ping\n\n");
}

TEST(AuthorizedTest, Table) {
  EXPECT_TRUE(Authorized("", "", ""));
  EXPECT_TRUE(Authorized("s3cret", "Bearer s3cret", ""));
  EXPECT_TRUE(Authorized("s3cret", "", "s3cret"));
  EXPECT_FALSE(Authorized("s3cret", "", ""));
  EXPECT_FALSE(Authorized("s3cret", "Bearer s3cre", ""));
  EXPECT_FALSE(Authorized("s3cret", "Bearer s3cret2", ""));
  EXPECT_FALSE(Authorized("s3cret", "Basic s3cret", ""));
  EXPECT_FALSE(Authorized("s3cret", "Bearer ", ""));
}

TEST(StaticRelativePathTest, RejectsTraversal) {
  EXPECT_EQ(*StaticRelativePath("/"), "index.html");
  EXPECT_EQ(*StaticRelativePath("/app.js"), "app.js");
  EXPECT_EQ(*StaticRelativePath("/img/logo.svg"), "img/logo.svg");
  for (const std::string p :
       {"/../etc/passwd", "/a/../../b", "//etc/passwd", "/a\\b", "/./x", "relative", "/a//b"})
    EXPECT_FALSE(StaticRelativePath(p)) << p;
}

TEST(ContentTypeForTest, ByExtension) {
  EXPECT_EQ(ContentTypeFor("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("style.css"), "text/css; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("blob"), "application/octet-stream");
}

}  // namespace
}  // namespace sre::api

namespace sre::api {
namespace {

const std::string kOtherId = "0f8fad5b-d9cb-469f-a165-70867728950e";

TEST(StreamHandlerTest, AddsEventsOnceAndRejectsMalformedPayloads) {
  EventHub hub(1);
  StreamHandler handler(hub);
  InboundMessage m;
  m.topic = "incidents.opened";
  m.payload = Json{{"event_id", "ev-1"}, {"incident_id", kOtherId}, {"timestamp", 5}}.dump();
  EXPECT_TRUE(handler.Handle(m).ok());
  EXPECT_TRUE(handler.Handle(m).ok()) << "a redelivery is not an error";
  EXPECT_EQ(hub.ring().size(), 1u) << "a redelivered event_id is not streamed twice";
  m.payload = "{broken";
  EXPECT_TRUE(handler.Handle(m).invalid());
  EXPECT_EQ(hub.ring().size(), 1u);
}

TEST(EventHubTest, WaitNewerWakesOnPublishAndShutdown) {
  EventHub hub(10);
  EXPECT_FALSE(hub.WaitNewer(0, std::chrono::milliseconds(10)));
  std::thread publisher([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    hub.Publish(StreamEvent{0, "x", "{}"});
  });
  EXPECT_TRUE(hub.WaitNewer(0, std::chrono::seconds(10)));
  publisher.join();
  EXPECT_FALSE(hub.WaitNewer(10, std::chrono::milliseconds(10)));
  hub.Shutdown();
  auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(hub.WaitNewer(10, std::chrono::seconds(10)));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_TRUE(hub.shut_down());
}

}  // namespace
}  // namespace sre::api
