#include "api/api_core.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <thread>

#include "api/server.h"
#include "shared/config.h"
#include "shared/messages.h"
#include "shared/metrics.h"
#include "shared/text.h"

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

TEST(CheckQueryParametersTest, NulAndInvalidUtf8AreNamed) {
  EXPECT_FALSE(CheckQueryParameters({}));
  EXPECT_FALSE(CheckQueryParameters({{"service", "caf\xc3\xa9"}, {"q", ""}}))
      << "valid UTF-8 is not this check's business";
  const std::vector<std::pair<Params, std::string>> bad = {
      {{{"service", std::string("a\0b", 3)}}, "'service'"},
      {{{"service", std::string(1, '\0')}}, "'service'"},
      {{{"status", "\xff"}}, "'status'"},
      {{{"since", "\xc3\x28"}}, "'since'"},
      {{{"limit", "\xed\xa0\x80"}}, "'limit'"},  // a UTF-16 surrogate
      {{{"before", "\xc0\xaf"}}, "'before'"},    // an overlong '/'
      {{{"ok", "1"}, {"zz", std::string("x\0", 2)}}, "'zz'"},
      {{{std::string("na\0me", 5), "1"}}, "parameter name"},
      {{{"\xff\xfe", "1"}}, "parameter name"},
  };
  for (const auto& [params, named] : bad) {
    std::optional<ApiError> err;
    ASSERT_NO_THROW(err = CheckQueryParameters(params));
    ASSERT_TRUE(err) << named;
    EXPECT_EQ(err->status, 400);
    EXPECT_NE(err->message.find(named), std::string::npos) << err->message;
    EXPECT_TRUE(IsValidUtf8(err->message));
    EXPECT_EQ(err->message.find('\0'), std::string::npos);
  }
}

TEST(ParseIncidentQueryTest, HostileValuesAreErrorsNotExceptions) {
  const std::string big(10240, '9');
  const std::vector<Params> bad = {
      {{"limit", "99999999999999999999999999"}},
      {{"limit", "2147483648"}},
      {{"limit", "-2147483649"}},
      {{"limit", "+5"}},
      {{"limit", " 5"}},
      {{"limit", "5 "}},
      {{"limit", "0x10"}},
      {{"limit", ""}},
      {{"limit", big}},
      {{"limit", std::string("5\0", 2)}},
      {{"before", "99999999999999999999999999"}},
      {{"before", "9999999999999999"}},  // 16 digits
      {{"before", "-1"}},
      {{"before", big}},
      {{"before", std::string(kId + '\0')}},
      {{"before", "\xff"}},
      {{"status", std::string(10240, 'A')}},
      {{"status", std::string("OPEN\0", 5)}},
      {{"status", "OPEN\xff"}},
      {{"severity", std::string("HIGH\0", 5)}},
      {{"service", std::string("payment-service\0", 16)}},
      {{"service", "payment-service\xc3"}},
      {{"service", std::string(10240, 'a')}},
      {{"access_token", std::string("t\0", 2)}},
      {{std::string(10240, 'k'), "1"}},
      {{std::string("limit\0", 6), "5"}},
      {{"\xff", "1"}},
  };
  for (const auto& p : bad) {
    std::variant<IncidentQuery, ApiError> r;
    ASSERT_NO_THROW(r = ParseIncidentQuery(p)) << p.begin()->first.substr(0, 20);
    ASSERT_TRUE(std::holds_alternative<ApiError>(r))
        << p.begin()->first.substr(0, 20) << "=" << p.begin()->second.substr(0, 20);
    const auto& err = std::get<ApiError>(r);
    EXPECT_EQ(err.status, 400);
    EXPECT_TRUE(IsValidUtf8(err.message));
    EXPECT_EQ(err.message.find('\0'), std::string::npos);
    EXPECT_LE(err.message.size(), 200u) << "a 10 KB value is not echoed back";
  }
  // The largest accepted values.
  auto q = std::get<IncidentQuery>(ParseIncidentQuery({{"limit", "000200"}}));
  EXPECT_EQ(q.limit, 200);
  q = std::get<IncidentQuery>(ParseIncidentQuery({{"before", "999999999999999"}}));
  EXPECT_EQ(q.before_ms, 999999999999999);
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
                                   {{"group", "service"}},
                                   {{"group", "cascade"}, {"group", "cascade"}},
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
       {{"signals",
         {{{"signal_type", "DEPLOYMENT"}, {"strength", 0.9}, {"description", "2.5.0"}, {"evidence", Json::array()}}}},
        {"deployment", nullptr},
        {"summary", "deployed 5 min before"},
        {"recent_errors", Json::array()}}}};
  Json d = ShapeIncidentDetail(incident, Json::array({{{"subject", "s"}}}));
  EXPECT_EQ(d["incident_number"], "INC-0F8FAD5B");
  EXPECT_EQ(d["plan_by_priority"]["IMMEDIATE"].size(), 2u);
  EXPECT_EQ(d["plan_by_priority"]["WITHIN_15MIN"].size(), 0u);
  EXPECT_EQ(d["plan_by_priority"]["WITHIN_1HOUR"][0]["step_id"], 2);
  EXPECT_EQ(d["emails"].size(), 1u);
  EXPECT_EQ(d["correlation_signals"][0]["signal_type"], "DEPLOYMENT");
  EXPECT_EQ(d["correlation_summary"], "deployed 5 min before");
}

TEST(ShapeIncidentDetailTest, ToleratesOddlyTypedStoredJson) {
  Json incident = {
      {"id", kId},
      {"remediation_plan", {{"action_steps", {{{"step_id", 1}, {"priority", 42}}, "not a step"}}}},
      {"correlation_context", {{"signals", "none"}, {"summary", 7}}}};
  Json d;
  ASSERT_NO_THROW(d = ShapeIncidentDetail(incident, Json::object()));
  EXPECT_EQ(d["plan_by_priority"]["UNSPECIFIED"].size(), 2u) << d["plan_by_priority"].dump();
  EXPECT_TRUE(d["correlation_signals"].empty());
  EXPECT_TRUE(d["correlation_summary"].is_null());
  // Decoded strictly: the row says what is wrong with it instead of guessing.
  EXPECT_NE(d.value("correlation_context_error", std::string()).find("signals"), std::string::npos) << d.dump();
  Json rows = Json::array({{{"id", 5}}, {{"id", nullptr}}});
  Json page;
  ASSERT_NO_THROW(page = ShapeIncidentList(rows, 1));
  EXPECT_TRUE(page["next_before"].is_null());
}

TEST(ShapeIncidentDetailTest, ToleratesMissingPlan) {
  Json d = ShapeIncidentDetail({{"id", kId}, {"remediation_plan", nullptr}}, nullptr);
  EXPECT_TRUE(d["emails"].is_array());
  EXPECT_TRUE(d["plan_by_priority"]["IMMEDIATE"].empty());
  EXPECT_TRUE(d["correlation_signals"].empty());
}

constexpr int64_t kT0 = 1764650000000;  // 2025-12-02T04:33:20Z
constexpr int64_t kHour = 3600 * 1000, kDay = 24 * kHour;

// Ids "<n>0000000-0000-4000-8000-000000000000": incident n.
std::string Id(int n) { return std::to_string(n) + "0000000-0000-4000-8000-000000000000"; }
Json Inc(int n, int origin = 0) {
  Json row = {{"id", Id(n)}, {"service", "svc-" + std::to_string(n)}};
  row["related_incident_id"] = origin ? Json(Id(origin)) : Json();
  return row;
}
std::vector<std::pair<std::string, int>> Order(const Json& rows) {
  std::vector<std::pair<std::string, int>> out;
  for (const auto& r : rows)
    out.emplace_back(r.value("id", std::string("?")).substr(0, 1), r.value("cascade_depth", -1));
  return out;
}
using Placed = std::vector<std::pair<std::string, int>>;

