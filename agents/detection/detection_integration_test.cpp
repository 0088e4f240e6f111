// Detection against real Redis, PostgreSQL and sre-devbroker: the Lua script agrees with the C++
// core sample by sample, a redelivered sample changes nothing, one incident per failure.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "agents/detection/baseline_script.h"
#include "agents/detection/service.h"
#include "shared/ids.h"
#include "shared/messages.h"
#include "shared/redis_keys.h"
#include "tests/support/test_kafka.h"
#include "tests/support/test_stack.h"

namespace sre::detection {
namespace {

const DetectionSettings& Shipped() {
  static DetectionSettings s = *DetectionSettings::Load(std::string(SRE_TEST_SOURCE_DIR) + "/infra/detection/detection.json");
  return s;
}

RedisClient Redis() { return RedisClient(*ParseRedisUrl(testing::Stack().redis_url)); }

std::vector<double> Series(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 1);
  std::vector<double> v;
  for (int i = 0; i < 60; ++i) v.push_back(100 + 4 * noise(rng));         // warm-up and normal
  for (int i = 0; i < 15; ++i) v.push_back(100 + 6 * i + 4 * noise(rng));  // a ramp
  for (int i = 0; i < 30; ++i) v.push_back(100 + 4 * noise(rng));         // recovery
  for (int i = 0; i < 40; ++i) v.push_back(160 + 4 * noise(rng));         // a level shift
  for (int i = 0; i < 10; ++i) v.push_back(40 + noise(rng));              // a drop
  return v;
}

TEST(BaselineScriptTest, RedisVerdictsMatchTheCppCoreSampleBySample) {
  SRE_REQUIRE_STACK();
  RedisClient redis = Redis();
  for (auto metric : {"latency_p99_ms", "request_rate"}) {
    MetricSettings m = Shipped().For(metric);
    m.level_shift_samples = 25;
    std::string service = testing::Unique("conformance");
    SeriesState state;
    auto values = Series(42);
    std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> calls;
    for (size_t i = 0; i < values.size(); ++i)
      calls.push_back(BaselineScriptArgs({service, metric, static_cast<int64_t>(i) * 10000, values[i], NewUuid()}, m));
    auto replies = redis.EvalPipeline(BaselineScript(), calls);
    ASSERT_TRUE(replies.ok()) << replies.status().message();
    std::set<VerdictKind> seen;
    for (size_t i = 0; i < values.size(); ++i) {
      auto online = ParseBaselineReply((*replies)[i]);
      ASSERT_TRUE(online.ok()) << online.status().message();
      Verdict offline = Observe(state, values[i], m);
      ASSERT_EQ(online->verdict.kind, offline.kind) << metric << " sample " << i;
      EXPECT_NEAR(online->verdict.z, offline.z, 1e-6) << i;
      EXPECT_NEAR(online->verdict.mean, offline.mean, 1e-6) << i;
      EXPECT_NEAR(online->verdict.std, offline.std, 1e-6) << i;
      EXPECT_EQ(online->verdict.baseline_size, offline.baseline_size) << i;
      seen.insert(offline.kind);
    }
    // The series exercised every path.
    EXPECT_EQ(seen.size(), 5u) << metric;
    // What correlation reads back from the window is the core's baseline.
    auto blob = redis.Command({"GET", keys::SeriesWindow(service, metric)});
    ASSERT_TRUE(blob.ok());
    auto summary = keys::ParseSeriesWindow(blob->str);
    ASSERT_TRUE(summary.has_value()) << metric;
    double sum = 0, sq = 0;
    for (double x : state.baseline) sum += x;
    double mean = sum / static_cast<double>(state.baseline.size());
    for (double x : state.baseline) sq += (x - mean) * (x - mean);
    EXPECT_EQ(summary->samples, static_cast<int>(state.baseline.size()));
    EXPECT_NEAR(summary->mean, mean, 1e-6);
    EXPECT_NEAR(summary->std, std::sqrt(sq / static_cast<double>(state.baseline.size())), 1e-6);
  }
}

TEST(BaselineScriptTest, RedeliveredSampleReturnsItsVerdictAndChangesNothing) {
  SRE_REQUIRE_STACK();
  RedisClient redis = Redis();
  MetricSettings m = Shipped().For("cpu_percent");
  std::string service = testing::Unique("redeliver");
  for (int i = 0; i < 30; ++i)
    ASSERT_TRUE(redis.Eval(BaselineScript(), BaselineScriptArgs({service, "cpu_percent", i * 10000LL, 30.0 + i % 3, NewUuid()}, m).first,
                           BaselineScriptArgs({service, "cpu_percent", i * 10000LL, 30.0 + i % 3, NewUuid()}, m).second)
                    .ok());
  auto [keys, args] = BaselineScriptArgs({service, "cpu_percent", 290000, 99.0, NewUuid()}, m);
  auto before = redis.Command({"GET", keys[1]});
  auto history_before = redis.Command({"ZCARD", keys[0]});
  auto again = redis.Eval(BaselineScript(), keys, args);  // ts 290000 was sample 29 (value 32)
  ASSERT_TRUE(again.ok());
  auto v = ParseBaselineReply(*again);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->duplicate);
  EXPECT_EQ(v->verdict.kind, VerdictKind::kNormal);
  auto after = redis.Command({"GET", keys[1]});
  ASSERT_TRUE(before.ok() && after.ok());
  ASSERT_EQ(before->type, RedisReply::Type::kString);
  EXPECT_EQ(before->str, after->str);  // the window, sums and counters are byte for byte the same
  EXPECT_EQ(history_before->integer, redis.Command({"ZCARD", keys[0]})->integer);
}

