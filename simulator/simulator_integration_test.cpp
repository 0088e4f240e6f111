// Runs the real sre-simulator against the fixture's broker at SIM_SPEED=100 for 15 simulated
// minutes, injects a catalogue scenario and a custom one over HTTP, and checks what reached the
// topics. Other tests share the broker, so everything is filtered by this run's id (metrics and
// logs carry labels["run"]) or its simulated time window (deployments, ground truth).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "shared/messages.h"
#include "simulator/noise.h"
#include "simulator/ramp.h"
#include "simulator/scenarios.h"
#include "simulator/service.h"
#include "simulator/simulator.h"
#include "tests/support/test_kafka.h"
#include "tests/support/test_stack.h"

extern char** environ;

namespace sre::sim {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kMinuteMs = 60000;

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

// A child process with extra environment variables, stdout and stderr to `log_path`.
class Child {
 public:
  Child(const std::string& path, const std::map<std::string, std::string>& env,
        const std::string& log_path) {
    std::vector<std::string> vars;
    for (char** e = environ; *e; ++e) {
      std::string kv = *e;
      if (!env.count(kv.substr(0, kv.find('=')))) vars.push_back(kv);
    }
    for (const auto& [k, v] : env) vars.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& kv : vars) envp.push_back(kv.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::string arg0 = path;
    char* argv[] = {arg0.data(), nullptr};
    if (posix_spawn(&pid_, path.c_str(), &actions, nullptr, argv, envp.data()) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool started() const { return pid_ > 0; }
  int exit_code() const { return exit_code_; }
  bool Running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      return false;
    }
    return true;
  }
  // SIGTERM, then waits; the exit code, or -1 when it had to be killed.
  int Terminate(std::chrono::milliseconds timeout) {
    if (pid_ > 0) ::kill(pid_, SIGTERM);
    testing::Eventually([&] { return !Running(); }, timeout, 50ms);
    return pid_ > 0 ? -1 : exit_code_;
  }

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Every line of a Prometheus text exposition that is not a comment must be `name{labels} value`.
std::vector<std::string> BadExpositionLines(const std::string& text) {
  static const std::regex kSample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*\})? [-+]?([0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?|\.[0-9]+|NaN|Inf)$)");
  std::vector<std::string> bad;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    if (!std::regex_match(line, kSample)) bad.push_back(line);
  }
  return bad;
}

// The value of one sample line, e.g. Sample(text, "failure_injections_total{scenario=\"X\"}").
std::optional<double> Sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return std::nullopt;
}

template <typename T>
std::vector<T> DecodeAll(const std::string& topic, const std::function<bool(const T&)>& mine,
                         std::map<std::string, size_t>* wrong_keys) {
  std::vector<T> out;
  for (const auto& m : testing::ReadAll(testing::Stack().kafka_bootstrap, topic)) {
    auto v = Decode<T>(m.payload);
    if (!v.ok() || !mine(*v)) continue;
    std::string service;
    if constexpr (std::is_same_v<T, GroundTruth>)
      service = v->service;
    else
      service = v->source_service;
    if (m.key != service) ++(*wrong_keys)[topic];
    out.push_back(std::move(v).value());
  }
  return out;
}