TEST(GroupCascadesTest, LinkedIncidentsFollowTheirOrigin) {
  // Newest first: 5 and 3 are linked to 2 (the origin, older), 4 stands alone, 1 is older still.
  Json page = Json::array({Inc(5, 2), Inc(4), Inc(3, 2), Inc(2), Inc(1)});
  Json g = GroupCascades(page);
  // The group takes the place of its newest member (5); the origin leads it.
  EXPECT_EQ(Order(g), (Placed{{"2", 0}, {"5", 1}, {"3", 1}, {"4", 0}, {"1", 0}}));
  EXPECT_EQ(g[0]["service"], "svc-2") << "rows are kept whole";
  // Nothing linked: the order is unchanged and every depth is 0.
  EXPECT_EQ(Order(GroupCascades(Json::array({Inc(3), Inc(2), Inc(1)}))),
            (Placed{{"3", 0}, {"2", 0}, {"1", 0}}));
}

TEST(GroupCascadesTest, ChainsNestAndMissingOriginsKeepTheirPlace) {
  // 4 -> 3 -> 1 (a chain), 2 linked to 9, which is not on the page.
  Json g = GroupCascades(Json::array({Inc(4, 3), Inc(3, 1), Inc(2, 9), Inc(1)}));
  EXPECT_EQ(Order(g), (Placed{{"1", 0}, {"3", 1}, {"4", 2}, {"2", 0}}));
}

TEST(GroupCascadesTest, CyclesAndOddRowsNeverLoseOrDuplicateARow) {
  // 3 <-> 2 (a cycle no real data has), 1 linked to itself, odd rows.
  Json page = Json::array({Inc(3, 2), Inc(2, 3), Inc(1, 1), "not a row", Json{{"id", 7}}, nullptr});
  Json g;
  ASSERT_NO_THROW(g = GroupCascades(page));
  ASSERT_EQ(g.size(), page.size());
  std::multiset<std::string> before, after;
  for (const auto& r : page) before.insert(r.dump());
  for (auto r : g) {
    if (r.is_object()) r.erase("cascade_depth");
    after.insert(r.dump());
  }
  EXPECT_EQ(before, after);
  EXPECT_EQ(g[0]["id"], Id(2));
  EXPECT_EQ(g[1]["id"], Id(3));
  EXPECT_EQ(g[1]["cascade_depth"], 1);
  EXPECT_EQ(g[2]["cascade_depth"], 0) << "linked to itself is no cascade";
  EXPECT_TRUE(GroupCascades(Json::object()).empty());
}

TEST(ShapeIncidentListTest, NumbersRelatedIncidentsAndGroupsOnRequest) {
  // limit 3 of 4 rows: next_before is the oldest row of the page in SQL order (3), not the
  // last row after grouping.
  Json rows = Json::array({Inc(5, 3), Inc(4), Inc(3), Inc(2)});
  Json plain = ShapeIncidentList(rows, 3);
  EXPECT_EQ(Order(plain["incidents"]), (Placed{{"5", -1}, {"4", -1}, {"3", -1}}));
  EXPECT_EQ(plain["incidents"][0]["related_incident_number"], "INC-30000000");
  EXPECT_TRUE(plain["incidents"][1]["related_incident_number"].is_null());
  Json grouped = ShapeIncidentList(rows, 3, true);
  EXPECT_EQ(Order(grouped["incidents"]), (Placed{{"3", 0}, {"5", 1}, {"4", 0}}));
  EXPECT_EQ(grouped["next_before"], Id(3));
  EXPECT_EQ(grouped["incidents"][1]["related_incident_number"], "INC-30000000");
  EXPECT_TRUE(std::get<IncidentQuery>(ParseIncidentQuery({{"group", "cascade"}})).group_cascades);
  EXPECT_TRUE(std::get<IncidentQuery>(ParseIncidentQuery({{"group", "Cascade"}})).group_cascades);
  EXPECT_FALSE(std::get<IncidentQuery>(ParseIncidentQuery({{"group", ""}})).group_cascades);
  EXPECT_FALSE(std::get<IncidentQuery>(ParseIncidentQuery({})).group_cascades);
}

TEST(ShapeIncidentDetailTest, CascadeOriginAndLinkedIncidents) {
  Json incident = {{"id", Id(2)}, {"related_incident_id", Id(1)},
                   {"detection_time_ms", kT0}, {"created_at_ms", kT0 + 1500}};
  Json related = {{"id", Id(1)}, {"service", "payment-service"}, {"status", "CLOSED"}};
  Json linked = Json::array({{{"id", Id(3)}, {"service", "api-gateway"}}, "odd", Json{{"id", 4}}});
  Json d = ShapeIncidentDetail(incident, Json::array(), related, linked);
  EXPECT_EQ(d["related_incident_number"], "INC-10000000");
  EXPECT_EQ(d["related_incident"]["incident_number"], "INC-10000000");
  EXPECT_EQ(d["related_incident"]["service"], "payment-service");
  ASSERT_EQ(d["linked_incidents"].size(), 2u) << "non-objects dropped";
  EXPECT_EQ(d["linked_incidents"][0]["incident_number"], "INC-30000000");
  EXPECT_EQ(d["linked_incidents"][0]["service"], "api-gateway");
  EXPECT_DOUBLE_EQ(d["pipeline_delay_seconds"].get<double>(), 1.5);
  // No cascade: explicit nulls and an empty list; event time ahead: no delay.
  Json alone = ShapeIncidentDetail({{"id", Id(5)}, {"related_incident_id", nullptr},
                                    {"detection_time_ms", kT0 + 10}, {"created_at_ms", kT0}},
                                   Json::array());
  EXPECT_TRUE(alone["related_incident_number"].is_null());
  EXPECT_TRUE(alone["related_incident"].is_null());
  EXPECT_TRUE(alone["linked_incidents"].is_array() && alone["linked_incidents"].empty());
  EXPECT_TRUE(alone["pipeline_delay_seconds"].is_null());
  // An origin row that is not the related incident is not shown as it.
  Json wrong = ShapeIncidentDetail(incident, Json::array(), Json{{"id", Id(9)}}, nullptr);
  EXPECT_TRUE(wrong["related_incident"].is_null());
  EXPECT_EQ(wrong["related_incident_number"], "INC-10000000");
}

TEST(DescribeAgentEventTest, EmailSentSaysWhichEmailToHowMany) {
  Json p = {{"notification_type", "INCIDENT_ALERT"},
            {"subject", "[HIGH] INC-0F8FAD5B LATENCY_SPIKE on payment-service (175.0σ)"},
            {"recipients", {"a@x", "b@x", "c@x"}}};
  EXPECT_EQ(DescribeAgentEvent("EMAIL_SENT", p),
            "INCIDENT_ALERT email sent to 3 recipients — [HIGH] INC-0F8FAD5B LATENCY_SPIKE on "
            "payment-service (175.0σ)");
  p["recipients"] = {"a@x"};
  p["rejected_recipients"] = {{{"recipient", "b@x"}, {"code", 550}, {"reply", "no"}}};
  p["notification_type"] = "POSTMORTEM";
  p["subject"] = "s";
  EXPECT_EQ(DescribeAgentEvent("EMAIL_SENT", p),
            "POSTMORTEM email sent to 1 recipient (1 recipient refused) — s");
}

