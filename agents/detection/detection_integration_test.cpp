// Detection against real Redis, PostgreSQL and sre-devbroker: the states kept in Redis give the
// offline core's verdicts sample by sample, also when two consumers take turns on a series (a
// rebalance), a redelivered sample changes nothing, one incident per failure.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <tuple>
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

std::vector<SampleCall> Calls(const std::string& service, const std::string& metric, const std::vector<double>& values,
                              size_t from, size_t to) {
  std::vector<SampleCall> calls;
  for (size_t i = from; i < to; ++i)
    calls.push_back({service, metric, 1767225600000 + static_cast<int64_t>(i) * 10000, values[i], NewUuid()});
  return calls;
}

TEST(SeriesStoreTest, VerdictsMatchTheOfflineCoreAlsoWhenTwoConsumersTakeTurns) {
  SRE_REQUIRE_STACK();
  RedisClient redis_a = Redis(), redis_b = Redis();
  for (auto metric : {"latency_p99_ms", "request_rate"}) {
    MetricSettings m = Shipped().For(metric);
    m.level_shift_samples = 25;
    std::string service = testing::Unique("conformance");
    auto values = Series(42);
    // Consumer A scores the first half, B (which has never seen the series) the next quarter,
    // then A again with its cached state now stale: its first write is refused and redone.
    SeriesStore a(redis_a), b(redis_b);
    std::vector<Expected<OnlineVerdict>> online;
    size_t half = values.size() / 2, three_quarters = values.size() * 3 / 4;
    for (auto [store, from, to] : {std::tuple{&a, size_t{0}, half}, std::tuple{&b, half, three_quarters},
                                   std::tuple{&a, three_quarters, values.size()}}) {
      auto calls = Calls(service, metric, values, from, to);
      std::vector<const MetricSettings*> settings(calls.size(), &m);
      for (auto& v : store->Score(calls, settings)) online.push_back(std::move(v));
    }
    SeriesState offline_state;
    std::set<VerdictKind> seen;
    int raises = 0;
    for (size_t i = 0; i < values.size(); ++i) {
      ASSERT_TRUE(online[i].ok()) << online[i].status().message();
      Verdict offline = Observe(offline_state, 1767225600000 + static_cast<int64_t>(i) * 10000, values[i], m);
      ASSERT_EQ(online[i]->verdict.kind, offline.kind) << metric << " sample " << i;
      EXPECT_FALSE(online[i]->duplicate);
      EXPECT_EQ(online[i]->verdict.z, offline.z) << i;
      EXPECT_EQ(online[i]->verdict.mean, offline.mean) << i;
      EXPECT_EQ(online[i]->verdict.score, offline.score) << i;
      if (offline.kind == VerdictKind::kRaise) {
        ++raises;
        EXPECT_FALSE(online[i]->incident_id.empty());
        EXPECT_GE(online[i]->recent.size(), 3u);
      }
      seen.insert(offline.kind);
    }
    EXPECT_EQ(seen.size(), 5u) << metric << ": the series exercised every path";
    EXPECT_GE(raises, 1);
    // The stored state is the offline one, byte for byte, and correlation reads its baseline.
    auto blob = redis_a.Command({"GET", keys::SeriesWindow(service, metric)});
    ASSERT_TRUE(blob.ok());
    EXPECT_EQ(blob->str, PackState(offline_state));
    auto season = redis_a.Command({"GET", keys::SeriesSeason(service, metric)});
    ASSERT_TRUE(season.ok());
    EXPECT_EQ(season->str, PackSeason(offline_state));
    auto summary = keys::ParseSeriesWindow(blob->str);
    ASSERT_TRUE(summary.has_value()) << metric;
    EXPECT_EQ(summary->mean, offline_state.level);
    EXPECT_EQ(summary->std, offline_state.spread);
  }
}