TEST(SimulatorIntegrationTest, FifteenSimulatedMinutesWithInjectedScenarios) {
  SRE_REQUIRE_STACK();
  const char* bin_dir = std::getenv("SRE_BIN_DIR");
  ASSERT_NE(bin_dir, nullptr) << "SRE_BIN_DIR is set by ctest";
  const auto wall_start = std::chrono::steady_clock::now();

  const int port = FreePort();
  ASSERT_GT(port, 0);
  // A start time no other run uses: whole seconds, years ahead of the wall clock.
  const int64_t start = (std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count() +
                         5LL * 365 * 86400) *
                        1000;
  const std::string log_path =
      ::testing::TempDir() + "sre-simulator-" + std::to_string(port) + ".log";
  std::map<std::string, std::string> env = {
      {"KAFKA_BOOTSTRAP_SERVERS", testing::Stack().kafka_bootstrap},
      {"HTTP_PORT", std::to_string(port)},
      {"SIM_SPEED", "100"},
      {"SIM_SCHEDULE", "off"},
      {"SIM_SEED", "4242"},
      {"SIM_START_TIME_MS", std::to_string(start)},
      {"SIM_BACKFILL_S", "600"},
      // Every sample of every tick, around the baselines (the realistic default drops 0.5 %).
      {"SIM_PROFILE", "clean"},
      {"LOG_LEVEL", "info"},
  };
  if (const char* src = std::getenv("SRE_SOURCE_DIR"))
    env["KNOWLEDGE_DIR"] = std::string(src) + "/knowledge";
  Child sim(std::string(bin_dir) + "/sre-simulator", env, log_path);
  ASSERT_TRUE(sim.started());

  httplib::Client http("127.0.0.1", port);
  http.set_connection_timeout(2);
  http.set_read_timeout(10);
  ASSERT_TRUE(testing::Eventually(
      [&] {
        auto r = http.Get("/healthz");
        return r && r->status == 200;
      },
      30s, 100ms))
      << ReadFile(log_path);

  auto simulated_ms = [&]() -> int64_t {
    auto r = http.Get("/api/scenarios");
    if (!r || r->status != 200) return -1;
    return Json::parse(r->body)["simulated_time_ms"].get<int64_t>();
  };
  ASSERT_TRUE(testing::Eventually([&] { return simulated_ms() >= start; }, 30s, 50ms))
      << ReadFile(log_path);

  // Inject a catalogue scenario, then try it again (409), an unknown one (404), a broken custom
  // definition (400 naming the field) and a valid custom one with a deployment.
  auto injected = http.Post("/api/scenarios/LATENCY_SPIKE", "", "application/json");
  ASSERT_TRUE(injected);
  ASSERT_EQ(injected->status, 201) << injected->body;
  Json spike = Json::parse(injected->body);
  const int64_t spike_start = spike["started_at_ms"].get<int64_t>();
  const int64_t spike_end = spike["ends_at_ms"].get<int64_t>();
  EXPECT_EQ(spike_end - spike_start, 240000);

  auto again = http.Post("/api/scenarios/BAD_DEPLOY_LATENCY", "", "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 409) << again->body;
  auto unknown = http.Post("/api/scenarios/NO_SUCH_THING", "", "application/json");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);

  const std::string custom = R"({
    "name": "INVENTORY_SLOW_DISK", "service": "inventory-service", "duration_s": 120,
    "metrics": [{"metric": "latency_p99_ms", "peak": 600, "shape": "linear", "ramp_s": 40}],
    "logs": [{"level": "ERROR", "message": "fsync on /var/lib/inventory took 2300 ms"}],
    "deployment": {"change_type": "INFRA", "version": "node-pool-2031.01", "lead_s": 60},
    "ground_truth": {"root_cause_service": "inventory-service",
                     "root_cause_category": "INFRASTRUCTURE_FAILURE"}})";
  Json bad_custom = Json::parse(custom);
  bad_custom["metrics"][0]["shape"] = "wobbly";
  auto rejected = http.Post("/api/scenarios", bad_custom.dump(), "application/json");
  ASSERT_TRUE(rejected);
  EXPECT_EQ(rejected->status, 400);
  EXPECT_EQ(Json::parse(rejected->body)["field"], "metrics[0].shape");
  auto accepted = http.Post("/api/scenarios", custom, "application/json");
  ASSERT_TRUE(accepted);
  ASSERT_EQ(accepted->status, 201) << accepted->body;
  Json disk = Json::parse(accepted->body);
  const int64_t disk_start = disk["started_at_ms"].get<int64_t>();
  const int64_t disk_symptoms = disk["symptoms_start_ms"].get<int64_t>();
  EXPECT_EQ(disk_symptoms - disk_start, 60000);

  auto listing = http.Get("/api/scenarios");
  ASSERT_TRUE(listing);
  Json list = Json::parse(listing->body);
  EXPECT_EQ(list["active"].size(), 2u);
  EXPECT_EQ(list["scenarios"].size(), 11u);
  const std::string run_id = list["run_id"];

  // Fifteen simulated minutes of live time.
  ASSERT_TRUE(
      testing::Eventually([&] { return simulated_ms() >= start + 15 * kMinuteMs; }, 60s, 100ms))
      << ReadFile(log_path);

  auto metrics_page = http.Get("/metrics");
  ASSERT_TRUE(metrics_page);
  ASSERT_EQ(metrics_page->status, 200);
  const std::string exposition = metrics_page->body;
  EXPECT_EQ(BadExpositionLines(exposition), std::vector<std::string>{});
  EXPECT_NE(exposition.find("# HELP sim_metric_value "), std::string::npos);
  EXPECT_NE(exposition.find("# TYPE sim_metric_value gauge"), std::string::npos);
  EXPECT_NE(exposition.find("# TYPE failure_injections_total counter"), std::string::npos);
  EXPECT_EQ(Sample(exposition, R"(failure_injections_total{scenario="LATENCY_SPIKE"})"), 1.0);
  EXPECT_EQ(Sample(exposition, R"(failure_injections_total{scenario="INVENTORY_SLOW_DISK"})"), 1.0);
  EXPECT_EQ(Sample(exposition, R"(failure_injections_total{scenario="CPU_SATURATION"})"), 0.0);
  EXPECT_EQ(Sample(exposition, "sim_active_scenarios"), 0.0);
  size_t gauges = 0;
  for (size_t at = 0; (at = exposition.find("\nsim_metric_value{", at)) != std::string::npos; ++at)
    ++gauges;
  EXPECT_EQ(gauges, 42u);
  auto cpu = Sample(exposition, R"(sim_metric_value{metric="cpu_percent",service="api-gateway"})");
  ASSERT_TRUE(cpu);
  EXPECT_NEAR(*cpu, 30.0, 3.0);

  EXPECT_EQ(sim.Terminate(20s), 0) << ReadFile(log_path);  // SIGTERM: flush and exit cleanly

  // --- What reached the broker.
  std::map<std::string, size_t> wrong_keys;
  auto metrics = DecodeAll<RawMetric>(
      topics::kRawMetrics,
      [&](const RawMetric& m) { return m.labels.count("run") && m.labels.at("run") == run_id; },
      &wrong_keys);
  auto logs = DecodeAll<RawLog>(
      topics::kRawLogs,
      [&](const RawLog& l) { return l.labels.count("run") && l.labels.at("run") == run_id; },
      &wrong_keys);
  auto in_window = [&](int64_t ts) { return ts >= start - 600000 && ts <= start + 20 * kMinuteMs; };
  auto deployments = DecodeAll<RawDeployment>(
      topics::kRawDeployments, [&](const RawDeployment& d) { return in_window(d.timestamp); },
      &wrong_keys);
  auto truth = DecodeAll<GroundTruth>(
      topics::kSimGroundTruth, [&](const GroundTruth& g) { return in_window(g.timestamp); },
      &wrong_keys);
  EXPECT_TRUE(wrong_keys.empty()) << "messages not keyed by service on "
                                  << wrong_keys.begin()->first;

  // Metrics: 7 per service per tick, every tick from the backfill's first to the last, no gaps.
  std::map<std::string, std::map<int64_t, int>> per_tick;
  for (const auto& m : metrics) ++per_tick[m.source_service][m.timestamp];
  ASSERT_EQ(per_tick.size(), 6u);
  std::set<int64_t> ticks;
  for (const auto& [svc, by_ts] : per_tick)
    for (const auto& [ts, n] : by_ts) {
      EXPECT_EQ(n, 7) << svc << " at " << ts;
      ticks.insert(ts);
    }
  for (const auto& [svc, by_ts] : per_tick) EXPECT_EQ(by_ts.size(), ticks.size()) << svc;
  ASSERT_FALSE(ticks.empty());
  EXPECT_EQ(*ticks.begin(), start - 600000);  // SIM_BACKFILL_S of history
  EXPECT_GE(*ticks.rbegin(), start + 15 * kMinuteMs);
  EXPECT_EQ(static_cast<int64_t>(ticks.size()), (*ticks.rbegin() - *ticks.begin()) / kTickMs + 1);
  EXPECT_EQ(metrics.size(), ticks.size() * 42);

  // Logs: several lines per service per tick, with trace ids.
  std::map<std::string, size_t> logs_per_service;
  std::map<std::string, size_t> errors_per_service;
  size_t disk_lines = 0;
  for (const auto& l : logs) {
    ++logs_per_service[l.source_service];
    if (l.level >= LogLevel::ERROR) ++errors_per_service[l.source_service];
    EXPECT_TRUE(std::regex_match(l.trace_id, std::regex("[0-9a-f]{16}"))) << l.trace_id;
    disk_lines += l.message == "fsync on /var/lib/inventory took 2300 ms";
  }
  ASSERT_EQ(logs_per_service.size(), 6u);
  for (const auto& [svc, n] : logs_per_service) EXPECT_GE(n, 3 * ticks.size()) << svc;
  EXPECT_EQ(errors_per_service.size(), 2u);  // payment-service and inventory-service only
  EXPECT_GE(errors_per_service["payment-service"], 24u);  // every tick of the 4 minutes
  EXPECT_EQ(disk_lines, 12u);  // every tick of the custom scenario's 120 s

  // Ground truth brackets both scenarios.
  std::map<std::string, std::map<Phase, std::vector<GroundTruth>>> by_scenario;
  for (const auto& g : truth) by_scenario[g.scenario][g.phase].push_back(g);
  ASSERT_EQ(by_scenario["LATENCY_SPIKE"][Phase::START].size(), 1u);
  ASSERT_EQ(by_scenario["LATENCY_SPIKE"][Phase::END].size(), 1u);
  const GroundTruth& s0 = by_scenario["LATENCY_SPIKE"][Phase::START][0];
  const GroundTruth& s1 = by_scenario["LATENCY_SPIKE"][Phase::END][0];
  EXPECT_EQ(s0.timestamp, spike_start);
  EXPECT_EQ(s1.timestamp, spike_end);
  EXPECT_EQ(s0.service, "payment-service");
  EXPECT_EQ(s0.root_cause_category, RootCauseCategory::DATABASE_BOTTLENECK);
  EXPECT_EQ(s0.trigger_metrics, std::vector<std::string>{"latency_p99_ms"});
  ASSERT_EQ(by_scenario["INVENTORY_SLOW_DISK"][Phase::START].size(), 1u);
  ASSERT_EQ(by_scenario["INVENTORY_SLOW_DISK"][Phase::END].size(), 1u);
  EXPECT_EQ(by_scenario["INVENTORY_SLOW_DISK"][Phase::START][0].timestamp, disk_start);
  EXPECT_EQ(by_scenario["INVENTORY_SLOW_DISK"][Phase::END][0].timestamp, disk_symptoms + 120000);

  // The custom scenario's deployment comes lead_s before its symptoms.
  std::vector<RawDeployment> infra;
  for (const auto& d : deployments)
    if (d.change_type == ChangeType::INFRA) infra.push_back(d);
  ASSERT_EQ(infra.size(), 1u);
  EXPECT_EQ(infra[0].source_service, "inventory-service");
  EXPECT_EQ(infra[0].version, "node-pool-2031.01");
  EXPECT_EQ(infra[0].timestamp, disk_start);
  EXPECT_LE(deployments.size(), 2u);  // plus at most one benign deployment

  // payment-service p99 follows LATENCY_SPIKE's curve (within the noise band) and recovers.
  auto catalog = ServiceCatalog::Load(env.count("KNOWLEDGE_DIR")
                                          ? env["KNOWLEDGE_DIR"] + "/architecture/services.json"
                                          : KnowledgeDir() + "/architecture/services.json");
  ASSERT_TRUE(catalog.ok());
  const double base = catalog->Find("payment-service")->baseline.at("latency_p99_ms");
  const double rel = catalog->Find("payment-service")->noise.at("latency_p99_ms");
  ScenarioDef def;
  for (auto& d : BuiltInScenarios(*catalog))
    if (d.name == "LATENCY_SPIKE") def = d;
  const MetricEffect& effect = def.effects[0];
  ASSERT_EQ(effect.metric, kLatencyP99);
  double top = 0;
  size_t in_scenario = 0, after = 0;
  for (const auto& m : metrics) {
    if (m.source_service != "payment-service" || m.metric_name != "latency_p99_ms") continue;
    double intensity = EffectIntensity(effect.shape, m.timestamp, spike_start, spike_end,
                                       effect.delay_ms, effect.ramp_ms, def.recovery_ms);
    double expected = base + intensity * (effect.peak - base);
    EXPECT_NEAR(m.metric_value, expected, expected * rel * NoiseProcess::Bound() + 0.01)
        << "at +" << (m.timestamp - spike_start) / 1000 << " s";
    if (m.timestamp >= spike_start && m.timestamp < spike_end) {
      ++in_scenario;
      top = std::max(top, m.metric_value);
    }
    after += m.timestamp >= spike_end;
  }
  EXPECT_EQ(in_scenario, 24u);
  EXPECT_GE(top, 0.9 * effect.peak);
  EXPECT_GE(after, 30u);  // and back to normal for the rest of the run

  auto wall = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                               wall_start);
  std::printf(
      "15 simulated minutes (+10 of backfill): %zu metrics, %zu logs, %zu deployments, %zu "
      "ground truth in %lld s of wall time\n",
      metrics.size(), logs.size(), deployments.size(), truth.size(),
      static_cast<long long>(wall.count()));
  if (!HasFailure()) std::remove(log_path.c_str());  // kept for a failed run
}

