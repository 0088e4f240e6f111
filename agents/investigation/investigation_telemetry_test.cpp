// PrometheusClient and LokiClient over real HTTP against the local doubles
// (tests/support/fake_prometheus_server.h, fake_loki_server.h), which answer exactly the
// documented formats: requests, re-stepping, answers, rejections, outages and timeouts. No
// native stack needed.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

#include "agents/investigation/telemetry.h"
#include "agents/investigation/tools.h"
#include "tests/support/fake_loki_server.h"
#include "tests/support/fake_prometheus_server.h"

namespace sre::investigation {
namespace {

using namespace std::chrono_literals;
using testing::ConstantValue;
using testing::FakeLokiServer;
using testing::FakePrometheusServer;

constexpr int64_t kDetection = 1763892000000;  // 2025-11-23T10:00:00Z

RangeQuery Window(std::string query, int64_t before_min = 30, int64_t after_min = 5) {
  RangeQuery q;
  q.query = std::move(query);
  q.start_ms = kDetection - before_min * 60000;
  q.end_ms = kDetection + after_min * 60000;
  return q;
}

TEST(PrometheusClientTest, QueriesTheRangeWithAReSteppedStepAndParsesTheMatrix) {
  FakePrometheusServer prom;
  const std::string expr =
      "sum by (pod) (rate(http_requests_total{service=\"checkout\",code=~\"5..\"}[5m]))";
  prom.SetSeries(expr, {{{{"pod", "checkout-1"}}, testing::StepValue(kDetection / 1000.0, 0.5, 12)},
                        {{{"pod", "checkout-2"}},
                         [](double t) { return std::fmod(t, 42) < 21 ? "NaN" : "+Inf"; }}});
  PrometheusClient client(prom.BaseUrl() + "/", 5s);
  auto r = client.QueryRange(Window(expr));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(prom.RequestCount(), 1u);
  const auto req = prom.Requests()[0];
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.path, "/api/v1/query_range");
  EXPECT_EQ(req.params.at("query"), expr);
  EXPECT_EQ(req.params.at("start"), "1763890200");
  EXPECT_EQ(req.params.at("end"), "1763892300");
  EXPECT_EQ(req.params.at("step"), "21");  // 2100 s / 100 points
  EXPECT_EQ(req.params.at("timeout"), "5s");
  ASSERT_EQ(r->series.size(), 2u);
  EXPECT_EQ(r->series[0].labels.at("pod"), "checkout-1");
  EXPECT_EQ(r->series[0].points.size(), 101u);  // start, start+21 s, … ≤ end
  EXPECT_EQ(r->series[0].points.front().first, kDetection - 30 * 60000);
  EXPECT_DOUBLE_EQ(r->series[0].points.front().second, 0.5);
  EXPECT_DOUBLE_EQ(r->series[0].points.back().second, 12);
  bool saw_nan = false, saw_inf = false;
  for (const auto& p : r->series[1].points) {
    saw_nan = saw_nan || std::isnan(p.second);
    saw_inf = saw_inf || std::isinf(p.second);
  }
  EXPECT_TRUE(saw_nan && saw_inf);
}

TEST(PrometheusClientTest, ALongQueryIsPostedFormEncoded) {
  FakePrometheusServer prom;
  std::string expr = "sum(rate(http_requests_total{path=~\"" + std::string(1990, 'a') + "\"}[5m]))";
  prom.SetSeries(expr, {{{{"job", "api"}}, ConstantValue(3)}});
  PrometheusClient client(prom.BaseUrl(), 5s);
  auto r = client.QueryRange(Window(expr, 10, 0));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto req = prom.Requests().at(0);
  EXPECT_EQ(req.method, "POST");
  EXPECT_NE(req.content_type.find("application/x-www-form-urlencoded"), std::string::npos);
  EXPECT_EQ(req.params.at("query"), expr);
  EXPECT_EQ(req.params.at("step"), "15");
  ASSERT_EQ(r->series.size(), 1u);
  EXPECT_EQ(r->series[0].points.size(), 41u);
}

TEST(PrometheusClientTest, RejectionsOutagesAndTimeoutsAreErrorsOfTheRightKind) {
  FakePrometheusServer prom;
  PrometheusClient client(prom.BaseUrl(), 5s);
  prom.FailWith(400, "bad_data", "invalid parameter \"query\": 1:9: parse error: unexpected \"{\"");
  auto bad = client.QueryRange(Window("up{{"));
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().invalid());
  EXPECT_NE(bad.status().message().find("parse error"), std::string::npos);
  EXPECT_EQ(bad.status().message().find(prom.BaseUrl()), std::string::npos);

  prom.FailWith(422, "execution", "found duplicate series for the match group");
  auto exec = client.QueryRange(Window("a / b"));
  EXPECT_TRUE(!exec.ok() && exec.status().invalid());

  prom.FailWith(503, "timeout", "query timed out in expression evaluation");
  auto slow = client.QueryRange(Window("up"));
  EXPECT_TRUE(!slow.ok() && slow.status().transient()) << slow.status().ToString();

  prom.FailRaw(502, "<html><body><h1>502 Bad Gateway</h1></body></html>");
  auto proxy = client.QueryRange(Window("up"));
  EXPECT_TRUE(!proxy.ok() && proxy.status().transient()) << proxy.status().ToString();
  prom.ClearFailure();

  // The double's own validation, as Prometheus does: no query at all.
  auto empty = client.QueryRange(Window(""));
  EXPECT_TRUE(!empty.ok() && empty.status().invalid()) << empty.status().ToString();

