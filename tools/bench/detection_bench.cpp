// sre-bench-detection: sustained detection throughput and produce→anomaly latency, against the
// real Redis, PostgreSQL and broker named by the environment (make bench starts an isolated
// native stack). Prints figures; asserts nothing.
//
//   1. throughput: raw.metrics for N services (default 10,000) × S samples are published first,
//      then the detection handler consumes them through the shared consumer runner; events/s is
//      measured from the first to the last message handled.
//   2. latency: 1,000 events/s for D seconds (1,000 series, one sample each per second); one
//      series in 5 breaches for 3 seconds at a time spread over the run, and for every raising
//      sample the time from produce to its anomalies.detected message is recorded (p50, p99),
//      split into the hop to detection, the handler and the hop to the consumer.
//   3. the process's peak RSS.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "agents/detection/service.h"
#include "shared/config.h"
#include "shared/ids.h"
#include "shared/log.h"
#include "shared/messages.h"
#include "shared/metrics.h"

namespace {

using namespace sre;
using Clock = std::chrono::steady_clock;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// One raising sample of the latency phase: wall-clock milliseconds at each step.
struct Timing {
  int64_t produced = 0, handler_start = 0, handler_end = 0, observed = 0;
};

struct Timings {
  std::mutex mu;
  std::map<std::string, Timing> pending;  // service -> its raising sample, until observed
  std::vector<Timing> done;
};

// Wraps the detection handler: counts what it handled and stamps the raising samples' batches.
class Counting : public MessageHandler {
 public:
  Counting(MessageHandler& inner, Timings& timings) : inner_(inner), timings_(timings) {}
  Status Handle(const InboundMessage& m) override { return HandleBatch({&m, 1}).front(); }
  std::vector<Status> HandleBatch(std::span<const InboundMessage> batch) override {
    if (first_ == Clock::time_point{}) first_ = Clock::now();
    int64_t start = NowMs();
    auto r = inner_.HandleBatch(batch);
    int64_t end = NowMs();
    {
      std::lock_guard<std::mutex> lock(timings_.mu);
      if (!timings_.pending.empty())
        for (const auto& m : batch)
          if (auto it = timings_.pending.find(m.key); it != timings_.pending.end() && !it->second.handler_start &&
                                                      it->second.produced)
            it->second.handler_start = start, it->second.handler_end = end;
    }
    handled_ += batch.size();
    last_ = Clock::now();
    return r;
  }
  std::atomic<size_t> handled_{0};
  Clock::time_point first_{}, last_{};

 private:
  MessageHandler& inner_;
  Timings& timings_;
};

// Nearest-rank percentile in ms, 0 when nothing was measured.
double Ms(const std::vector<double>& v, double p) { return Percentile(v, p).value_or(0); }

std::string Metric(const std::string& service, int64_t ts, double value) {
  RawMetric m;
  m.event_id = NewUuid();
  m.timestamp = ts;
  m.source_service = service;
  m.metric_name = "latency_p99_ms";
  m.metric_value = value;
  return Encode(m);
}

}  // namespace