// Degraded mode: with the broker down the tick is retried (a warning, a counter), simulated time
// does not run ahead, and a stop request still ends the loop promptly.
TEST(SimulatorIntegrationTest, UnreachableBrokerIsRetriedWithoutAdvancingTime) {
  KafkaOptions kafka;
  kafka.bootstrap_servers = "127.0.0.1:1";
  auto producer = Producer::Create(kafka, 400ms);
  ASSERT_TRUE(producer.ok());
  auto catalog = ServiceCatalog::Load(KnowledgeDir() + "/architecture/services.json");
  ASSERT_TRUE(catalog.ok()) << catalog.status().message();
  ServiceOptions options;
  options.core.seed = 9;
  options.core.live_start_ms = 1767225600000;
  options.core.random_schedule = false;
  options.backfill_ms = 60000;
  options.speed = 100;
  MetricsRegistry registry;
  SimulatorService service(std::move(catalog).value(), options, **producer, registry);
  auto failures = [&] {
    return registry
        .GetCounter("sim_publish_failures_total",
                    "Tick batches the broker did not acknowledge (retried)")
        .Value();
  };
  std::atomic<bool> stop{false};
  Status result = Status::Fatal("still running");
  std::thread loop([&] { result = service.Run(stop); });
  EXPECT_TRUE(testing::Eventually([&] { return failures() >= 2; }, 20s, 50ms)) << failures();
  // The whole backfill was simulated, then publishing it stalls: no live tick yet.
  Json listing = Json::parse(service.api().List().body);
  EXPECT_EQ(listing["simulated_time_ms"], options.core.live_start_ms - kTickMs);
  auto stopping = std::chrono::steady_clock::now();
  stop = true;
  loop.join();
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, 5s);
  EXPECT_TRUE(result.ok()) << result.ToString();
  EXPECT_EQ(registry.Render().find("sim_events_published_total{"), std::string::npos);
}

