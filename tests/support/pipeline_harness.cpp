#include "tests/support/pipeline_harness.h"

#include <httplib.h>

#include <algorithm>
#include <filesystem>

#include "shared/redis.h"
#include "tests/support/test_stack.h"

namespace sre::testing {

const std::vector<std::string>& PipelineHarness::Agents() {
  static const std::vector<std::string> kAgents = {"detection",   "correlation",   "investigation",
                                                   "remediation", "communication", "postmortem"};
  return kAgents;
}

PipelineHarness::PipelineHarness(PipelineOptions options) : options_(std::move(options)) {
  const char* bin = std::getenv("SRE_BIN_DIR");
  const char* source = std::getenv("SRE_SOURCE_DIR");
  bin_ = bin ? bin : "";
  source_ = source ? source : "";
  std::filesystem::create_directories(options_.logs_dir);
  stack_ = options_.stack ? *options_.stack : Stack();
  env_ = {{"KAFKA_BOOTSTRAP_SERVERS", stack_.kafka_bootstrap},
          {"REDIS_URL", stack_.redis_url},
          {"DATABASE_URL", stack_.database_url},
          {"SMTP_URL", stack_.smtp_url},
          {"LLM_PROVIDER", "none"},
          {"LOG_LEVEL", "info"},
          {"KNOWLEDGE_DIR", source_ + "/knowledge"},
          {"TEMPLATES_DIR", source_ + "/agents/communication/templates"},
          {"DETECTION_CONFIG", source_ + "/infra/detection/detection.json"},
          {"RESOLUTION_INTERVAL_MS", "250"},
          {"POSTMORTEM_MAX_WAIT_S", "30"},
          // Remediation proposes actions and waits for approval unless a test asks for auto.
          {"REMEDIATION_MODE", "approve"},
          {"REMEDIATION_POLICY", source_ + "/infra/remediation/policy.json"},
          {"REMEDIATION_INTERVAL_MS", "250"},
          {"HTTP_PORT", "0"}};
  if (!stack_.kafka_fetch_wait_max_ms.empty()) env_["KAFKA_FETCH_WAIT_MAX_MS"] = stack_.kafka_fetch_wait_max_ms;
  for (const auto& [k, v] : options_.extra_env) env_[k] = v;
}

PipelineHarness::~PipelineHarness() { Stop(); }

void PipelineHarness::StartProcess(const std::string& name, const std::string& exe,
                                   std::map<std::string, std::string> env) {
  if (auto it = options_.process_env.find(name); it != options_.process_env.end())
    for (const auto& [k, v] : it->second) env[k] = v;
  if (!http_ports_.count(name)) http_ports_[name] = env.count("HTTP_PORT") && env["HTTP_PORT"] != "0"
                                                        ? std::stoi(env["HTTP_PORT"])
                                                        : FreePort();
  env["HTTP_PORT"] = std::to_string(http_ports_[name]);
  auto p = std::make_unique<Process>(name, exe, std::vector<std::string>{}, env,
                                     options_.logs_dir + "/" + name + ".log");
  p->Start();
  processes_[name] = std::move(p);
  launch_[name] = {exe, env};
  if (std::find(order_.begin(), order_.end(), name) == order_.end()) order_.push_back(name);
}

void PipelineHarness::Restart(const std::string& name) {
  processes_.at(name)->Kill();
  auto [exe, env] = launch_.at(name);
  StartProcess(name, exe, env);
}

bool PipelineHarness::Start(std::string* error) {
  std::string out;
  // Redis holds state keyed by service and event time (series histories, the service clocks,
  // baselines): a previous run's simulator, accelerated ahead of the wall clock, would leave
  // samples "newer" than everything this run produces. Each run starts from an empty Redis (the
  // e2e tests sharing a stack hold a RESOURCE_LOCK, so none is running meanwhile); PostgreSQL
  // keeps its rows, and the tests read only the rows their own run wrote.
  auto redis_options = ParseRedisUrl(stack_.redis_url);
  if (!redis_options.ok()) {
    if (error) *error = "REDIS_URL: " + redis_options.status().message();
    return false;
  }
  if (auto flushed = RedisClient(*redis_options).Command({"FLUSHDB"}); !flushed.ok()) {
    if (error) *error = "FLUSHDB: " + flushed.status().message();
    return false;
  }
  if (RunToCompletion(bin_ + "/sre-knowledge", {"seed"}, env_, &out) != 0) {
    if (error) *error = "sre-knowledge seed failed: " + out;
    return false;
  }
  // The simulator's port is known before the agents start: remediation's simulator executor
  // posts to it.
  sim_port_ = FreePort();
  env_["SIMULATOR_URL"] = "http://127.0.0.1:" + std::to_string(sim_port_);
  for (const auto& a : Agents()) StartProcess(a, bin_ + "/sre-" + a, env_);
  // The servers on a port of their own: HTTP_PORT set, known to http_port().
  auto start_server = [this](const std::string& name, std::map<std::string, std::string> extra) {
    int port = name == "simulator" ? sim_port_ : FreePort();
    auto env = env_;
    env["HTTP_PORT"] = std::to_string(port);
    for (auto& [k, v] : extra) env[k] = std::move(v);
    http_ports_[name] = port;
    StartProcess(name, bin_ + "/sre-" + name, env);
    return port;
  };
  if (options_.with_api) api_port_ = start_server("api", {{"API_STATIC_DIR", source_ + "/api/static"}});
  if (options_.with_ingest)
    ingest_port_ = start_server("ingest", {{"INGEST_MAPPING", source_ + "/infra/ingest/mapping.json"}});
  // The tests assert exact incident counts: the clean profile (no benign spikes, no missing
  // samples). The realistic one is scored by make eval-detection.
  sim_port_ = start_server("simulator", {{"SIM_SPEED", std::to_string(options_.sim_speed)},
                                         {"SIM_SCHEDULE", options_.sim_schedule},
                                         {"SIM_SEED", options_.sim_seed},
                                         {"SIM_BACKFILL_S", std::to_string(options_.sim_backfill_s)},
                                         {"SIM_PROFILE", "clean"}});
  return true;
}

void PipelineHarness::Stop() {
  // The simulator first (no new input), then the rest in reverse start order.
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) processes_[*it]->Stop();
  order_.clear();
  processes_.clear();
}