  // Slower than the client's timeout: an error within the timeout, not a hang.
  prom.SetDelay(3s);
  PrometheusClient impatient(prom.BaseUrl(), 300ms);
  auto started = std::chrono::steady_clock::now();
  auto timed_out = impatient.QueryRange(Window("up"));
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_TRUE(!timed_out.ok() && timed_out.status().transient()) << timed_out.status().ToString();
  EXPECT_LT(took, 2s);
  prom.SetDelay(0ms);

  // Down: nothing listens any more.
  const std::string url = prom.BaseUrl();
  prom.Stop();
  PrometheusClient gone(url, 2s);
  auto down = gone.QueryRange(Window("up"));
  EXPECT_TRUE(!down.ok() && down.status().transient()) << down.status().ToString();
}

TEST(LokiClientTest, QueriesNanosecondsBackwardWithALimitAndParsesTheStreams) {
  FakeLokiServer loki;
  const int64_t ns = kDetection * 1000000;
  loki.AddStream({{{"service", "checkout"}, {"pod", "checkout-1"}},
                  {{ns - 90'000'000'000, "ERROR java.lang.OutOfMemoryError: Java heap space"},
                   {ns - 60'000'000'000, "INFO all good"},
                   {ns - 30'000'000'000, "FATAL out of memory"},
                   {ns - 3'600'000'000'000, "ERROR long ago"}}});
  loki.AddStream({{{"service", "payments"}}, {{ns - 10'000'000'000, "ERROR in another service"}}});
  LokiClient client(loki.BaseUrl(), 5s);
  RangeQuery q = Window("{service=\"checkout\"} |~ \"(?i)error|fatal|exception\"", 2, 1);
  q.limit = 60;
  auto r = client.QueryRange(q);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto req = loki.Requests().at(0);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.path, "/loki/api/v1/query_range");
  EXPECT_EQ(req.params.at("start"), std::to_string(ns - 120'000'000'000));
  EXPECT_EQ(req.params.at("end"), std::to_string(ns + 60'000'000'000));
  EXPECT_EQ(req.params.at("limit"), "60");
  EXPECT_EQ(req.params.at("direction"), "backward");
  EXPECT_EQ(r->type, QueryResult::Type::kStreams);
  ASSERT_EQ(r->lines.size(), 2u);
  EXPECT_EQ(r->lines[0].line, "FATAL out of memory");  // newest first
  EXPECT_EQ(r->lines[1].line, "ERROR java.lang.OutOfMemoryError: Java heap space");
  EXPECT_EQ(r->streams.at(r->lines[0].stream).at("pod"), "checkout-1");

  // The limit is Loki's: newest first, at most `limit`.
  q.limit = 1;
  auto one = client.QueryRange(q);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->lines.size(), 1u);
  EXPECT_EQ(one->lines[0].line, "FATAL out of memory");
}

TEST(LokiClientTest, MetricQueriesParseErrorsOutagesAndTimeouts) {
  FakeLokiServer loki;
  const std::string metric = "sum(count_over_time({service=\"checkout\"} |= \"ERROR\" [1m]))";
  loki.SetMatrix(metric, {{{{"service", "checkout"}}, {{1763891940, "3"}, {1763892000, "17"}}}});
  LokiClient client(loki.BaseUrl(), 5s);
  auto m = client.QueryRange(Window(metric));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->type, QueryResult::Type::kMatrix);
  ASSERT_EQ(m->series.size(), 1u);
  EXPECT_DOUBLE_EQ(m->series[0].points[1].second, 17);

  auto parse = client.QueryRange(Window("service=checkout"));
  ASSERT_FALSE(parse.ok());
  EXPECT_TRUE(parse.status().invalid());
  EXPECT_NE(parse.status().message().find("parse error at line 1"), std::string::npos);

  loki.FailWith(503, "too many outstanding requests");
  auto busy = client.QueryRange(Window("{service=\"checkout\"}"));
  EXPECT_TRUE(!busy.ok() && busy.status().transient()) << busy.status().ToString();
  loki.ClearFailure();

  loki.SetDelay(3s);
  LokiClient impatient(loki.BaseUrl(), 300ms);
  auto started = std::chrono::steady_clock::now();
  auto timed_out = impatient.QueryRange(Window("{service=\"checkout\"}"));
  EXPECT_TRUE(!timed_out.ok() && timed_out.status().transient()) << timed_out.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

// The tools over the real clients: what the model sees for a query the double answers.
TEST(TelemetryToolsHttpTest, TheModelSeesNumbersAndUntrustedLines) {
  FakePrometheusServer prom;
  FakeLokiServer loki;
  prom.SetSeries("up", {{{{"job", "api"}}, ConstantValue(1)}});
  loki.AddStream(
      {{{"service", "checkout"}}, {{kDetection * 1000000 - 1'000'000'000, "ERROR boom"}}});
  PrometheusClient p(prom.BaseUrl(), 5s);
  LokiClient l(loki.BaseUrl(), 5s);
  TelemetryTools tools(&p, &l, kDetection);
  auto series = tools.Call("query_prometheus",
                           {{"query", "up"}, {"minutes_before", 10}, {"minutes_after", 0}});
  ASSERT_TRUE(series.ok()) << series.status().ToString();
  EXPECT_EQ((*series)["series"][0]["points"].size(), 41u);
  EXPECT_EQ((*series)["series"][0]["points"][0][1], 1);
  auto lines = tools.Call("query_logs", {{"query", "{service=\"checkout\"}"}});
  ASSERT_TRUE(lines.ok()) << lines.status().ToString();
  EXPECT_NE((*lines)["log_lines"].get<std::string>().find("<untrusted_log_lines>"),
            std::string::npos);
  EXPECT_NE((*lines)["log_lines"].get<std::string>().find("ERROR boom"), std::string::npos);
}

}  // namespace
}  // namespace sre::investigation