TEST(DescribeAgentEventTest, EveryEventTypeOfThePipelineIsReadable) {
  const std::vector<std::tuple<std::string, Json, std::string>> cases = {
      {"ANOMALY_DETECTED",
       {{"anomaly",
         {{"anomaly_type", "LATENCY_SPIKE"}, {"severity", "HIGH"}, {"service", "payment-service"},
          {"trigger_metric", "latency_p99_ms"}, {"observed_value", 7400.0},
          {"baseline_mean", 380.0},
          {"deviation_sigma", 175.04}}},
        {"classification_method", "FALLBACK"}},
       "LATENCY_SPIKE (HIGH) on payment-service: latency_p99_ms 7400 ms vs baseline 380 ms "
       "(175.0σ); classified by FALLBACK"},
      {"ANOMALY_DETECTED",
       {{"anomaly", {{"anomaly_type", "ERROR_RATE_SPIKE"}, {"service", "s"},
                     {"trigger_metric", "log:db_timeout"}}}},
       "ERROR_RATE_SPIKE on s: log pattern db_timeout"},
      {"METRIC_ATTACHED",
       {{"service", "order-service"}, {"trigger", "error_rate"}, {"observed_value", 12.5},
        {"deviation_sigma", 9.0}},
       "error_rate on order-service also breached: 12.5% (9.0σ)"},
      {"LOG_PATTERN_ATTACHED",
       {{"service", "s"}, {"trigger", "log:oom"}, {"log_line", "java.lang.OutOfMemoryError"}},
       "log pattern oom on s: java.lang.OutOfMemoryError"},
      {"CORRELATION_COMPLETE",
       {{"summary", "deployed 5 min before"}, {"related_incident_id", Id(1)},
        {"adopted_incident_ids", {Id(3), Id(4)}}},
       "deployed 5 min before; part of INC-10000000; origin of 2 linked incidents"},
      {"CORRELATION_COMPLETE", {{"signals", Json::array({Json::object()})}},
       "1 correlation signal"},
      {"LINKED_TO_ORIGIN", {{"related_incident_id", Id(1)}, {"origin_service", "payment-service"}},
       "linked to origin INC-10000000 on payment-service"},
      {"RCA_COMPLETED",
       {{"root_cause_category", "DATABASE_BOTTLENECK"}, {"root_cause_service", "payment-service"},
        {"confidence", 0.8}, {"method", "LLM"}, {"tool_calls", Json::array({1, 2})}},
       "root cause DATABASE_BOTTLENECK in payment-service (80 % confidence, LLM, 2 tool calls)"},
      {"PLAN_CREATED", {{"steps", 5}, {"method", "FALLBACK"}, {"runbooks", {"rb-1", "rb-2"}}},
       "5-step remediation plan (FALLBACK); runbooks: rb-1, rb-2"},
      {"INCIDENT_RESOLVED",
       {{"mttr_seconds", 245.0}, {"method", "METRICS_RECOVERED"}, {"reason", "p99 back"}},
       "resolved after 4 min 5 s (event time), METRICS_RECOVERED: p99 back"},
      {"POSTMORTEM_GENERATED", {{"method", "LLM"}, {"action_items", 6}},
       "postmortem written (LLM), 6 action items"},
      {"SOMETHING_NEW", {{"description", "what it says"}}, "what it says"},
      // Empty payloads (the integration test's rows) still read as sentences.
      {"ANOMALY_DETECTED", Json::object(), "anomaly"},
      {"METRIC_ATTACHED", Json::object(), "another metric also breached"},
      {"LOG_PATTERN_ATTACHED", Json::object(), "another log pattern"},
      {"CORRELATION_COMPLETE", Json::object(), "correlation complete"},
      {"LINKED_TO_ORIGIN", Json::object(), "linked to its origin"},
      {"RCA_COMPLETED", Json::object(), "root cause analysis complete"},
      {"PLAN_CREATED", Json::object(), "remediation plan"},
      {"INCIDENT_RESOLVED", Json::object(), "resolved"},
      {"POSTMORTEM_GENERATED", Json::object(), "postmortem written"},
      {"EMAIL_SENT", Json::object(), "an email sent"},
      {"SOMETHING_NEW", Json::object(), ""},
  };
  for (const auto& [type, payload, want] : cases)
    EXPECT_EQ(DescribeAgentEvent(type, payload), want) << type << " " << payload.dump();
}

TEST(DescribeAgentEventTest, OddPayloadsAreNoExceptionAndStayShortValidText) {
  const std::vector<std::string> types = {
      "EMAIL_SENT",    "ANOMALY_DETECTED", "METRIC_ATTACHED",   "LOG_PATTERN_ATTACHED",
      "CORRELATION_COMPLETE", "LINKED_TO_ORIGIN", "RCA_COMPLETED", "PLAN_CREATED",
      "INCIDENT_RESOLVED", "POSTMORTEM_GENERATED", "X"};
  const std::vector<Json> payloads = {
      Json(), Json::array(), "text", 42,
      Json{{"recipients", "all"}, {"anomaly", 3}, {"confidence", "high"}, {"steps", 1.5},
           {"runbooks", {1, nullptr}}, {"mttr_seconds", -5}, {"action_items", -2},
           {"tool_calls", "many"}, {"subject", std::string(5000, 'x') + "\xce\xa3"}},
      Json{{"summary", std::string(1000, 's')}, {"log_line", std::string(3000, 'l')}}};
  for (const auto& type : types)
    for (const auto& p : payloads) {
      std::string out;
      ASSERT_NO_THROW(out = DescribeAgentEvent(type, p)) << type << " " << p.dump().substr(0, 80);
      EXPECT_LE(out.size(), 400u);
      EXPECT_TRUE(IsValidUtf8(out));
    }
}

TEST(AgentEventTopicsTest, EachLifecycleTopicHasItsEventType) {
  for (const auto& topic : LifecycleTopics()) {
    const std::string type = AgentEventTypeOf(topic);
    EXPECT_FALSE(type.empty()) << topic;
    EXPECT_EQ(TopicOfAgentEvent(type), topic);
  }
  EXPECT_EQ(AgentEventTypeOf("rca.completed"), "RCA_COMPLETED");
  EXPECT_EQ(TopicOfAgentEvent("EMAIL_SENT"), "");
  EXPECT_EQ(AgentEventTypeOf("dead-letters"), "");
}

TEST(ShapeTimelineTest, EveryEventGetsASummary) {
  Json t = ShapeTimeline(kId, Json::array({{{"event_type", "PLAN_CREATED"},
                                            {"payload", {{"steps", 2}}}},
                                           "odd",
                                           {{"event_type", "X"}}}));
  EXPECT_EQ(t["incident_id"], kId);
  ASSERT_EQ(t["events"].size(), 2u);
  EXPECT_EQ(t["events"][0]["summary"], "2-step remediation plan");
  EXPECT_EQ(t["events"][0]["payload"]["steps"], 2) << "the timeline keeps the payload";
  EXPECT_EQ(t["events"][1]["summary"], "");
  EXPECT_TRUE(ShapeTimeline(kId, nullptr)["events"].empty());
}

TEST(RecentEventsTest, ParsesLimitAndShapesRows) {
  EXPECT_EQ(std::get<EventsQuery>(ParseEventsQuery({})).limit, kDefaultEventsLimit);
  EXPECT_EQ(
      std::get<EventsQuery>(ParseEventsQuery({{"limit", "100"}, {"access_token", "t"}})).limit,
      100);
  for (const Params& bad : std::vector<Params>{{{"limit", "0"}},
                                               {{"limit", "101"}},
                                               {{"limit", "x"}},
                                               {{"limit", "1"}, {"limit", "2"}},
                                               {{"since", "1"}},
                                               {{"limit", std::string("5\0", 2)}}}) {
    auto r = ParseEventsQuery(bad);
    ASSERT_TRUE(std::holds_alternative<ApiError>(r)) << bad.begin()->first;
    EXPECT_EQ(std::get<ApiError>(r).status, 400);
  }
  Json rows = Json::array(
      {{{"id", 9}, {"incident_id", kId}, {"event_type", "EMAIL_SENT"},
        {"payload",
         {{"notification_type", "RCA_COMPLETE"}, {"subject", "s"}, {"recipients", {"a"}}}}},
       {{"id", 8},
        {"incident_id", kId},
        {"event_type", "RCA_COMPLETED"},
        {"payload", Json::object()}},
       "odd"});
  Json e = ShapeRecentEvents(rows)["events"];
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0]["id"], 9) << "order kept";
  EXPECT_EQ(e[0]["incident_number"], "INC-0F8FAD5B");
  EXPECT_EQ(e[0]["summary"], "RCA_COMPLETE email sent to 1 recipient — s");
  EXPECT_TRUE(e[0]["topic"].is_null());
  EXPECT_FALSE(e[0].contains("payload"));
  EXPECT_EQ(e[1]["topic"], "rca.completed");
}