TEST(SeriesStoreTest, RedeliveredSamplesReturnTheirVerdictAndChangeNothing) {
  SRE_REQUIRE_STACK();
  RedisClient redis = Redis();
  MetricSettings m = Shipped().For("cpu_percent");
  std::string service = testing::Unique("redeliver");
  std::vector<double> values;
  for (int i = 0; i < 30; ++i) values.push_back(30.0 + i % 3);
  for (int i = 0; i < 3; ++i) values.push_back(90);
  SeriesStore store(redis);
  auto calls = Calls(service, "cpu_percent", values, 0, values.size());
  std::vector<const MetricSettings*> settings(calls.size(), &m);
  auto first = store.Score(calls, settings);
  ASSERT_TRUE(first.back().ok());
  ASSERT_EQ(first.back()->verdict.kind, VerdictKind::kRaise);
  std::string incident = first.back()->incident_id;
  auto state_before = redis.Command({"GET", keys::SeriesWindow(service, "cpu_percent")});
  auto history_before = redis.Command({"ZCARD", keys::SeriesHistory(service, "cpu_percent")});
  // The last five samples again, by this consumer (its cache thinks they are new) and by a fresh one.
  SeriesStore fresh(redis);
  for (SeriesStore* s : {&store, &fresh}) {
    std::vector<SampleCall> tail(calls.end() - 5, calls.end());
    auto again = s->Score(tail, std::vector<const MetricSettings*>(5, &m));
    for (size_t i = 0; i < again.size(); ++i) {
      ASSERT_TRUE(again[i].ok()) << again[i].status().message();
      EXPECT_TRUE(again[i]->duplicate) << i;
      EXPECT_EQ(again[i]->verdict.kind, first[first.size() - 5 + i]->verdict.kind) << i;
    }
    EXPECT_EQ(again.back()->incident_id, incident);  // the raise is reported again, same incident
    EXPECT_EQ(again.back()->incident_decision, "new");
  }
  EXPECT_EQ(redis.Command({"GET", keys::SeriesWindow(service, "cpu_percent")})->str, state_before->str);
  EXPECT_EQ(redis.Command({"ZCARD", keys::SeriesHistory(service, "cpu_percent")})->integer, history_before->integer);
  // And the next new sample continues from the stored state.
  auto next = store.Score({{service, "cpu_percent", 1767225600000 + 33 * 10000, 31, NewUuid()}}, {&m});
  ASSERT_TRUE(next.front().ok());
  EXPECT_FALSE(next.front()->duplicate);
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
      EXPECT_GT(a->deviation_sigma, 3.0);
      EXPECT_GE(a->anomaly_score, 0.5);
    }
  }
  EXPECT_EQ(event_ids.size(), 1u);
}

// Issue 17: telemetry from sre-ingest may name a metric detection has no settings for, on a
// service the catalogue does not list: the defaults section scores it, the incident opens with
// the catalogue's defaults, and the payload passes the contract.
TEST(DetectionServiceTest, AMetricWithoutSettingsOnAnUnknownServiceUsesTheDefaults) {
  SRE_REQUIRE_STACK();
  RedisClient redis = Redis();
  Database db(testing::Stack().database_url);
  ASSERT_TRUE(db.Migrate().ok());
  auto producer = Producer::Create({testing::Stack().kafka_bootstrap, {}});
  ASSERT_TRUE(producer.ok());
  auto catalog = ServiceCatalog::Load(std::string(SRE_TEST_SOURCE_DIR) + "/knowledge/architecture/services.json");
  ASSERT_TRUE(catalog.ok());
  DetectionService service(redis, db, **producer, *catalog, Shipped());
  ASSERT_EQ(&Shipped().For("checkout_queue_depth"), &Shipped().defaults);

  std::string svc = testing::Unique("not-in-catalogue");
  ASSERT_EQ(catalog->Find(svc), nullptr);
  std::vector<InboundMessage> batch;
  int64_t t0 = 1763892000000;
  for (int i = 0; i < 40; ++i) batch.push_back(MetricMessage(svc, "checkout_queue_depth", t0 + i * 10000, 120 + (i % 7)));
  for (int i = 40; i < 46; ++i) batch.push_back(MetricMessage(svc, "checkout_queue_depth", t0 + i * 10000, 900 + 10 * i));
  for (const auto& r : service.HandleBatch(batch)) ASSERT_TRUE(r.ok()) << r.ToString();

  std::string trigger, type, baselines;
  int64_t rows = 0;
  ASSERT_TRUE(db.Transact([&](pqxx::work& tx) {
                  rows = tx.exec_params1("SELECT count(*) FROM incidents WHERE service = $1", svc)[0].as<int64_t>();
                  if (rows == 1) {
                    auto row = tx.exec_params1(
                        "SELECT trigger_metric, anomaly_type, baselines::text FROM incidents WHERE service = $1", svc);
                    trigger = row[0].as<std::string>();
                    type = row[1].as<std::string>();
                    baselines = row[2].as<std::string>();
                  }
                  return Status::Ok();
                }).ok());
  ASSERT_EQ(rows, 1);
  EXPECT_EQ(trigger, "checkout_queue_depth");
  EXPECT_TRUE(ParseEnum<AnomalyType>(type).has_value()) << type;
  EXPECT_NE(baselines.find("\"direction\": \"up\""), std::string::npos) << baselines;
  bool published = false;
  for (const auto& m : testing::ReadAll(testing::Stack().kafka_bootstrap, topics::kAnomaliesDetected)) {
    auto a = Decode<AnomalyDetected>(m.payload);
    ASSERT_TRUE(a.ok()) << a.status().message();
    if (a->service != svc) continue;
    published = true;
    EXPECT_EQ(a->trigger_metric, "checkout_queue_depth");
    EXPECT_GT(a->deviation_sigma, 3.5);
  }
  EXPECT_TRUE(published);
}

}  // namespace
}  // namespace sre::detection
