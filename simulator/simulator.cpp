#include "simulator/simulator.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "shared/ids.h"
#include "simulator/log_text.h"
#include "simulator/ramp.h"

namespace sre::sim {
namespace {

constexpr int64_t kMinute = 60 * 1000;

// Independent streams, so that e.g. an injected scenario's extra log lines do not shift the
// noise of every later tick.
// The realistic profile has streams of its own (the clean streams are consumed exactly as
// before): one for its traits and per-tick draws, one for the effects of benign deployments.
enum Stream : uint32_t {
  kNoiseStream = 1,
  kIdStream,
  kTextStream,
  kScheduleStream,
  kRealisticStream,
  kBenignEffectStream
};

std::mt19937_64 SeededStream(uint64_t seed, Stream stream) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(stream)};
  return std::mt19937_64(seq);
}

// A trace id: 16 lower-case hex digits.
std::string TraceId(std::mt19937_64& rng) { return RandomHex(rng, 16); }

std::string PodName(std::mt19937_64& rng, const std::string& service) {
  static constexpr char kAlnum[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string suffix;
  for (int i = 0; i < 5; ++i) suffix.push_back(kAlnum[UniformInt(rng, 0, sizeof(kAlnum) - 2)]);
  return fmt::format("{}-{}-{}", service, RandomHex(rng, 10), suffix);
}

constexpr const char* kBenignCodeChanges[] = {
    "Bump dependencies to their latest patch releases (CVE fixes)",
    "Add structured logging fields to request logs",
    "Refactor request validation (no behaviour change)",
    "Tune HTTP client connection keep-alive",
    "Improve error messages for invalid requests",
    "Remove dead feature flag code",
    "Upgrade base image to the latest patch release",
};
constexpr const char* kBenignConfigChanges[] = {
    "Lower log level of com.shop.* to INFO",
    "Raise HPA maxReplicas from 10 to 12",
    "Rotate feature flag rollout percentage from 20% to 30%",
    "Update alert annotations and dashboard links",
    "Increase readiness probe initialDelaySeconds to 20",
};

}  // namespace

Simulator::Simulator(ServiceCatalog catalog, SimulatorOptions options)
    : catalog_(std::move(catalog)),
      options_(options),
      noise_rng_(SeededStream(options.seed, kNoiseStream)),
      id_rng_(SeededStream(options.seed, kIdStream)),
      text_rng_(SeededStream(options.seed, kTextStream)),
      schedule_rng_(SeededStream(options.seed, kScheduleStream)) {
  catalogue_ = BuiltInScenarios(catalog_);
  run_id_ = UuidFromName(fmt::format("sre-simulator:{}:{}", options_.seed, options_.live_start_ms))
                .substr(0, 8);
  for (const auto& info : catalog_.services()) {
    ServiceState s;
    s.info = &info;
    for (size_t m = 0; m < kMetricCount; ++m) {
      auto b = info.baseline.find(MetricName(m));
      auto n = info.noise.find(MetricName(m));
      s.baseline[m] = b == info.baseline.end() ? 0.0 : b->second;
      s.sigma[m] = s.baseline[m] * (n == info.noise.end() ? 0.0 : n->second);
      s.last[m] = s.baseline[m];
      s.noise[m].Reset(noise_rng_);
    }
    for (int i = 0; i < 3; ++i) s.pods.push_back(PodName(text_rng_, info.name));
    s.version.major = UniformInt(text_rng_, 1, 5);
    s.version.minor = UniformInt(text_rng_, 0, 24);
    s.version.patch = UniformInt(text_rng_, 0, 9);
    s.version.config_rev = UniformInt(text_rng_, 40, 400);
    s.version.code = fmt::format("{}.{}.{}", s.version.major, s.version.minor, s.version.patch);
    s.version.config = fmt::format("config-r{}", s.version.config_rev);
    s.version.infra = fmt::format("infra-r{}", s.version.infra_rev);
    normal_.push_back(s.baseline);
    sigma_.push_back(s.sigma);
    services_.push_back(std::move(s));
  }
  if (options_.profile == Profile::kRealistic) {
    std::vector<const ServiceInfo*> infos;
    for (const auto& s : services_) infos.push_back(s.info);
    realistic_ =
        std::make_unique<RealisticModel>(infos, SeededStream(options_.seed, kRealisticStream),
                                         SeededStream(options_.seed, kBenignEffectStream));
  }
  next_injection_ms_ = options_.live_start_ms + options_.first_injection_ms;
  next_benign_ms_ = options_.live_start_ms + UniformInt(schedule_rng_, 10 * kMinute, 70 * kMinute);
}