TEST(ComputeStatsTest, CountsOpenTypesSeveritiesAndMttr) {
  // detection (event time), recorded (wall clock): delays 2 s and 4 s.
  std::vector<StatsRow> rows = {
      {"CLOSED", "LATENCY_SPIKE", "HIGH", 100.0, kT0, kT0 + 2000},
      {"RESOLVED", "LATENCY_SPIKE", "CRITICAL", 300.0, kT0 + 1000, kT0 + 5000},
      {"INVESTIGATING", "MEMORY_LEAK", "HIGH", std::nullopt, kT0 + kDay, kT0 + kDay},
  };
  Json s = ComputeStats(rows, kT0 + kDay + 60000);
  EXPECT_EQ(s["total"], 3);
  EXPECT_EQ(s["open"], 1);
  EXPECT_EQ(s["by_type"]["LATENCY_SPIKE"], 2);
  EXPECT_EQ(s["by_severity"]["HIGH"], 2);
  EXPECT_EQ(s["by_severity"]["LOW"], 0);
  EXPECT_EQ(s["mttr_seconds"]["count"], 2);
  EXPECT_DOUBLE_EQ(s["mttr_seconds"]["mean"].get<double>(), 200.0);
  EXPECT_DOUBLE_EQ(s["mttr_seconds"]["p90"].get<double>(), 300.0);
  EXPECT_DOUBLE_EQ(s["pipeline_delay_seconds"]["mean"].get<double>(), 2.0);
  EXPECT_EQ(s["pipeline_delay_seconds"]["count"], 3);
  EXPECT_EQ(s["pipeline_delay_seconds"]["skipped_event_time_ahead"], 0);
  ASSERT_EQ(s["per_day"].size(), 2u);
  EXPECT_EQ(s["per_day"][0]["day_ms"], kT0 / kDay * kDay);
  EXPECT_EQ(s["per_day"][0]["count"], 2);
  EXPECT_TRUE(s["per_day"][1]["mttr_mean"].is_null());
  EXPECT_EQ(s["incident_activity"]["bucket"], "hour");
  EXPECT_EQ(s["incident_activity"]["buckets"].size(), 48u);
}

