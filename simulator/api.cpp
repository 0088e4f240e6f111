#include "simulator/api.h"

#include "simulator/custom_scenario.h"

namespace sre::sim {
namespace {

constexpr const char* kInjectionsHelp = "Failure scenarios injected, by scenario name";

HttpReply Reply(int status, const Json& body) { return {status, body.dump()}; }

}  // namespace

Json ActiveJson(const ActiveScenarioInfo& a) {
  return {{"name", a.name},
          {"service", a.service},
          {"custom", a.custom},
          {"started_at_ms", a.started_at_ms},
          {"symptoms_start_ms", a.symptoms_start_ms},
          {"ends_at_ms", a.ends_at_ms},
          {"progress", a.progress},
          {"phase", a.phase},
          {"deployment_version", a.deployment_version ? Json(*a.deployment_version) : Json()}};
}

ScenarioApi::ScenarioApi(Simulator& sim, std::mutex& mu, MetricsRegistry& metrics, RunInfo info)
    : sim_(sim), mu_(mu), metrics_(metrics), info_(std::move(info)) {
  // Every catalogue scenario shows up at 0 before its first injection.
  for (const auto& def : sim_.catalogue())
    metrics_.GetCounter("failure_injections_total", kInjectionsHelp, {{"scenario", def.name}});
}

void ScenarioApi::CountInjection(const std::string& scenario) {
  metrics_.GetCounter("failure_injections_total", kInjectionsHelp, {{"scenario", scenario}}).Inc();
}

HttpReply ScenarioApi::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  Json active = Json::array(), scenarios = Json::array();
  for (const auto& a : sim_.Active()) active.push_back(ActiveJson(a));
  for (const auto& def : sim_.catalogue()) scenarios.push_back(ScenarioJson(def));
  const auto& o = sim_.options();
  return Reply(200, {{"simulated_time_ms", sim_.last_tick_ms()},
                     {"live_start_ms", o.live_start_ms},
                     {"seed", o.seed},
                     {"run_id", sim_.run_id()},
                     {"speed", info_.speed},
                     {"schedule", info_.schedule},
                     {"next_injection_ms",
                      sim_.next_injection_ms() < 0 ? Json() : Json(sim_.next_injection_ms())},
                     {"active", active},
                     {"scenarios", scenarios}});
}

HttpReply ScenarioApi::Injected(const InjectResult& r) {
  switch (r.error) {
    case InjectResult::Error::kNone:
      CountInjection(r.active.name);
      return Reply(201, ActiveJson(r.active));
    case InjectResult::Error::kUnknownScenario:
      return Reply(404, {{"error", r.message}});
    case InjectResult::Error::kServiceBusy:
      return Reply(409, {{"error", r.message}});
  }
  return Reply(500, {{"error", "unexpected injection result"}});
}

HttpReply ScenarioApi::InjectNamed(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  InjectResult r = sim_.Inject(name);
  if (r.error == InjectResult::Error::kUnknownScenario) {
    Json known = Json::array();
    for (const auto& def : sim_.catalogue()) known.push_back(def.name);
    return Reply(404, {{"error", r.message}, {"known", known}});
  }
  return Injected(r);
}

HttpReply ScenarioApi::InjectCustom(const std::string& body) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> reserved;
  for (const auto& def : sim_.catalogue()) reserved.push_back(def.name);
  CustomScenarioResult parsed = ParseCustomScenario(body, sim_.services(), reserved);
  if (!parsed.ok()) return Reply(400, {{"error", parsed.error}, {"field", parsed.field}});
  return Injected(sim_.InjectCustom(std::move(*parsed.scenario)));
}

}  // namespace sre::sim