// One HTTP/1.1 exchange over a fresh connection, the request sent byte for byte as given.
struct RawReply {
  int status = -1;  // -1: no status line before the timeout
  std::string head, body;
  std::chrono::milliseconds took{0};
};

RawReply RawExchange(int port, const std::string& request, std::chrono::milliseconds timeout) {
  RawReply reply;
  const auto start = std::chrono::steady_clock::now();
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return reply;
  }
  for (size_t sent = 0; sent < request.size();) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer (and stop reading) before the body is sent
    sent += static_cast<size_t>(n);
  }
  std::string in;
  char buf[4096];
  for (;;) {
    size_t end = in.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::smatch m;
      std::string head = in.substr(0, end);
      size_t length = 0;
      if (std::regex_search(head, m,
                            std::regex("\r\nContent-Length: *([0-9]+)", std::regex::icase)))
        length = std::stoul(m[1]);
      if (in.size() >= end + 4 + length) {
        reply.head = head;
        reply.body = in.substr(end + 4, length);
        if (std::regex_search(head, m, std::regex("^HTTP/1\\.[01] ([0-9]{3})")))
          reply.status = std::stoi(m[1]);
        break;
      }
    }
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    in.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  reply.took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return reply;
}

// `body` as one chunk of chunked transfer coding.
std::string Chunked(const std::string& body) {
  char size[32];
  std::snprintf(size, sizeof(size), "%zx", body.size());
  return std::string(size) + "\r\n" + body + "\r\n0\r\n\r\n";
}