size_t Simulator::Index(const std::string& service) const {
  for (size_t i = 0; i < services_.size(); ++i)
    if (services_[i].info->name == service) return i;
  return services_.size();
}

std::optional<size_t> Simulator::ServiceIndex(const std::string& service) const {
  size_t i = Index(service);
  if (i == services_.size()) return std::nullopt;
  return i;
}

bool Simulator::ServiceActive(const std::string& service, int64_t at_ms) const {
  // A scenario that ends by at_ms is retired at that tick, before the new one starts.
  return std::any_of(running_.begin(), running_.end(), [&](const Running& r) {
    return r.def->service == service && r.end_ms > at_ms;
  });
}

std::string Simulator::CurrentVersion(const std::string& service) const {
  size_t i = Index(service);
  return i < services_.size() ? services_[i].version.code : "";
}

int64_t Simulator::NextStartMs() const {
  if (last_tick_ms_ < 0) return options_.live_start_ms;
  return std::max(last_tick_ms_ + kTickMs, options_.live_start_ms);
}

std::vector<size_t> Simulator::CascadeTargets(size_t service) const {
  std::vector<size_t> out, frontier{service};
  while (!frontier.empty()) {
    size_t n = frontier.back();
    frontier.pop_back();
    for (const auto& caller : services_[n].info->upstream) {
      size_t c = Index(caller);
      if (c < services_.size() && c != service &&
          std::find(out.begin(), out.end(), c) == out.end()) {
        out.push_back(c);
        frontier.push_back(c);
      }
    }
  }
  return out;
}

InjectResult Simulator::Inject(const std::string& name) {
  for (const auto& def : catalogue_)
    if (def.name == name) return Start(std::make_shared<const ScenarioDef>(def), NextStartMs());
  InjectResult r;
  r.error = InjectResult::Error::kUnknownScenario;
  r.message = "unknown scenario '" + name + "'";
  return r;
}

InjectResult Simulator::InjectCustom(ScenarioDef def) {
  def.custom = true;
  return Start(std::make_shared<const ScenarioDef>(std::move(def)), NextStartMs());
}

std::pair<std::string, std::string> Simulator::NextVersion(size_t service, ChangeType type,
                                                           bool minor_bump) const {
  const Version& v = services_[service].version;
  switch (type) {
    case ChangeType::CONFIG:
      return {fmt::format("config-r{}", v.config_rev + 1), v.config};
    case ChangeType::INFRA:
      return {fmt::format("infra-r{}", v.infra_rev + 1), v.infra};
    case ChangeType::CODE:
      break;
  }
  if (minor_bump) return {fmt::format("{}.{}.0", v.major, v.minor + 1), v.code};
  return {fmt::format("{}.{}.{}", v.major, v.minor, v.patch + 1), v.code};
}

InjectResult Simulator::Start(std::shared_ptr<const ScenarioDef> def, int64_t at_ms) {
  InjectResult result;
  size_t svc = Index(def->service);
  if (svc == services_.size()) {
    result.error = InjectResult::Error::kUnknownScenario;
    result.message = "scenario '" + def->name + "' names unknown service '" + def->service + "'";
    return result;
  }
  if (ServiceActive(def->service, at_ms)) {
    for (const auto& r : running_)
      if (r.def->service == def->service && r.end_ms > at_ms)
        result.message = def->service + " already has an active scenario (" + r.def->name + ")";
    result.error = InjectResult::Error::kServiceBusy;
    return result;
  }
  Running r;
  r.def = def;
  r.start_ms = at_ms;
  r.symptoms_ms = at_ms;
  if (def->deployment) {
    const DeploymentSpec& d = *def->deployment;
    // Whole ticks when the bounds allow, so the deployment and the first symptom land on ticks.
    bool whole_ticks = d.lead_min_ms % kTickMs == 0 && d.lead_max_ms % kTickMs == 0;
    int64_t lead =
        whole_ticks
            ? UniformInt(schedule_rng_, d.lead_min_ms / kTickMs, d.lead_max_ms / kTickMs) * kTickMs
            : UniformInt(schedule_rng_, d.lead_min_ms, d.lead_max_ms);
    r.symptoms_ms = at_ms + lead;
    r.deploy_type = d.change_type;
    auto [next, previous] = NextVersion(svc, d.change_type, /*minor_bump=*/true);
    r.version = d.version.empty() ? next : d.version;
    r.previous_version = previous;
  }
  r.end_ms = r.symptoms_ms + def->duration_ms;
  running_.push_back(r);
  result.active = Describe(running_.back());
  return result;
}