InboundMessage MetricMessage(const std::string& service, const std::string& metric, int64_t ts, double value) {
  RawMetric m;
  m.event_id = UuidFromName(service + metric + std::to_string(ts));
  m.timestamp = ts;
  m.source_service = service;
  m.metric_name = metric;
  m.metric_value = value;
  return {topics::kRawMetrics, 0, ts, service, Encode(m)};
}

TEST(DetectionServiceTest, OneIncidentPerFailureAttachesSecondMetricAndIgnoresRedelivery) {
  SRE_REQUIRE_STACK();
  RedisClient redis = Redis();
  Database db(testing::Stack().database_url);
  ASSERT_TRUE(db.Migrate().ok());
  auto producer = Producer::Create({testing::Stack().kafka_bootstrap, {}});
  ASSERT_TRUE(producer.ok());
  auto catalog = ServiceCatalog::Load(std::string(SRE_TEST_SOURCE_DIR) + "/knowledge/architecture/services.json");
  ASSERT_TRUE(catalog.ok());
  DetectionService service(redis, db, **producer, *catalog, Shipped());

  std::string svc = testing::Unique("svc");
  std::vector<InboundMessage> batch;
  int64_t t0 = 1763892000000;
  for (int i = 0; i < 40; ++i) {
    batch.push_back(MetricMessage(svc, "latency_p99_ms", t0 + i * 10000, 380 + (i % 5)));
    batch.push_back(MetricMessage(svc, "error_rate", t0 + i * 10000, 0.5 + 0.01 * (i % 3)));
  }
  for (int i = 40; i < 46; ++i) {
    batch.push_back(MetricMessage(svc, "latency_p99_ms", t0 + i * 10000, 2000 + 100 * i));
    if (i >= 42) batch.push_back(MetricMessage(svc, "error_rate", t0 + i * 10000, 8));
  }
  // A malformed message in the middle is reported invalid; the rest of the batch proceeds.
  batch.push_back({topics::kRawMetrics, 0, 999, svc, "{\"not\":\"a metric\"}"});
  auto results = service.HandleBatch(batch);
  for (size_t i = 0; i + 1 < results.size(); ++i) ASSERT_TRUE(results[i].ok()) << i << " " << results[i].ToString();
  EXPECT_TRUE(results.back().invalid());

  auto incidents = [&] {
    std::vector<std::string> ids;
    EXPECT_TRUE(db.Transact([&](pqxx::work& tx) {
                    for (auto row : tx.exec_params("SELECT id::text FROM incidents WHERE service = $1", svc))
                      ids.push_back(row[0].as<std::string>());
                    return Status::Ok();
                  }).ok());
    return ids;
  };
  auto ids = incidents();
  ASSERT_EQ(ids.size(), 1u);
  std::string incident = ids[0];
  int64_t attached = 0;
  std::string trigger, baselines;
  ASSERT_TRUE(db.Transact([&](pqxx::work& tx) {
                  attached = tx.exec_params1("SELECT count(*) FROM agent_events WHERE incident_id = $1::uuid AND "
                                             "event_type = 'METRIC_ATTACHED'", incident)[0].as<int64_t>();
                  auto row = tx.exec_params1("SELECT trigger_metric, baselines::text FROM incidents WHERE id = $1::uuid",
                                             incident);
                  trigger = row[0].as<std::string>();
                  baselines = row[1].as<std::string>();
                  return Status::Ok();
                }).ok());
  EXPECT_EQ(trigger, "latency_p99_ms");
  EXPECT_EQ(attached, 1);
  EXPECT_NE(baselines.find("error_rate"), std::string::npos);
  auto lock = redis.Command({"GET", "sre:lock:incident:{" + svc + "}"});
  EXPECT_EQ(lock->str, incident);

  // Redelivery of the whole batch: no new incident, no new event id.
  auto again = service.HandleBatch(batch);
  for (size_t i = 0; i + 1 < again.size(); ++i) ASSERT_TRUE(again[i].ok()) << again[i].ToString();
  EXPECT_EQ(incidents().size(), 1u);
  std::set<std::string> event_ids;
  for (const auto& m : testing::ReadAll(testing::Stack().kafka_bootstrap, topics::kAnomaliesDetected)) {
    auto a = Decode<AnomalyDetected>(m.payload);
    ASSERT_TRUE(a.ok());
    if (a->service == svc) {
      event_ids.insert(a->event_id);
      EXPECT_EQ(a->incident_id, incident);
      EXPECT_EQ(a->anomaly_type, AnomalyType::LATENCY_SPIKE);
      EXPECT_GT(a->deviation_sigma, 2.5);
    }
  }
  EXPECT_EQ(event_ids.size(), 1u);
}

}  // namespace
}  // namespace sre::detection