Json PipelineHarness::SimApi(const std::string& method, const std::string& path,
                             int* status) const {
  httplib::Client c("127.0.0.1", sim_port_);
  c.set_connection_timeout(5);
  c.set_read_timeout(10);
  auto r = method == "GET" ? c.Get(path.c_str()) : c.Post(path.c_str(), "", "application/json");
  if (!r) return nullptr;
  if (status) *status = r->status;
  return Json::parse(r->body, nullptr, false);
}

int64_t PipelineHarness::SimNow() const {
  Json j = SimApi("GET", "/api/scenarios");
  return j.is_object() ? j.value("simulated_time_ms", int64_t{0}) : 0;
}

int PipelineHarness::HealthStatus(const std::string& name, std::chrono::milliseconds timeout) const {
  auto it = http_ports_.find(name);
  if (it == http_ports_.end()) return 0;
  httplib::Client c("127.0.0.1", it->second);
  c.set_connection_timeout(timeout);
  c.set_read_timeout(timeout);
  auto r = c.Get("/healthz");
  return r ? r->status : 0;
}

std::string PipelineHarness::MetricsText(const std::string& name) const {
  auto it = http_ports_.find(name);
  if (it == http_ports_.end()) return "";
  httplib::Client c("127.0.0.1", it->second);
  c.set_connection_timeout(5);
  c.set_read_timeout(10);
  auto r = c.Get("/metrics");
  return r && r->status == 200 ? r->body : "";
}

}  // namespace sre::testing