ActiveScenarioInfo Simulator::Describe(const Running& r) const {
  ActiveScenarioInfo a;
  a.name = r.def->name;
  a.service = r.def->service;
  a.custom = r.def->custom;
  a.started_at_ms = r.start_ms;
  a.symptoms_start_ms = r.symptoms_ms;
  a.ends_at_ms = r.end_ms;
  if (r.deploy_type) a.deployment_version = r.version;
  a.cascade = r.def->cascade;
  a.def = r.def;
  size_t svc = Index(r.def->service);
  a.affected_services.push_back(r.def->service);
  if (r.def->cascade && svc < services_.size())
    for (size_t t : CascadeTargets(svc)) a.affected_services.push_back(services_[t].info->name);
  a.remediated_at_ms = r.remediated_ms;
  int64_t now = std::max(last_tick_ms_, r.start_ms);
  a.progress = std::clamp(static_cast<double>(now - r.start_ms) /
                              static_cast<double>(std::max<int64_t>(1, r.end_ms - r.start_ms)),
                          0.0, 1.0);
  a.phase = PhaseAt(r, last_tick_ms_);
  return a;
}

std::string Simulator::PhaseAt(const Running& r, int64_t t_ms) const {
  if (last_tick_ms_ < r.start_ms || t_ms < r.start_ms) return "starting";
  if (r.remediated_ms && t_ms >= *r.remediated_ms) return "recovering";
  // The scenario's own schedule (end_ms moves only with a remediation).
  const int64_t natural_end = r.symptoms_ms + r.def->duration_ms;
  if (t_ms < r.symptoms_ms) return "deploying";
  if (t_ms < r.symptoms_ms + r.def->RampEndMs()) return "ramping";
  if (t_ms < natural_end - r.def->recovery_ms) return "holding";
  return "recovering";
}

double Simulator::EffectLevel(const Running& r, size_t e, int64_t t_ms) const {
  const MetricEffect& effect = r.def->effects[e];
  if (!r.remediated_ms || t_ms < *r.remediated_ms)
    return EffectIntensity(effect.shape, t_ms, r.symptoms_ms, r.symptoms_ms + r.def->duration_ms,
                           effect.delay_ms, effect.ramp_ms, r.def->recovery_ms);
  // Remediated: from the effect's intensity at the action down to 0 over the recovery window,
  // along the same curve as a natural recovery (continuous, non-increasing).
  const int64_t recovery = r.def->recovery_ms;
  const int64_t since = t_ms - *r.remediated_ms;
  if (recovery <= 0 || since >= recovery) return 0.0;
  return r.remediated_levels[e] *
         Recovery(static_cast<double>(since) / static_cast<double>(recovery));
}

double Simulator::RunningIntensity(const Running& r, int64_t t_ms) const {
  double out = 0;
  for (size_t e = 0; e < r.def->effects.size(); ++e) out = std::max(out, EffectLevel(r, e, t_ms));
  return out;
}

std::optional<double> Simulator::ActiveIntensity(const std::string& service, int64_t t_ms) const {
  for (const auto& r : running_)
    if (r.def->service == service) return RunningIntensity(r, t_ms);
  return std::nullopt;
}