bool IsJsonError(const std::string& body) {
  Json j = Json::parse(body, nullptr, false);
  return j.is_object() && j.contains("error") && j["error"].is_string();
}

// A simulator with no broker (nothing is published) whose HTTP API answers; `env` adds to the
// defaults.
class ApiOnlySimulator {
 public:
  explicit ApiOnlySimulator(const std::string& tag, std::map<std::string, std::string> env = {})
      : port_(FreePort()),
        log_path_(::testing::TempDir() + "sre-simulator-" + tag + "-" + std::to_string(port_) +
                  ".log") {
    const char* bin_dir = std::getenv("SRE_BIN_DIR");
    if (!bin_dir) {
      ADD_FAILURE() << "SRE_BIN_DIR is set by ctest";
      return;
    }
    env.insert({{"KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1"},
                {"HTTP_PORT", std::to_string(port_)},
                {"SIM_SCHEDULE", "off"},
                {"SIM_BACKFILL_S", "0"},
                {"LOG_LEVEL", "info"}});
    if (const char* src = std::getenv("SRE_SOURCE_DIR"))
      env.insert({"KNOWLEDGE_DIR", std::string(src) + "/knowledge"});
    child_ = std::make_unique<Child>(std::string(bin_dir) + "/sre-simulator", env, log_path_);
  }
  ~ApiOnlySimulator() {
    child_.reset();
    if (!::testing::Test::HasFailure()) std::remove(log_path_.c_str());
  }
  // True once GET /api/scenarios answers.
  bool WaitUntilServing() {
    if (!child_ || !child_->started()) return false;
    httplib::Client http("127.0.0.1", port_);
    return testing::Eventually(
        [&] {
          auto r = http.Get("/api/scenarios");
          return r && r->status == 200;
        },
        30s, 100ms);
  }
  std::vector<std::string> ActiveNames() {
    httplib::Client http("127.0.0.1", port_);
    auto r = http.Get("/api/scenarios");
    std::vector<std::string> names;
    if (!r) return names;
    const Json listing = Json::parse(r->body);
    for (const auto& a : listing["active"]) names.push_back(a["name"]);
    return names;
  }
  int port() const { return port_; }
  std::string Log() const { return ReadFile(log_path_); }