// The −2.26 s mean of issue 6: event time ahead of the wall clock gives no delay, never a
// negative one; such incidents are counted as skipped.
TEST(ComputeStatsTest, PipelineDelayLeavesOutEventTimeAheadOfTheWallClock) {
  std::vector<StatsRow> rows = {
      {"CLOSED", "LATENCY_SPIKE", "HIGH", std::nullopt, kT0, kT0 + 3000},          // 3 s
      {"CLOSED", "LATENCY_SPIKE", "HIGH", std::nullopt, kT0 + 9000, kT0 + 1000},   // 8 s ahead
      {"CLOSED", "LATENCY_SPIKE", "HIGH", std::nullopt, kT0 + 2500, kT0 + 2499},   // 1 ms ahead
      {"CLOSED", "LATENCY_SPIKE", "HIGH", std::nullopt, kT0 + 5000, kT0 + 5000},   // 0 s
  };
  Json s = ComputeStats(rows, kT0 + 10000);
  const Json& d = s["pipeline_delay_seconds"];
  EXPECT_EQ(d["count"], 2);
  EXPECT_EQ(d["skipped_event_time_ahead"], 2);
  EXPECT_DOUBLE_EQ(d["mean"].get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(d["p90"].get<double>(), 3.0);
  EXPECT_EQ(s["detection_delay_seconds"], d) << "the old name carries the same figures";
  // Everything ahead: no mean at all rather than a negative one.
  Json ahead = ComputeStats({rows[1], rows[2]}, kT0 + 10000);
  EXPECT_TRUE(ahead["pipeline_delay_seconds"]["mean"].is_null());
  EXPECT_EQ(ahead["pipeline_delay_seconds"]["count"], 0);
  EXPECT_EQ(ahead["pipeline_delay_seconds"]["skipped_event_time_ahead"], 2);
}

TEST(PipelineDelaySecondsTest, WallClockAfterEventTimeOnly) {
  EXPECT_EQ(PipelineDelaySeconds(kT0, kT0 + 2260), 2.26);
  EXPECT_EQ(PipelineDelaySeconds(kT0, kT0), 0.0);
  EXPECT_EQ(PipelineDelaySeconds(kT0 + 2260, kT0), std::nullopt);
  EXPECT_EQ(PipelineDelaySeconds(kT0 + 1, kT0), std::nullopt);
}

TEST(ComputeStatsTest, EmptyHasNullMeans) {
  Json s = ComputeStats({}, kT0);
  EXPECT_EQ(s["total"], 0);
  EXPECT_TRUE(s["mttr_seconds"]["mean"].is_null());
  EXPECT_TRUE(s["mttr_seconds"]["p90"].is_null());
  EXPECT_TRUE(s["pipeline_delay_seconds"]["mean"].is_null());
  EXPECT_EQ(s["pipeline_delay_seconds"]["skipped_event_time_ahead"], 0);
}

int64_t Total(const Json& activity) {
  int64_t n = 0;
  for (const auto& b : activity["buckets"]) n += b["count"].get<int64_t>();
  return n;
}

TEST(IncidentActivityTest, FreshInstallGetsHourlyBucketsNotOneFullWidthDay) {
  const int64_t now = kT0;  // 04:33:20
  // Three incidents in the last few hours: 24 hourly buckets ending with the current hour.
  Json a = IncidentActivity({now - 3 * kHour, now - 3 * kHour + 60000, now - 10 * 60000}, now);
  EXPECT_EQ(a["bucket"], "hour");
  EXPECT_EQ(a["bucket_ms"], kHour);
  EXPECT_EQ(a["clock"], "event");
  ASSERT_EQ(a["buckets"].size(), 24u);
  const int64_t hour = now / kHour * kHour;
  EXPECT_EQ(a["to_ms"], hour + kHour);
  EXPECT_EQ(a["from_ms"], hour - 23 * kHour);
  EXPECT_EQ(a["buckets"][23]["start_ms"], hour);
  EXPECT_EQ(a["buckets"][23]["count"], 1);
  EXPECT_EQ(a["buckets"][20]["count"], 2);
  EXPECT_EQ(a["buckets"][0]["count"], 0) << "empty hours are included";
  EXPECT_EQ(Total(a), 3);
  EXPECT_EQ(a["earlier"], 0);
  // No incidents yet: the last 24 hours, empty.
  Json none = IncidentActivity({}, now);
  EXPECT_EQ(none["bucket"], "hour");
  EXPECT_EQ(none["buckets"].size(), 24u);
  EXPECT_EQ(Total(none), 0);
}

TEST(IncidentActivityTest, SpansGrowTo48HoursThenSevenDays) {
  const int64_t now = kT0;
  const int64_t hour = now / kHour * kHour;
  // The oldest just inside the 24 hourly buckets, then just outside.
  EXPECT_EQ(IncidentActivity({hour - 23 * kHour}, now)["buckets"].size(), 24u);
  Json two_days = IncidentActivity({hour - 23 * kHour - 1, now}, now);
  EXPECT_EQ(two_days["bucket"], "hour");
  EXPECT_EQ(two_days["buckets"].size(), 48u);
  EXPECT_EQ(two_days["buckets"][23]["count"], 1) << "the hour before the last 24";
  EXPECT_EQ(two_days["buckets"][47]["count"], 1);
  EXPECT_EQ(Total(two_days), 2);
  // Older than 48 hours: the last 7 UTC days, empty days included; older ones counted as earlier.
  Json week = IncidentActivity({now - 3 * kDay, now - 30 * kDay, now}, now);
  EXPECT_EQ(week["bucket"], "day");
  ASSERT_EQ(week["buckets"].size(), 7u);
  const int64_t today = now / kDay * kDay;
  EXPECT_EQ(week["buckets"][6]["start_ms"], today);
  EXPECT_EQ(week["buckets"][6]["count"], 1);
  EXPECT_EQ(week["buckets"][3]["count"], 1);
  EXPECT_EQ(week["buckets"][0]["count"], 0);
  EXPECT_EQ(week["earlier"], 1);
  EXPECT_EQ(week["from_ms"], today - 6 * kDay);
}

TEST(IncidentActivityTest, EventTimeAheadOfTheWallClockStillCounts) {
  // An accelerated simulator: detections hours ahead of `now`; the span ends at the newest.
  const int64_t now = kT0;
  Json a = IncidentActivity({now + 5 * kHour, now + 5 * kHour + 1000}, now);
  EXPECT_EQ(a["bucket"], "hour");
  EXPECT_EQ(Total(a), 2);
  EXPECT_EQ(a["buckets"][23]["count"], 2);
  EXPECT_EQ(a["to_ms"], (now + 5 * kHour) / kHour * kHour + kHour);
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

const std::string kEventId = "5b6f3c1e-2a4d-4e8f-9c0b-1d2e3f405162";

// A valid payload of `topic` (shared/messages.h), with `extra` fields replacing its own.
Json Lifecycle(Json extra = Json::object(), const std::string& topic = "incidents.opened") {
  Json p;
  auto envelope = [](auto& m) {
    m.event_id = kEventId;
    m.timestamp = 1763892000000;
    m.incident_id = kId;
  };
  if (topic == "rca.completed") {
    RcaCompleted r;
    envelope(r);
    r.root_cause_service = "payment-service";
    r.top_root_cause = "slow queries";
    r.root_cause_candidates = {{1, "slow queries", RootCauseCategory::DATABASE_BOTTLENECK, "payment-service", 0.8, {}}};
    p = ToJson(r);
  } else {
    IncidentOpened o;
    envelope(o);
    o.service = "payment-service";
    o.detection_time = 1763892000000;
    p = ToJson(o);
  }
  p.update(extra);
  return p;
}

TEST(MakeStreamEventTest, SummarisesLifecyclePayloads) {
  auto r =
      MakeStreamEvent("rca.completed", Lifecycle({{"root_cause_service", "payment-service"},
                                                  {"root_cause_category", "DATABASE_BOTTLENECK"},
                                                  {"top_confidence", 0.8}},
                                                 "rca.completed")
                                           .dump());
  ASSERT_TRUE(std::holds_alternative<LifecycleEvent>(r));
  const auto& made = std::get<LifecycleEvent>(r);
  EXPECT_EQ(made.event_id, kEventId);
  const auto& e = made.event;
  EXPECT_EQ(e.type, "rca.completed");
  Json d = Json::parse(e.data);
  EXPECT_EQ(d["incident_number"], "INC-0F8FAD5B");
  EXPECT_EQ(d["event_id"], kEventId);
  EXPECT_EQ(d["timestamp"], 1763892000000);
  EXPECT_EQ(d["summary"]["root_cause_category"], "DATABASE_BOTTLENECK");
  EXPECT_DOUBLE_EQ(d["summary"]["top_confidence"].get<double>(), 0.8);
  // The agent_events type it corresponds to (the dashboard's key against /api/events) and a
  // readable line.
  EXPECT_EQ(d["event_type"], "RCA_COMPLETED");
  EXPECT_EQ(d["text"], "root cause DATABASE_BOTTLENECK in payment-service (80 % confidence)");
  auto opened = MakeStreamEvent("incidents.opened", Lifecycle().dump());
  ASSERT_TRUE(std::holds_alternative<LifecycleEvent>(opened));
  Json o = Json::parse(std::get<LifecycleEvent>(opened).event.data);
  EXPECT_EQ(o["event_type"], "CORRELATION_COMPLETE");
  EXPECT_NE(o["text"].get<std::string>().find("correlated: "), std::string::npos) << o["text"];
  EXPECT_NE(o["text"].get<std::string>().find("on payment-service"), std::string::npos)
      << o["text"];
}

TEST(MakeStreamEventTest, RejectsMalformedPayloads) {
  for (const std::string p :
       {"not json", "[1,2]", R"({"incident_id": 5})", R"({"incident_id": "abc"})", "{}"})
    EXPECT_TRUE(std::holds_alternative<ApiError>(MakeStreamEvent("incidents.opened", p))) << p;
}

// Issue 14: sre-api stopped on `"event_id": 42` (a type_error escaping the consumer).
TEST(MakeStreamEventTest, PayloadsOffTheContractAreErrorsNotExceptions) {
  const std::vector<std::pair<Json, std::string>> cases = {
      {Lifecycle({{"event_id", 42}}), "event_id"},
      {Lifecycle({{"event_id", nullptr}}), "event_id"},
      {Lifecycle({{"event_id", Json::object()}}), "event_id"},
      {Lifecycle({{"event_id", Json::array({kEventId})}}), "event_id"},
      {Lifecycle({{"event_id", "ev-1"}}), "event_id"},
      {Lifecycle({{"event_id", std::string(1 << 20, 'e')}}), "event_id"},
      {Lifecycle({{"schema_version", 2}}), "schema_version"},
      {Lifecycle({{"schema_version", "1"}}), "schema_version"},
      {Lifecycle({{"timestamp", -1}}), "timestamp"},
      {Lifecycle({{"timestamp", "yesterday"}}), "timestamp"},
      {Lifecycle({{"timestamp", 1.5}}), "timestamp"},
      {Lifecycle({{"incident_id", 7}}), "incident_id"},
      {Lifecycle({{"incident_id", std::string("0f8fad5b-d9cb-469f-a165-70867728950\0", 36)}}),
       "incident_id"},
  };
  for (const auto& [payload, field] : cases) {
    std::variant<LifecycleEvent, ApiError> r;
    ASSERT_NO_THROW(r = MakeStreamEvent("incidents.opened", payload.dump())) << payload.dump(0);
    ASSERT_TRUE(std::holds_alternative<ApiError>(r)) << field;
    const auto& message = std::get<ApiError>(r).message;
    EXPECT_NE(message.find(field), std::string::npos) << message;
    EXPECT_LE(message.size(), 400u) << "the dead-letter reason stays short";
    EXPECT_TRUE(IsValidUtf8(message));
  }
  auto missing = Lifecycle();
  missing.erase("event_id");
  EXPECT_TRUE(std::holds_alternative<ApiError>(MakeStreamEvent("x", missing.dump())));
}

// The stream accepts exactly what the agents accept: a field the envelope does not have (an
// unknown enum value here) is an error too, and ill-formed UTF-8 is repaired, not refused.
TEST(MakeStreamEventTest, ValidatesEveryFieldLikeTheAgentsAndRepairsText) {
  auto bad_enum = MakeStreamEvent("incidents.opened", Lifecycle({{"anomaly_type", "UNKNOWN_VALUE"}}).dump());
  ASSERT_TRUE(std::holds_alternative<ApiError>(bad_enum));
  EXPECT_NE(std::get<ApiError>(bad_enum).message.find("anomaly_type"), std::string::npos);
  std::string latin = Lifecycle({{"service", "pay-XX"}}).dump();
  latin.replace(latin.find("pay-XX"), 6, "pay-\xE9\xE2");
  auto repaired = MakeStreamEvent("incidents.opened", latin);
  EXPECT_TRUE(std::holds_alternative<LifecycleEvent>(repaired));
  EXPECT_TRUE(std::holds_alternative<ApiError>(MakeStreamEvent("raw.metrics", Lifecycle().dump())));
}

TEST(MakeStreamEventTest, UpperCaseIncidentIdIsLowerCasedForTheRestEndpoints) {
  auto r =
      MakeStreamEvent("incidents.opened",
                      Lifecycle({{"incident_id", "0F8FAD5B-D9CB-469F-A165-70867728950E"}}).dump());
  ASSERT_TRUE(std::holds_alternative<LifecycleEvent>(r));
  EXPECT_EQ(Json::parse(std::get<LifecycleEvent>(r).event.data)["incident_id"], kId);
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

TEST(ResumePointTest, HostileValuesAreErrors) {
  EXPECT_EQ(*std::get<std::optional<uint64_t>>(ResumePoint("9999999999999999999", "")),
            9999999999999999999u);
  EXPECT_EQ(*std::get<std::optional<uint64_t>>(ResumePoint("", "0")), 0u);
  for (const std::string& v :
       {std::string("18446744073709551616"), std::string("99999999999999999999999999"),
        std::string("-1"), std::string("+1"), std::string(" 1"), std::string("1 "),
        std::string("1e5"), std::string("0x10"), std::string("1\0", 2), std::string(1, '\0'),
        std::string("1\xff"), std::string("\xc3\x28"), std::string(10240, '9'),
        std::string(10240, 'x')}) {
    std::variant<std::optional<uint64_t>, ApiError> header, param;
    ASSERT_NO_THROW(header = ResumePoint(v, ""));
    ASSERT_NO_THROW(param = ResumePoint("", v));
    EXPECT_TRUE(std::holds_alternative<ApiError>(header)) << v.substr(0, 30);
    EXPECT_TRUE(std::holds_alternative<ApiError>(param)) << v.substr(0, 30);
  }
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

TEST(StaticRelativePathTest, HostilePathsNeverEscapeTheRoot) {
  const std::vector<std::string> paths = {
      "",
      "/",
      "/..",
      "/../",
      std::string("/\0"),
      std::string("/index.html\0.js", 16),
      std::string("/a/\0/../../etc/passwd", 22),
      "/\xff\xfe.js",
      "/\xc0\xae\xc0\xae/etc/passwd",
      "/%2e%2e/etc/passwd",
      "/" + std::string(10240, 'a'),
      "/" + std::string(10240, '/'),
      [] {
        std::string p;
        for (int i = 0; i < 2000; ++i) p += "/..";
        return p;
      }(),
  };
  for (const auto& p : paths) {
    std::optional<std::string> rel;
    ASSERT_NO_THROW(rel = StaticRelativePath(p)) << p.substr(0, 30);
    if (!rel) continue;
    EXPECT_EQ(rel->find('\0'), std::string::npos);
    EXPECT_NE(rel->front(), '/');
    EXPECT_NE(*rel, "..");
    EXPECT_NE(rel->rfind("../", 0), 0u);
    EXPECT_EQ(rel->find("/../"), std::string::npos);
  }
  EXPECT_FALSE(StaticRelativePath(std::string("/a/\0/../../etc/passwd", 22)));
  EXPECT_FALSE(StaticRelativePath("/.."));
  EXPECT_FALSE(StaticRelativePath(""));
}

TEST(RouteTemplateTest, Table) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/api/incidents", "/api/incidents"},
      {"/api/incidents/" + kId, "/api/incidents/{id}"},
      {"/api/incidents/not-a-uuid", "/api/incidents/{id}"},
      {"/api/incidents/" + kId + "/timeline", "/api/incidents/{id}/timeline"},
      {"/api/incidents/" + kId + "/postmortem", "/api/incidents/{id}/postmortem"},
      {"/api/stats", "/api/stats"},
      {"/api/services", "/api/services"},
      {"/api/stream", "/api/stream"},
      {"/api/events", "/api/events"},
      {"/api/events/", "/api/unknown"},
      {"/api/events/x", "/api/unknown"},
      {"/healthz", "/healthz"},
      {"/metrics", "/metrics"},
      {"/api/nothing-here", "/api/unknown"},
      {"/api/", "/api/unknown"},
      {"/api/incidents/", "/api/unknown"},
      {"/api/incidents//timeline", "/api/unknown"},
      {"/api/incidents/" + kId + "/timeline/x", "/api/unknown"},
      {"/api/incidents/" + kId + "/emails", "/api/unknown"},
      {"/api/incidents/" + kId + "/actions", "/api/incidents/{id}/actions"},
      {"/api/incidents/" + kId + "/actions/" + kId + "/approve",
       "/api/incidents/{id}/actions/{action_id}/{decision}"},
      {"/api/incidents/" + kId + "/actions/x/reject",
       "/api/incidents/{id}/actions/{action_id}/{decision}"},
      {"/api/incidents/" + kId + "/actions/" + kId, "/api/unknown"},
      {"/api/incidents/" + kId + "/actions//approve", "/api/unknown"},
      {"/api/incidents/" + kId + "/actions/" + kId + "/approve/x", "/api/unknown"},
      {"/api/incidents/" + kId + "/actions/" + kId + "/execute", "/api/unknown"},
      {"/api/stats/", "/api/unknown"},
      {"/api/streams", "/api/unknown"},
      {"/api/" + std::string(10240, 'x'), "/api/unknown"},
      {std::string("/api/\0", 6), "/api/unknown"},
      {"/api/\xff\xfe", "/api/unknown"},
      {"/", "static"},
      {"/index.html", "static"},
      {"/app.js", "static"},
      {"/api", "static"},
      {"/apiary", "static"},
      {"/API/incidents", "static"},
      {"/healthz/", "static"},
      {"", "static"},
      {"/" + std::string(10240, 'y'), "static"},
  };
  for (const auto& [path, want] : cases) EXPECT_EQ(RouteTemplate(path), want) << path.substr(0, 40);
}

TEST(RouteTemplateTest, AnyBytesGiveOneOfTheFixedLabels) {
  const std::set<std::string> labels = {"/api/incidents",
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
  std::mt19937 rng(14);
  const std::vector<std::string> prefixes = {"", "/", "/api/", "/api/incidents/"};
  std::set<std::string> seen;
  for (int i = 0; i < 20000; ++i) {
    std::string path = prefixes[i % prefixes.size()];
    size_t n = rng() % 24;
    for (size_t k = 0; k < n; ++k) path.push_back(static_cast<char>(rng() % 8 == 0 ? '/' : rng()));
    std::string label;
    ASSERT_NO_THROW(label = RouteTemplate(path));
    ASSERT_TRUE(labels.count(label)) << label;
    seen.insert(label);
  }
  EXPECT_LE(seen.size(), labels.size());
  EXPECT_TRUE(seen.count("/api/unknown"));
}

// ---- remediation actions (issue 18) ----

TEST(SameOriginTest, ComparesHostAndPortWithSchemeDefaults) {
  struct Case {
    std::string origin, host;
    bool same;
  } cases[] = {
      {"", "localhost:8000", true},  // curl, scripts: no Origin
      {"http://localhost:8000", "localhost:8000", true},
      {"HTTP://LocalHost:8000", "localhost:8000", true},
      {"http://example.com", "example.com:80", true},
      {"https://example.com", "example.com", true},
      {"https://example.com:443", "example.com", true},
      {"http://[::1]:8000", "[::1]:8000", true},
      {"http://evil.example", "localhost:8000", false},
      {"http://localhost:8001", "localhost:8000", false},
      {"https://localhost:8000", "localhost:80", false},
      {"http://example.com", "example.com:443", false},
      {"null", "localhost:8000", false},
      {"file://", "localhost", false},
      {"ftp://localhost:8000", "localhost:8000", false},
      {"http://localhost:8000", "", false},
      {"http://user@localhost:8000", "localhost:8000", false},
      {"http://localhost:99999", "localhost:99999", false},
      {"http://localhost:", "localhost", false},
  };
  for (const auto& c : cases)
    EXPECT_EQ(SameOrigin(c.origin, c.host), c.same) << c.origin << " vs " << c.host;
}

TEST(ScreenPostTest, CrossSiteThenTokenThenContentType) {
  const std::string token = "t0k";
  PostHeaders ok{"http://localhost:8000", "localhost:8000", "Bearer t0k",
                 "application/json; charset=utf-8"};
  EXPECT_FALSE(ScreenPost(ok, 20, token));
  EXPECT_FALSE(ScreenPost(ok, 0, ""));
  // A page of another site, even with the right token: 403 first.
  PostHeaders cross = ok;
  cross.origin = "http://evil.example";
  auto r = ScreenPost(cross, 20, token);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_NE(r->message.find("evil.example"), std::string::npos);
  cross.origin = "null";  // a sandboxed frame or a file: page
  EXPECT_EQ(ScreenPost(cross, 0, "")->status, 403);
  // The token: only from the header (never ?access_token=, which Authorized would accept).
  for (const std::string auth : {"", "Bearer wrong", "Basic dDBrOg==", "Bearer ", "t0k"}) {
    PostHeaders h = ok;
    h.authorization = auth;
    auto refused = ScreenPost(h, 20, token);
    ASSERT_TRUE(refused) << auth;
    EXPECT_EQ(refused->status, 401) << auth;
  }
  // No token configured: no header needed.
  PostHeaders anonymous = ok;
  anonymous.authorization.clear();
  EXPECT_FALSE(ScreenPost(anonymous, 20, ""));
  // A body must be JSON (an HTML form cannot send it); no body needs no type.
  for (const std::string type :
       {"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
        "application/jsonp", "application/json-seq"}) {
    PostHeaders h = ok;
    h.content_type = type;
    auto refused = ScreenPost(h, 20, token);
    ASSERT_TRUE(refused) << type;
    EXPECT_EQ(refused->status, 415) << type;
    EXPECT_FALSE(ScreenPost(h, 0, token)) << type;
  }
  PostHeaders upper = ok;
  upper.content_type = " Application/JSON ";
  EXPECT_FALSE(ScreenPost(upper, 20, token));
}

TEST(ParseDecisionBodyTest, ByIsRequiredTrimmedAndNoteOptional) {
  auto ok = ParseDecisionBody(R"({"by": "  alice@example.com ", "note": " looks right "})");
  ASSERT_TRUE(std::holds_alternative<DecisionRequest>(ok));
  EXPECT_EQ(std::get<DecisionRequest>(ok).by, "alice@example.com");
  EXPECT_EQ(std::get<DecisionRequest>(ok).note, "looks right");
  auto no_note = ParseDecisionBody(R"({"by": "Zoë Ångström", "note": null})");
  ASSERT_TRUE(std::holds_alternative<DecisionRequest>(no_note));
  EXPECT_EQ(std::get<DecisionRequest>(no_note).by, "Zoë Ångström");
  EXPECT_EQ(std::get<DecisionRequest>(no_note).note, "");
  // Exactly 100 characters (multi-byte ones count once).
  std::string hundred;
  for (int i = 0; i < 100; ++i) hundred += "é";
  EXPECT_TRUE(
      std::holds_alternative<DecisionRequest>(ParseDecisionBody(Json{{"by", hundred}}.dump())));
}

TEST(ParseDecisionBodyTest, BadBodiesAre400NamingTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "by"},
      {"   ", "by"},
      {"{}", "by"},
      {R"({"by": ""})", "by"},
      {R"({"by": "   "})", "by"},
      {R"({"by": null})", "by"},
      {R"({"by": 42})", "by"},
      {R"({"by": ["alice"]})", "by"},
      {Json{{"by", std::string(101, 'a')}}.dump(), "by"},
      {R"({"by": "ali\nce"})", "by"},
      {R"({"by": "ali\u0000ce"})", "by"},
      {R"({"by": "alice\u001b[31m"})", "by"},
      {R"({"by": "\u202eecila"})", "by"},
      {R"({"by": "alice\u0085"})", "by"},
      {R"({"by": "alice", "note": 5})", "note"},
      {Json{{"by", "alice"}, {"note", std::string(501, 'n')}}.dump(), "note"},
      {R"({"by": "alice", "note": "a\u0007b"})", "note"},
      {R"({"by": "alice", "approve": true})", "approve"},
      {"not json", ""},
      {"[\"alice\"]", ""},
      {"\"alice\"", ""},
      {std::string("{\"by\": \"a\xff\"}"), ""},
      {std::string(200, '[') + std::string(200, ']'), ""},
  };
  for (const auto& [body, field] : cases) {
    auto r = ParseDecisionBody(body);
    ASSERT_TRUE(std::holds_alternative<ApiError>(r)) << body.substr(0, 60);
    const auto& e = std::get<ApiError>(r);
    EXPECT_EQ(e.status, 400) << body.substr(0, 60);
    EXPECT_EQ(e.field, field) << body.substr(0, 60) << ": " << e.message;
    EXPECT_TRUE(IsValidUtf8(e.message)) << body.substr(0, 60);
    EXPECT_LE(e.message.size(), 300u);
  }
}

Json Action(const std::string& status) {
  return {{"id", kId},         {"incident_id", Id(1)},    {"action", "kill_long_queries"},
          {"service", "db-1"}, {"executor", "simulator"}, {"status", status},
          {"risk", "MEDIUM"},  {"reversible", false},     {"decided_by", nullptr}};
}

TEST(AnswerDecisionTest, EachOutcomeHasItsStatusAndBody) {
  auto decided = AnswerDecision(DecisionOutcome::kDecided, Action("APPROVED"), Id(1), kId);
  EXPECT_EQ(decided.status, 200);
  EXPECT_EQ(decided.body["status"], "APPROVED");
  EXPECT_EQ(decided.body["summary"], "kill long queries on db-1 via simulator");
  EXPECT_EQ(decided.body["awaiting_approval"], false);
  auto missing = AnswerDecision(DecisionOutcome::kNotFound, nullptr, Id(1), kId);
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body["error"].get<std::string>().find(kId), std::string::npos);
  auto replay = AnswerDecision(DecisionOutcome::kConflict, Action("REJECTED"), Id(1), kId);
  EXPECT_EQ(replay.status, 409);
  EXPECT_EQ(replay.body["error"], "action is REJECTED");
  EXPECT_EQ(replay.body["status"], "REJECTED");
  EXPECT_EQ(replay.body["action"]["id"], kId);
  auto expired = AnswerDecision(DecisionOutcome::kExpired, Action("ESCALATED"), Id(1), kId);
  EXPECT_EQ(expired.status, 410);
  EXPECT_EQ(expired.body["error"], "approval expired; escalated");
  EXPECT_EQ(expired.body["action"]["status"], "ESCALATED");
}

TEST(ShapeActionsTest, ListAndDetailCarryTheActions) {
  Json list =
      ShapeActions(Id(1), Json::array({Action("AWAITING_APPROVAL"), "odd", Action("VERIFIED")}));
  EXPECT_EQ(list["incident_id"], Id(1));
  ASSERT_EQ(list["actions"].size(), 2u);
  EXPECT_EQ(list["actions"][0]["awaiting_approval"], true);
  EXPECT_EQ(list["actions"][1]["awaiting_approval"], false);
  EXPECT_TRUE(ShapeActions(Id(1), nullptr)["actions"].empty());
  Json d = ShapeIncidentDetail({{"id", Id(1)}}, Json::array(), nullptr, Json::array(),
                               Json::array({Action("AWAITING_APPROVAL")}));
  ASSERT_EQ(d["actions"].size(), 1u);
  EXPECT_EQ(d["actions"][0]["summary"], "kill long queries on db-1 via simulator");
  EXPECT_TRUE(ShapeIncidentDetail({{"id", Id(1)}}, Json::array())["actions"].empty());
}

TEST(DescribeAgentEventTest, ActionEventsReadAsSentences) {
  auto p = [](const char* action, const char* service, const char* executor,
              const std::string& reason, Json extra = Json::object()) {
    Json j = {{"action_id", kId}, {"action", action}, {"service", service}, {"executor", executor},
              {"reason", reason}, {"risk", "LOW"},    {"reversible", true}};
    for (const auto& [k, v] : extra.items()) j[k] = v;
    return j;
  };
  const std::vector<std::tuple<std::string, Json, std::string>> cases = {
      {"ACTION_EXECUTED", p("rollback", "user-service", "simulator", "executed: HTTP 200: matched"),
       "rollback on user-service via simulator: executed — HTTP 200: matched"},
      {"ACTION_PROPOSED",
       p("rollback", "user-service", "simulator", "deployment 2.4.1 preceded detection"),
       "rollback on user-service via simulator: proposed — deployment 2.4.1 preceded detection"},
      {"ACTION_APPROVAL_REQUESTED",
       p("scale_out", "api-gateway", "webhook", "approve mode: every action waits for a person"),
       "scale out on api-gateway via webhook: awaiting approval — approve mode: every action waits "
       "for a person"},
      {"ACTION_APPROVED",
       p("rollback", "user-service", "simulator", "approved by alice: go", {{"by", "alice"}}),
       "rollback on user-service via simulator: approved by alice — go"},
      {"ACTION_APPROVED",
       p("rollback", "user-service", "simulator", "approved by alice", {{"by", "alice"}}),
       "rollback on user-service via simulator: approved by alice"},
      {"ACTION_REJECTED",
       p("restart", "cart", "command", "rejected by bob: not now", {{"by", "bob"}}),
       "restart on cart via command: rejected by bob — not now"},
      {"ACTION_BLOCKED",
       p("restart", "cart", "command", "cooldown: the same action ran on this service 60 s ago"),
       "restart on cart via command: blocked — cooldown: the same action ran on this service 60 s "
       "ago"},
      {"ACTION_DRY_RUN",
       p("rollback", "user-service", "webhook", "dry run: would POST https://hooks.example"),
       "rollback on user-service via webhook: dry run (nothing changed) — would POST "
       "https://hooks.example"},
      {"ACTION_DRY_RUN", p("rollback", "user-service", "webhook", "dry run failed: timeout"),
       "rollback on user-service via webhook: dry run failed — timeout"},
      {"ACTION_VERIFIED",
       p("rollback", "user-service", "simulator", "error_rate back to 0.4% (baseline 0.5%)"),
       "rollback on user-service via simulator: verified — error_rate back to 0.4% (baseline "
       "0.5%)"},
      {"ACTION_FAILED",
       p("rollback", "user-service", "simulator",
         "did not work: error_rate still 12%; undone (roll forward)"),
       "rollback on user-service via simulator: failed — did not work: error_rate still 12%; "
       "undone (roll forward)"},
      {"ACTION_ESCALATED", p("escalate", "user-service", "none", "a person must act"),
       "escalate on user-service: escalated — a person must act"},
      {"ACTION_ESCALATED", Json::object(), "action: escalated"},
  };
  for (const auto& [type, payload, want] : cases)
    EXPECT_EQ(DescribeAgentEvent(type, payload), want) << type << " " << payload.dump();
  // Odd payloads: no exception, short valid text.
  for (const Json& odd :
       {Json(), Json::array(), Json{{"action", 5}, {"reason", std::string(3000, 'r') + "\xff"}}}) {
    std::string out;
    ASSERT_NO_THROW(out = DescribeAgentEvent("ACTION_FAILED", odd));
    EXPECT_LE(out.size(), 400u);
    EXPECT_TRUE(IsValidUtf8(out));
  }
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
  m.payload = Lifecycle({{"event_id", "9a1c2b3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d"}, {"incident_id", kOtherId}}).dump();
  EXPECT_TRUE(handler.Handle(m).ok());
  EXPECT_TRUE(handler.Handle(m).ok()) << "a redelivery is not an error";
  EXPECT_EQ(hub.ring().size(), 1u) << "a redelivered event_id is not streamed twice";
  m.payload = "{broken";
  EXPECT_TRUE(handler.Handle(m).invalid());
  EXPECT_EQ(hub.ring().size(), 1u);
}

TEST(StreamHandlerTest, NonStringEventIdIsInvalidNotAnException) {
  EventHub hub(1);
  StreamHandler handler(hub);
  InboundMessage m;
  m.topic = "incidents.opened";
  m.payload =
      Json{{"event_id", 42}, {"schema_version", 1}, {"incident_id", kOtherId}, {"timestamp", 5}}
          .dump();
  Status s;
  ASSERT_NO_THROW(s = handler.Handle(m));
  EXPECT_TRUE(s.invalid()) << "dead-lettered by the runner";
  EXPECT_NE(s.message().find("event_id"), std::string::npos) << s.message();
  EXPECT_EQ(hub.ring().size(), 0u);
}

TEST(StreamSlotsTest, CapsAndReleases) {
  StreamSlots slots(2);
  auto a = slots.TryAcquire();
  auto b = slots.TryAcquire();
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(slots.TryAcquire()) << "the cap is 2";
  EXPECT_EQ(slots.in_use(), 2u);
  a->Release();
  a->Release();  // idempotent
  EXPECT_EQ(slots.in_use(), 1u);
  {
    auto c = slots.TryAcquire();
    ASSERT_TRUE(c);
    StreamSlots::Slot moved(std::move(*c));
    EXPECT_EQ(slots.in_use(), 2u);
    EXPECT_FALSE(slots.TryAcquire());
  }  // `moved` releases; the moved-from `c` does not release twice
  EXPECT_EQ(slots.in_use(), 1u);
  b.reset();
  EXPECT_EQ(slots.in_use(), 0u);
}

TEST(StreamSlotsTest, ConcurrentAcquiresNeverExceedTheCap) {
  StreamSlots slots(5);
  std::atomic<size_t> peak{0}, granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        auto slot = slots.TryAcquire();
        if (!slot) continue;
        ++granted;
        size_t now = slots.in_use();
        size_t prev = peak.load();
        while (now > prev && !peak.compare_exchange_weak(prev, now)) {
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GT(granted.load(), 0u);
  EXPECT_LE(peak.load(), 5u);
  EXPECT_EQ(slots.in_use(), 0u);
}

TEST(ReadApiOptionsTest, MaxStreamsDefaultRangeAndErrors) {
  auto defaults = Config::FromMap({});
  EXPECT_EQ(ReadApiOptions(defaults).max_streams, 16u);
  EXPECT_NO_THROW(defaults.Validate());
  auto forty = Config::FromMap({{"API_MAX_STREAMS", "40"}, {"API_TOKEN", "t"}});
  auto options = ReadApiOptions(forty);
  EXPECT_EQ(options.max_streams, 40u);
  EXPECT_EQ(options.token, "t");
  for (const std::string bad : {"0", "1001", "-1", "many", "16.5"}) {
    auto c = Config::FromMap({{"API_MAX_STREAMS", bad}});
    ReadApiOptions(c);
    try {
      c.Validate();
      ADD_FAILURE() << "API_MAX_STREAMS=" << bad << " accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("API_MAX_STREAMS"), std::string::npos) << e.what();
    }
  }
  auto empty = Config::FromMap({{"API_MAX_STREAMS", ""}});
  EXPECT_EQ(ReadApiOptions(empty).max_streams, 16u) << "empty is unset";
  for (const std::string ok : {"1", "1000"}) {
    auto c = Config::FromMap({{"API_MAX_STREAMS", ok}});
    EXPECT_EQ(ReadApiOptions(c).max_streams, std::stoul(ok));
    EXPECT_NO_THROW(c.Validate());
  }
}

TEST(PublishStatsGaugesTest, MalformedStatsDoNotThrow) {
  MetricsRegistry registry;
  for (const Json& stats :
       {Json(), Json::array(), Json{{"mttr_seconds", "x"}, {"by_status", 3}, {"open", "many"}},
        Json{{"mttr_seconds", {{"mean", "slow"}}}, {"by_status", {{"CLOSED", "two"}}}}})
    EXPECT_NO_THROW(PublishStatsGauges(stats, registry)) << stats.dump();
  PublishStatsGauges(
      ComputeStats({{"CLOSED", "LATENCY_SPIKE", "HIGH", 100.0, 1000, 3000}}, 1764650000000),
      registry);
  EXPECT_DOUBLE_EQ(registry.GetGauge("sre_api_mttr_seconds", "", {{"stat", "mean"}}).Value(),
                   100.0);
  EXPECT_DOUBLE_EQ(registry.GetGauge("sre_api_incidents", "", {{"status", "CLOSED"}}).Value(), 1.0);
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