ActionResult Simulator::ApplyAction(RemediationAction action, const std::string& service,
                                    const std::optional<std::string>& deployment_version,
                                    bool undo, int64_t now_ms) {
  ActionResult out;
  const std::string verb(ToString(action));
  // The scenario on the service itself; a custom scenario may name another root-cause service.
  auto it = std::find_if(running_.begin(), running_.end(),
                         [&](const Running& r) { return r.def->service == service; });
  if (it == running_.end())
    it = std::find_if(running_.begin(), running_.end(),
                      [&](const Running& r) { return r.def->root_cause_service == service; });
  if (it == running_.end()) {
    out.message = Index(service) == services_.size()
                      ? fmt::format("{}: unknown service '{}'; nothing changed", verb, service)
                      : fmt::format("{}: no active scenario on {}; nothing changed", verb, service);
    return out;
  }
  Running& r = *it;
  const ScenarioDef& def = *r.def;
  out.scenario = def.name;
  out.phase_before = out.phase_after = PhaseAt(r, now_ms);
  out.ends_at_ms = r.end_ms;
  const std::string cause(ToString(def.root_cause_category));
  const std::string deployed =
      r.deploy_type ? fmt::format(", after a {} deployment of {}", ToString(*r.deploy_type),
                                  r.version)
                    : std::string();
  if (undo) {
    out.message = fmt::format("undo of {} on {}: nothing to undo in the simulator; {} unchanged",
                              verb, service, def.name);
    return out;
  }
  if (!ActionFixes(action, def)) {
    out.message = fmt::format("{} does not address {} on {} ({}{}); nothing changed", verb,
                              def.name, def.service, cause, deployed);
    return out;
  }
  const bool versioned = deployment_version && !deployment_version->empty();
  if (action == RemediationAction::ROLLBACK && versioned && *deployment_version != r.version) {
    out.message = fmt::format("{} deployed {}, not {}; nothing changed", def.service, r.version,
                              *deployment_version);
    return out;
  }
  if (out.phase_before == "starting") {
    out.message = fmt::format("{} on {} has not started yet; nothing changed", def.name,
                              def.service);
    return out;
  }
  out.matched = true;
  if (out.phase_before == "recovering") {
    out.message = fmt::format("{} on {} is already recovering (ends at {}); nothing changed",
                              def.name, def.service, r.end_ms);
    return out;
  }
  r.remediated_levels.clear();
  for (size_t e = 0; e < def.effects.size(); ++e)
    r.remediated_levels.push_back(EffectLevel(r, e, now_ms));
  r.remediated_ms = now_ms;
  r.end_ms = now_ms + def.recovery_ms;
  out.phase_after = "recovering";
  out.ends_at_ms = r.end_ms;
  std::string undone;
  if ((action == RemediationAction::ROLLBACK || action == RemediationAction::REVERT_CONFIG) &&
      r.deploy_type && r.deployment_sent) {
    std::string description =
        action == RemediationAction::ROLLBACK
            ? fmt::format("Rollback to {} (remediation)", r.previous_version)
            : fmt::format("Revert configuration to {} (remediation)", r.previous_version);
    pending_deploys_.push_back(
        {Index(def.service), *r.deploy_type, r.previous_version, r.version, description});
    undone = fmt::format("; {} goes back from {} to {} at the next tick", def.service, r.version,
                         r.previous_version);
  }
  out.message = fmt::format("{} addresses {} on {} ({}{}): recovering now, back to normal at {}{}",
                            verb, def.name, def.service, cause, deployed, r.end_ms, undone);
  return out;
}

std::vector<ActiveScenarioInfo> Simulator::Active() const {
  std::vector<ActiveScenarioInfo> out;
  for (const auto& r : running_) out.push_back(Describe(r));
  return out;
}

GroundTruth Simulator::MakeTruth(const Running& r, Phase phase, int64_t now_ms) {
  GroundTruth g;
  g.event_id = UuidFromRng(id_rng_);
  g.timestamp = now_ms;
  g.scenario = r.def->name;
  g.phase = phase;
  g.service = r.def->service;
  g.root_cause_service = r.def->root_cause_service;
  g.root_cause_category = r.def->root_cause_category;
  g.trigger_metrics = r.def->TriggerMetrics();
  return g;
}

void Simulator::EmitLog(TickBatch& out, size_t service, LogLevel level, std::string message,
                        int64_t ts_ms) {
  const ServiceState& s = services_[service];
  RawLog l;
  l.event_id = UuidFromRng(id_rng_);
  l.timestamp = ts_ms;
  l.source_service = s.info->name;
  l.level = level;
  l.message = std::move(message);
  l.trace_id = TraceId(text_rng_);
  l.labels = {{"env", "simulation"},
              {"run", run_id_},
              {"pod", s.pods[static_cast<size_t>(
                          UniformInt(text_rng_, 0, static_cast<int64_t>(s.pods.size()) - 1))]}};
  out.logs.push_back(std::move(l));
}