 private:
  int port_;
  std::string log_path_;
  std::unique_ptr<Child> child_;
};

// Each request below once misbehaved or would have: the README's `curl -X POST` (no body, no
// Content-Length) waited 5 s for a body and got an empty 400; any Content-Type and any size
// were accepted; a chunked body bypassed the library's own size limit.
TEST(SimulatorIntegrationTest, ScenarioApiHttpEdges) {
  ApiOnlySimulator sim("http-edges");
  ASSERT_TRUE(sim.WaitUntilServing()) << sim.Log();
  const std::string host = "Host: 127.0.0.1:" + std::to_string(sim.port()) + "\r\n";

  // Exactly what curl 7.88 sends for the README's example.
  RawReply readme = RawExchange(sim.port(),
                                "POST /api/scenarios/PAYMENT_OUTAGE HTTP/1.1\r\n" + host +
                                    "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
                                10s);
  ASSERT_EQ(readme.status, 201) << readme.head << "\n" << readme.body << "\n" << sim.Log();
  EXPECT_LT(readme.took, 2s);  // no wait for a body that is not coming
  EXPECT_EQ(Json::parse(readme.body)["name"], "PAYMENT_OUTAGE");
  EXPECT_NE(readme.head.find("Content-Type: application/json"), std::string::npos);

  httplib::Client http("127.0.0.1", sim.port());
  http.set_read_timeout(10);
  const std::string custom = R"({"name": "USER_CPU", "service": "user-service",
      "duration_s": 60, "metrics": [{"metric": "cpu_percent", "peak": 90}],
      "ground_truth": {"root_cause_service": "user-service",
                       "root_cause_category": "CPU_EXHAUSTION"}})";
  auto plain = http.Post("/api/scenarios", custom, "text/plain");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 415);
  EXPECT_TRUE(IsJsonError(plain->body)) << plain->body;
  auto form =
      http.Post("/api/scenarios/CPU_SATURATION", "a=b", "application/x-www-form-urlencoded");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 415);
  EXPECT_TRUE(IsJsonError(form->body)) << form->body;
  auto cross_site = http.Post("/api/scenarios/CPU_SATURATION", {{"Origin", "http://evil.example"}},
                              "", "application/json");
  ASSERT_TRUE(cross_site);
  EXPECT_EQ(cross_site->status, 403);
  EXPECT_TRUE(IsJsonError(cross_site->body)) << cross_site->body;

  std::string big = custom;
  big.append(kMaxBodyBytes, ' ');
  auto too_big = http.Post("/api/scenarios", big, "application/json");
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->status, 413);
  EXPECT_TRUE(IsJsonError(too_big->body)) << too_big->body;
  RawReply chunked_big = RawExchange(sim.port(),
                                     "POST /api/scenarios HTTP/1.1\r\n" + host +
                                         "Content-Type: application/json\r\n"
                                         "Transfer-Encoding: chunked\r\n\r\n" +
                                         Chunked(big),
                                     10s);
  EXPECT_EQ(chunked_big.status, 413) << chunked_big.head;
  EXPECT_TRUE(IsJsonError(chunked_big.body)) << chunked_big.body;
  EXPECT_NE(chunked_big.head.find("Connection: close"), std::string::npos) << chunked_big.head;

  // A chunked body within the limit is read as usual.
  RawReply chunked = RawExchange(sim.port(),
                                 "POST /api/scenarios HTTP/1.1\r\n" + host +
                                     "Content-Type: application/json; charset=utf-8\r\n"
                                     "Transfer-Encoding: chunked\r\n\r\n" +
                                     Chunked(custom),
                                 10s);
  EXPECT_EQ(chunked.status, 201) << chunked.head << "\n" << chunked.body;

  // Other paths answer at once, without waiting for (or buffering) a body.
  RawReply elsewhere =
      RawExchange(sim.port(), "POST /api/nowhere HTTP/1.1\r\n" + host + "\r\n", 10s);
  EXPECT_EQ(elsewhere.status, 404);
  EXPECT_LT(elsewhere.took, 2s);
  EXPECT_TRUE(IsJsonError(elsewhere.body)) << elsewhere.body;

  EXPECT_EQ(sim.ActiveNames(), (std::vector<std::string>{"PAYMENT_OUTAGE", "USER_CPU"}));
}