int main(int argc, char** /*argv*/) {
  Config config = Config::FromEnvironment();
  std::string bootstrap = config.String("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092");
  std::string redis_url = config.Url("REDIS_URL", "redis://localhost:6379/0", {"redis"});
  std::string db_url = config.Url("DATABASE_URL", "postgresql://sre:sre@localhost:5432/sre", {"postgresql", "postgres"});
  int services = static_cast<int>(config.Int("BENCH_SERVICES", 10000, 1, 1000000));
  int samples = static_cast<int>(config.Int("BENCH_SAMPLES", 10, 1, 10000));
  int latency_s = static_cast<int>(config.Int("BENCH_LATENCY_SECONDS", 20, 1, 3600));
  int64_t fetch_wait = config.Int("KAFKA_FETCH_WAIT_MAX_MS", 50, 1, 10000);
  try {
    config.Validate();
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "sre-bench-detection: %s\n", e.what());
    return 2;
  }
  if (argc > 1) {
    std::printf("Usage: sre-bench-detection (configure with BENCH_SERVICES, BENCH_SAMPLES, BENCH_LATENCY_SECONDS)\n");
    return 0;
  }
  log::Init(log::Format::kText, "warn");
  auto producer = Producer::Create({bootstrap, {{"linger.ms", "20"}, {"batch.num.messages", "10000"}}});
  if (!producer.ok()) return 1;
  RedisClient redis(*ParseRedisUrl(redis_url));
  Database db(db_url);
  if (!db.Migrate().ok()) {
    std::fprintf(stderr, "cannot reach PostgreSQL\n");
    return 1;
  }
  auto catalog = ServiceCatalog::Load(KnowledgeDir() + "/architecture/services.json");
  auto settings = detection::DetectionSettings::Load(detection::DefaultSettingsPath());
  if (!catalog.ok() || !settings.ok()) return 1;
  // The handler publishes through a producer configured as the agent's (linger 2 ms), not the
  // load generator's batching one.
  auto agent_producer = Producer::Create({bootstrap, {}});
  if (!agent_producer.ok()) return 1;
  // As RunConsumer does for an agent: learn the topics before the first publish.
  (void)(*agent_producer)->Prepare(std::vector<std::string>(std::begin(topics::kAll), std::end(topics::kAll)),
                                   std::chrono::seconds(5));
  // The latency phase's load comes from its own producer, as the simulator is its own process.
  auto sim_producer = Producer::Create({bootstrap, {}});
  if (!sim_producer.ok()) return 1;
  detection::DetectionService service(redis, db, **agent_producer, *catalog, *settings);
  const std::string run = NewUuid().substr(0, 8);

  // 1. Throughput: the detection consumer runs while the samples are published, so it works
  // through a standing backlog (publishing is faster than detection).
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  size_t total = static_cast<size_t>(services) * static_cast<size_t>(samples);
  ConsumerOptions options;
  options.agent = "bench-" + run;
  options.topics = {topics::kRawMetrics};
  options.kafka.bootstrap_servers = bootstrap;
  options.max_batch = detection::kConsumeBatch;  // as the agent consumes
  options.kafka.properties["fetch.wait.max.ms"] = std::to_string(fetch_wait);
  auto runner = ConsumerRunner::Create(options, **producer);
  if (!runner.ok()) return 1;
  Timings timings;
  Counting counting(service, timings);
  std::atomic<bool> stop{false};
  std::thread consumer([&] { (void)(*runner)->Run(counting, stop); });
  std::printf("publishing %d services x %d samples of raw.metrics ...\n", services, samples);
  int64_t t0 = NowMs() - static_cast<int64_t>(samples) * 10000;
  auto produce_start = Clock::now();
  std::vector<OutboundMessage> batch;
  for (int s = 0; s < samples; ++s) {
    for (int i = 0; i < services; ++i) {
      std::string svc = "bench-" + run + "-" + std::to_string(i);
      batch.push_back({topics::kRawMetrics, svc, Metric(svc, t0 + s * 10000LL, 100 + (i + s) % 7)});
      if (batch.size() == 20000) {
        if (!(*producer)->PublishBatch(batch).ok()) return 1;
        batch.clear();
      }
    }
  }
  if (!batch.empty() && !(*producer)->PublishBatch(batch).ok()) return 1;
  double produce_secs = std::chrono::duration<double>(Clock::now() - produce_start).count();
  std::printf("published %zu events in %.2f s (%.0f events/s)\n", total, produce_secs,
              static_cast<double>(total) / produce_secs);
  auto deadline = Clock::now() + std::chrono::minutes(3);
  while (counting.handled_ < total && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  double secs = std::chrono::duration<double>(counting.last_ - counting.first_).count();
  std::printf("throughput: %zu of %zu events handled in %.2f s = %.0f events/s (batches of up to %zu, one Redis "
              "round trip per batch)\n",
              counting.handled_.load(), total, secs, static_cast<double>(counting.handled_.load()) / std::max(secs, 1e-9),
              options.max_batch);

  // 2. Latency at 1,000 events/s: 1,000 series, one sample each per second. Series i with
  // i % 5 == 0 breaches for 3 seconds from second 2 + (i / 5) % (D - 5); its third breaching
  // sample raises the anomaly, whose arrival on anomalies.detected is timed.
  ConsumerOptions watch;
  watch.agent = "bench-watch-" + run;
  watch.topics = {topics::kAnomaliesDetected};
  watch.kafka.bootstrap_servers = bootstrap;
  watch.kafka.properties["fetch.wait.max.ms"] = std::to_string(fetch_wait);
  struct Watcher : MessageHandler {
    Timings* timings = nullptr;
    Status Handle(const InboundMessage& m) override {
      auto a = Decode<AnomalyDetected>(m.payload);
      if (!a.ok()) return Status::Ok();
      std::lock_guard<std::mutex> lock(timings->mu);
      auto it = timings->pending.find(a->service);
      if (it != timings->pending.end() && it->second.produced) {
        it->second.observed = NowMs();
        timings->done.push_back(it->second);
        timings->pending.erase(it);
      }
      return Status::Ok();
    }
  } watcher;
  watcher.timings = &timings;
  auto watch_runner = ConsumerRunner::Create(watch, **producer);
  if (!watch_runner.ok()) return 1;
  std::thread watch_thread([&] { (void)(*watch_runner)->Run(watcher, stop); });
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const int series = 1000;
  latency_s = std::max(latency_s, 8);
  auto name = [&](int i) { return "lat-" + run + "-" + std::to_string(i); };
  auto breach_start = [&](int i) { return 2 + (i / 5) % (latency_s - 5); };
  int64_t base = NowMs() - 60LL * 10000;
  // Warm-up history for the latency series (published at once).
  batch.clear();
  for (int s = 0; s < 30; ++s)
    for (int i = 0; i < series; ++i)
      batch.push_back({topics::kRawMetrics, name(i), Metric(name(i), base + s * 10000LL, 100 + (i + s) % 7)});
  if (!(*producer)->PublishBatch(batch).ok()) return 1;
  std::this_thread::sleep_for(std::chrono::seconds(3));
  for (int sec = 0; sec < latency_s; ++sec) {
    auto tick = Clock::now();
    for (int chunk = 0; chunk < 10; ++chunk) {  // 100 messages every 100 ms
      batch.clear();
      std::vector<std::string> raising;
      for (int i = chunk * 100; i < chunk * 100 + 100; ++i) {
        int since = sec - breach_start(i);
        bool breach = i % 5 == 0 && since >= 0 && since < 3;
        if (breach && since == 2) raising.push_back(name(i));
        double value = breach ? 5000 : 100 + (i + sec) % 7;
        batch.push_back({topics::kRawMetrics, name(i), Metric(name(i), base + (30 + sec) * 10000LL, value)});
      }
      {
        std::lock_guard<std::mutex> lock(timings.mu);
        for (const auto& svc : raising) timings.pending[svc].produced = NowMs();
      }
      (void)(*sim_producer)->PublishBatch(batch);  // as the simulator publishes: linger 2 ms
      std::this_thread::sleep_until(tick + std::chrono::milliseconds(100 * (chunk + 1)));
    }
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));
  stop = true;
  consumer.join();
  watch_thread.join();
  std::vector<double> total_ms, to_detection, handler, to_consumer;
  for (const auto& t : timings.done) {
    total_ms.push_back(static_cast<double>(t.observed - t.produced));
    if (!t.handler_start) continue;
    to_detection.push_back(static_cast<double>(t.handler_start - t.produced));
    handler.push_back(static_cast<double>(t.handler_end - t.handler_start));
    to_consumer.push_back(static_cast<double>(t.observed - t.handler_end));
  }
  std::printf("latency at 1000 events/s: %zu breaching samples (%zu not observed), produce -> anomalies.detected "
              "p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
              total_ms.size(), timings.pending.size(), Ms(total_ms, 50), Ms(total_ms, 99),
              Ms(total_ms, 100));
  std::printf("  of which: produce -> detection handler p50 %.0f / p99 %.0f ms, handler (batch) p50 %.0f / p99 %.0f "
              "ms, publish -> consumer p50 %.0f / p99 %.0f ms\n",
              Ms(to_detection, 50), Ms(to_detection, 99), Ms(handler, 50),
              Ms(handler, 99), Ms(to_consumer, 50), Ms(to_consumer, 99));
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("peak RSS: %.1f MiB (bench process: producer, consumer and detection handler)\n",
              static_cast<double>(ru.ru_maxrss) / 1024.0);
  return 0;
}