void Simulator::Deploy(size_t service, ChangeType type, const std::string& version,
                       const std::string& previous, const std::string& description, int64_t now_ms,
                       TickBatch& out, bool rollback) {
  ServiceState& s = services_[service];
  RawDeployment d;
  d.event_id = UuidFromRng(id_rng_);
  d.timestamp = now_ms;
  d.source_service = s.info->name;
  d.version = version;
  d.previous_version = previous;
  d.change_type = type;
  d.git_sha = RandomHex(text_rng_, 40);
  d.description = description;
  out.deployments.push_back(std::move(d));
  if (options_.emit_logs)
    EmitLog(out, service, LogLevel::INFO, DeploymentLogLine(s.info->name, version, previous, type),
            now_ms + UniformInt(text_rng_, 1000, 9000));
  Version& v = s.version;
  switch (type) {
    case ChangeType::CONFIG:
      ++v.config_rev;
      v.config = version;
      break;
    case ChangeType::INFRA:
      ++v.infra_rev;
      v.infra = version;
      break;
    case ChangeType::CODE: {
      long long major = 0, minor = 0, patch = 0;
      const char* text = version.c_str() + (version.rfind('v', 0) == 0 ? 1 : 0);
      if (!rollback && std::sscanf(text, "%lld.%lld.%lld", &major, &minor, &patch) == 3) {
        v.major = major;
        v.minor = minor;
        v.patch = patch;
      }
      v.code = version;
      break;
    }
  }
  s.last_deploy_ms = now_ms;
}

void Simulator::RunSchedule(int64_t now_ms, TickBatch& out) {
  if (!options_.random_schedule || now_ms < next_injection_ms_) return;
  std::vector<bool> busy(services_.size(), false);
  for (size_t i = 0; i < services_.size(); ++i)
    busy[i] = now_ms < services_[i].cooldown_until_ms ||
              now_ms - services_[i].last_deploy_ms < kDeployGuardMs;
  for (const auto& r : running_) {
    size_t svc = Index(r.def->service);
    busy[svc] = true;
    if (r.def->cascade)
      for (size_t t : CascadeTargets(svc)) busy[t] = true;
  }
  if (bag_.empty()) {
    for (const auto& def : catalogue_) bag_.push_back(def.name);
    std::shuffle(bag_.begin(), bag_.end(), schedule_rng_);
  }
  auto eligible = [&](const ScenarioDef& def) {
    size_t svc = Index(def.service);
    if (svc >= services_.size() || busy[svc]) return false;
    if (def.cascade)
      for (size_t t : CascadeTargets(svc))
        if (busy[t]) return false;
    return true;
  };
  auto by_name = [&](const std::string& name) {
    return std::find_if(catalogue_.begin(), catalogue_.end(),
                        [&](const ScenarioDef& d) { return d.name == name; });
  };
  // The bag keeps the mix even; when everything left in it is on a busy service, any eligible
  // scenario will do, so the 5–10 minute rhythm holds.
  const ScenarioDef* pick = nullptr;
  auto in_bag = std::find_if(bag_.begin(), bag_.end(), [&](const std::string& name) {
    auto def = by_name(name);
    return def != catalogue_.end() && eligible(*def);
  });
  if (in_bag != bag_.end()) {
    pick = &*by_name(*in_bag);
    bag_.erase(in_bag);
  } else {
    std::vector<const ScenarioDef*> any;
    for (const auto& def : catalogue_)
      if (eligible(def)) any.push_back(&def);
    if (any.empty()) return;  // nothing eligible right now: try again next tick
    pick = any[static_cast<size_t>(
        UniformInt(schedule_rng_, 0, static_cast<int64_t>(any.size()) - 1))];
  }
  if (!Start(std::make_shared<const ScenarioDef>(*pick), now_ms).ok()) return;
  out.scheduled.push_back(pick->name);
  next_injection_ms_ = now_ms + UniformInt(schedule_rng_, 5 * kMinute, 10 * kMinute);
}