TEST(SimulatorIntegrationTest, ApiTokenGuardsEveryPost) {
  const std::string token = "it-token-" + std::to_string(FreePort());
  ApiOnlySimulator sim("token", {{"SIM_API_TOKEN", token}});
  ASSERT_TRUE(sim.WaitUntilServing()) << sim.Log();  // GET needs no token
  httplib::Client http("127.0.0.1", sim.port());
  http.set_read_timeout(10);

  auto missing = http.Post("/api/scenarios/PAYMENT_OUTAGE", "", "application/json");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 401);
  EXPECT_EQ(missing->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_TRUE(IsJsonError(missing->body)) << missing->body;
  auto wrong = http.Post("/api/scenarios/PAYMENT_OUTAGE", {{"Authorization", "Bearer nope"}}, "",
                         "application/json");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_TRUE(sim.ActiveNames().empty());

  auto right = http.Post("/api/scenarios/PAYMENT_OUTAGE", {{"Authorization", "Bearer " + token}},
                         "", "application/json");
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 201) << right->body;
  EXPECT_EQ(sim.ActiveNames(), std::vector<std::string>{"PAYMENT_OUTAGE"});

  auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  auto health = http.Get("/healthz");  // 503: no broker, but not 401
  ASSERT_TRUE(health);
  EXPECT_NE(health->status, 401);
  EXPECT_EQ(sim.Log().find(token), std::string::npos) << "the token reached the log";
}

TEST(SimulatorIntegrationTest, BadConfigurationStopsAtStartUpNamingTheVariable) {
  const char* bin_dir = std::getenv("SRE_BIN_DIR");
  ASSERT_NE(bin_dir, nullptr);
  const std::string log_path = ::testing::TempDir() + "sre-simulator-badconfig.log";
  Child sim(std::string(bin_dir) + "/sre-simulator",
            {{"SIM_SPEED", "0"}, {"SIM_SCHEDULE", "sometimes"}, {"HTTP_PORT", "0"}}, log_path);
  ASSERT_TRUE(sim.started());
  ASSERT_TRUE(testing::Eventually([&] { return !sim.Running(); }, 20s, 50ms));
  EXPECT_EQ(sim.exit_code(), 2);
  std::string out = ReadFile(log_path);
  EXPECT_NE(out.find("SIM_SPEED"), std::string::npos) << out;
  EXPECT_NE(out.find("SIM_SCHEDULE"), std::string::npos) << out;
  if (!HasFailure()) std::remove(log_path.c_str());
}

}  // namespace
}  // namespace sre::sim