void Simulator::MaybeBenignDeployment(int64_t now_ms, TickBatch& out) {
  if (now_ms < next_benign_ms_) return;
  std::vector<size_t> candidates;
  for (size_t i = 0; i < services_.size(); ++i) {
    bool touched = now_ms < services_[i].cooldown_until_ms;
    for (const auto& r : running_) {
      size_t svc = Index(r.def->service);
      if (svc == i) touched = true;
      if (r.def->cascade)
        for (size_t t : CascadeTargets(svc)) touched = touched || t == i;
    }
    if (!touched) candidates.push_back(i);
  }
  if (candidates.empty()) return;  // retried next tick
  size_t svc = candidates[static_cast<size_t>(
      UniformInt(schedule_rng_, 0, static_cast<int64_t>(candidates.size()) - 1))];
  bool code = Uniform(schedule_rng_, 0, 1) < 0.7;
  ChangeType type = code ? ChangeType::CODE : ChangeType::CONFIG;
  auto [version, previous] = NextVersion(svc, type, Uniform(schedule_rng_, 0, 1) < 0.15);
  std::string description =
      code
          ? kBenignCodeChanges[UniformInt(schedule_rng_, 0, std::size(kBenignCodeChanges) - 1)]
          : kBenignConfigChanges[UniformInt(schedule_rng_, 0, std::size(kBenignConfigChanges) - 1)];
  Deploy(svc, type, version, previous, description, now_ms, out);
  if (realistic_) realistic_->OnBenignDeployment(svc, now_ms);
  next_benign_ms_ = now_ms + UniformInt(schedule_rng_, 40 * kMinute, 80 * kMinute);
}

void Simulator::ComputeLevels(int64_t now_ms, std::vector<MetricValues>& levels,
                              std::vector<std::vector<std::string>>& failing_callees,
                              std::vector<std::vector<std::string>>& slow_callees) const {
  const size_t n = services_.size();
  levels.assign(n, MetricValues{});
  for (size_t i = 0; i < n; ++i) levels[i] = normal_[i];
  failing_callees.assign(n, {});
  slow_callees.assign(n, {});

  for (const auto& r : running_) {
    size_t svc = Index(r.def->service);
    for (size_t k = 0; k < r.def->effects.size(); ++k) {
      const MetricEffect& e = r.def->effects[k];
      double intensity = EffectLevel(r, k, now_ms);
      levels[svc][e.metric] += intensity * (e.peak - services_[svc].baseline[e.metric]);
    }
  }
  // Excess over the normal level caused by each service's own scenario: errors in percentage
  // points, latency as a ratio.
  std::vector<double> own_err(n, 0), own_lat(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const auto& base = normal_[i];
    own_err[i] = std::max(0.0, levels[i][kErrorRate] - base[kErrorRate]);
    if (base[kLatencyP99] > 0)
      own_lat[i] = std::max(0.0, levels[i][kLatencyP99] / base[kLatencyP99] - 1.0);
  }

  std::vector<double> add_err(n, 0), add_lat_ratio(n, 0), mild_err(n, 0), mild_lat(n, 0);
  for (const auto& r : running_) {
    size_t origin = Index(r.def->service);
    if (own_err[origin] <= 0 && own_lat[origin] <= 0) continue;
    if (r.def->cascade) {
      // Breadth-first up the callers; each hop passes on a share; a service reached by two
      // paths takes the larger effect.
      struct Hop {
        size_t svc;
        double err, lat;
      };
      std::vector<Hop> frontier{{origin, own_err[origin], own_lat[origin]}};
      while (!frontier.empty()) {
        Hop h = frontier.back();
        frontier.pop_back();
        for (const auto& caller_name : services_[h.svc].info->upstream) {
          size_t c = Index(caller_name);
          if (c >= n || c == origin) continue;
          double err = kCascadeErrorShare * h.err, lat = kCascadeLatencyShare * h.lat;
          if (err > 0.5 || lat > 0.2) {
            auto& f = failing_callees[c];
            if (std::find(f.begin(), f.end(), services_[h.svc].info->name) == f.end())
              f.push_back(services_[h.svc].info->name);
          }
          if (err <= add_err[c] && lat <= add_lat_ratio[c]) continue;
          add_err[c] = std::max(add_err[c], err);
          add_lat_ratio[c] = std::max(add_lat_ratio[c], lat);
          if (err > 0.01 || lat > 0.001) frontier.push_back({c, err, lat});
        }
      }
    } else {
      for (const auto& caller_name : services_[origin].info->upstream) {
        size_t c = Index(caller_name);
        if (c >= n) continue;
        const auto& c_normal = normal_[c];
        const auto& c_sigma = sigma_[c];
        mild_err[c] = std::max(mild_err[c], std::min(kCascadeErrorShare * own_err[origin],
                                                     kMildCouplingSigma * c_sigma[kErrorRate]));
        mild_lat[c] = std::max(
            mild_lat[c], std::min(kCascadeLatencyShare * own_lat[origin] * c_normal[kLatencyP99],
                                  kMildCouplingSigma * c_sigma[kLatencyP99]));
        if (own_lat[origin] > 1.0) slow_callees[c].push_back(services_[origin].info->name);
      }
    }
  }
  for (size_t i = 0; i < n; ++i) {
    levels[i][kErrorRate] += add_err[i] + mild_err[i];
    levels[i][kLatencyP99] = levels[i][kLatencyP99] * (1.0 + add_lat_ratio[i]) + mild_lat[i];
  }
}

void Simulator::EmitScenarioLogs(const Running& r, int64_t now_ms, TickBatch& out) {
  if (now_ms < r.symptoms_ms || now_ms >= r.end_ms) return;
  size_t svc = Index(r.def->service);
  const ScenarioDef& def = *r.def;
  double intensity = RunningIntensity(r, now_ms);
  ServiceState& s = services_[svc];
  LogContext ctx{text_rng_,
                 *s.info,
                 s.last,
                 intensity,
                 r.deploy_type ? r.version : s.version.code,
                 r.deploy_type ? r.previous_version : s.version.code};
  auto ts = [&] { return now_ms + UniformInt(text_rng_, 0, kTickMs - 1); };
  if (def.custom) {
    for (const auto& rule : def.error_logs)
      if (intensity >= rule.min_intensity) EmitLog(out, svc, rule.level, rule.render(ctx), ts());
    return;
  }
  bool young =
      !r.remediated_ms && intensity < 0.3 && now_ms < r.symptoms_ms + def.duration_ms / 2;
  if (young && !def.early_logs.empty() && Uniform(text_rng_, 0, 1) < 0.7) {
    const auto& rule = def.early_logs[static_cast<size_t>(
        UniformInt(text_rng_, 0, static_cast<int64_t>(def.early_logs.size()) - 1))];
    EmitLog(out, svc, rule.level, rule.render(ctx), ts());
  }
  std::vector<const LogRule*> eligible, severe;
  for (const auto& rule : def.error_logs) {
    if (intensity < rule.min_intensity) continue;
    eligible.push_back(&rule);
    if (rule.level >= LogLevel::ERROR) severe.push_back(&rule);
  }
  if (severe.empty()) return;
  int64_t lines = 1 + std::llround(2.0 * intensity);
  for (int64_t i = 0; i < lines; ++i) {
    const auto& pool = i == 0 ? severe : eligible;
    const LogRule* rule =
        pool[static_cast<size_t>(UniformInt(text_rng_, 0, static_cast<int64_t>(pool.size()) - 1))];
    EmitLog(out, svc, rule->level, rule->render(ctx), ts());
  }
}

RawMetric Simulator::MakeMetric(size_t service, size_t metric, double value, int64_t now_ms) {
  RawMetric out;
  out.event_id = UuidFromRng(id_rng_);
  out.timestamp = now_ms;
  out.source_service = services_[service].info->name;
  out.metric_name = MetricName(metric);
  out.metric_value = value;
  out.labels = {{"env", "simulation"}, {"run", run_id_}, {"unit", MetricUnit(metric)}};
  return out;
}

TickBatch Simulator::Tick(int64_t now_ms) {
  TickBatch out;
  out.timestamp_ms = now_ms;
  last_tick_ms_ = now_ms;

  // Retire scenarios whose recovery is complete (their metrics are back to normal this tick).
  for (auto it = running_.begin(); it != running_.end();) {
    if (now_ms < it->end_ms) {
      ++it;
      continue;
    }
    if (!it->start_sent) out.ground_truth.push_back(MakeTruth(*it, Phase::START, it->start_ms));
    out.ground_truth.push_back(MakeTruth(*it, Phase::END, now_ms));
    services_[Index(it->def->service)].cooldown_until_ms = now_ms + kCooldownMs;
    it = running_.erase(it);
  }
  // Rollbacks and config reverts asked for by remediation actions since the last tick.
  for (const auto& p : pending_deploys_)
    Deploy(p.service, p.type, p.version, p.previous, p.description, now_ms, out, /*rollback=*/true);
  pending_deploys_.clear();
  if (now_ms >= options_.live_start_ms) {
    RunSchedule(now_ms, out);
    MaybeBenignDeployment(now_ms, out);
  }
  for (auto& r : running_) {
    if (now_ms < r.start_ms) continue;
    if (r.deploy_type && !r.deployment_sent) {
      Deploy(Index(r.def->service), *r.deploy_type, r.version, r.previous_version,
             r.def->deployment->description, now_ms, out);
      r.deployment_sent = true;
    }
    if (!r.start_sent) {
      out.ground_truth.push_back(MakeTruth(r, Phase::START, now_ms));
      r.start_sent = true;
    }
  }

  if (realistic_) {
    realistic_->Advance(now_ms);
    for (size_t i = 0; i < services_.size(); ++i) {
      normal_[i] = realistic_->normal(i);
      sigma_[i] = realistic_->sigma(i);
    }
  }
  std::vector<MetricValues> levels;
  std::vector<std::vector<std::string>> failing_callees, slow_callees;
  ComputeLevels(now_ms, levels, failing_callees, slow_callees);
  out.metrics.reserve(services_.size() * kMetricCount + late_.size());
  std::vector<RawMetric> late;
  for (size_t i = 0; i < services_.size(); ++i) {
    ServiceState& s = services_[i];
    const double pool = static_cast<double>(s.info->db_pool_size);
    if (!realistic_) {
      for (size_t m = 0; m < kMetricCount; ++m) {
        double rel = s.baseline[m] > 0 ? s.sigma[m] / s.baseline[m] : 0.0;
        double v = levels[i][m] * (1.0 + rel * s.noise[m].Next(noise_rng_));
        v = RoundMetric(m, ClampMetric(m, v, pool));
        s.last[m] = v;
        out.metrics.push_back(MakeMetric(i, m, v, now_ms));
      }
      continue;
    }
    auto samples = realistic_->Samples(i, levels[i]);
    for (size_t m = 0; m < kMetricCount; ++m) {
      double v = RoundMetric(m, ClampMetric(m, samples[m].value, pool));
      s.last[m] = v;
      switch (samples[m].delivery) {
        case RealisticModel::Delivery::kMissing:
          break;
        case RealisticModel::Delivery::kLate:
          late.push_back(MakeMetric(i, m, v, now_ms));
          break;
        case RealisticModel::Delivery::kOnTime:
          out.metrics.push_back(MakeMetric(i, m, v, now_ms));
          break;
      }
    }
  }
  // The previous tick's late samples arrive after this tick's own.
  for (auto& m : late_) out.metrics.push_back(std::move(m));
  late_ = std::move(late);

  if (!options_.emit_logs) return out;
  for (size_t i = 0; i < services_.size(); ++i) {
    ServiceState& s = services_[i];
    const auto& rules = NormalLogs(s.info->name);
    LogContext ctx{text_rng_, *s.info, s.last, 0.0, s.version.code, s.version.code};
    int64_t lines = UniformInt(text_rng_, 3, 5);
    for (int64_t k = 0; k < lines; ++k) {
      const auto& rule = rules[static_cast<size_t>(
          UniformInt(text_rng_, 0, static_cast<int64_t>(rules.size()) - 1))];
      EmitLog(out, i, rule.level, rule.render(ctx), now_ms + UniformInt(text_rng_, 0, kTickMs - 1));
    }
    for (const auto& callee : failing_callees[i]) {
      int64_t n = UniformInt(text_rng_, 1, 2);
      for (int64_t k = 0; k < n; ++k)
        EmitLog(out, i, LogLevel::ERROR,
                CascadeErrorLine(ctx, callee, Uniform(text_rng_, 0, 1) < 0.3),
                now_ms + UniformInt(text_rng_, 0, kTickMs - 1));
    }
    for (const auto& callee : slow_callees[i]) {
      if (Uniform(text_rng_, 0, 1) >= 0.3) continue;
      size_t c = Index(callee);
      EmitLog(out, i, LogLevel::WARN,
              SlowCalleeWarnLine(ctx, callee, std::llround(services_[c].last[kLatencyP99])),
              now_ms + UniformInt(text_rng_, 0, kTickMs - 1));
    }
  }
  for (const auto& r : running_) EmitScenarioLogs(r, now_ms, out);
  std::stable_sort(out.logs.begin(), out.logs.end(),
                   [](const RawLog& a, const RawLog& b) { return a.timestamp < b.timestamp; });
  return out;
}

}  // namespace sre::sim
