#pragma once
// The simulator core: six services' telemetry around their baselines, failure scenarios with
// ramps, cascades along the dependency graph, benign deployments, the random scheduler and
// ground truth. No IO and no clock: Tick(now_ms) is given simulated time (Unix ms) and returns
// that tick's messages. Everything random comes from streams seeded by `seed`, so the same seed,
// start time and sequence of calls give the same events, values and event ids.
// Not thread-safe: the caller serialises Tick, Inject and the accessors (the service holds a
// mutex around it).
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "shared/messages.h"
#include "shared/services.h"
#include "simulator/noise.h"
#include "simulator/profile.h"
#include "simulator/scenarios.h"

namespace sre::sim {

inline constexpr int64_t kTickMs = 10000;
static_assert(kTickMs == realistic::kSampleMs);

struct SimulatorOptions {
  using Profile = sim::Profile;
  uint64_t seed = 1;
  // Where live time begins (after the backfill). Injections never start before it, and the
  // random schedule and benign deployments count from it.
  int64_t live_start_ms = 0;
  bool random_schedule = true;
  int64_t first_injection_ms = 60000;  // after live_start_ms
  // kClean: the original model, bit for bit (every unit test that does not ask for more). The
  // executable defaults to kRealistic (SIM_PROFILE). See profile.h.
  Profile profile = Profile::kClean;
  // false: Tick() produces no raw.logs at all (normal, cascade, scenario and deployment lines),
  // for offline generation and evaluation. Metric values, ground truth and deployments are
  // unaffected (event ids and git shas differ, as fewer ids are drawn).
  bool emit_logs = true;
};

// One tick's output, in publishing order per topic.
struct TickBatch {
  int64_t timestamp_ms = 0;
  // This tick's samples; with the realistic profile some are missing, and the previous tick's
  // late samples follow this tick's (with their own, earlier timestamp).
  std::vector<RawMetric> metrics;
  std::vector<RawLog> logs;
  std::vector<RawDeployment> deployments;
  std::vector<GroundTruth> ground_truth;
  std::vector<std::string> scheduled;  // scenarios the random schedule started this tick
  size_t size() const {
    return metrics.size() + logs.size() + deployments.size() + ground_truth.size();
  }
};

struct ActiveScenarioInfo {
  std::string name, service;
  bool custom = false;
  int64_t started_at_ms = 0;      // ground truth START: the deployment, or the first symptom
  int64_t symptoms_start_ms = 0;  // when the metrics begin to move
  int64_t ends_at_ms = 0;         // ground truth END: recovery complete
  double progress = 0;            // 0..1 over [started_at_ms, ends_at_ms], as of the last tick
  std::string phase;              // "deploying", "ramping", "holding", "recovering"
  std::optional<std::string> deployment_version;
  // When a remediation action (ApplyAction) started the recovery early; ends_at_ms moved with it.
  std::optional<int64_t> remediated_at_ms;
  bool cascade = false;
  // The service, then (when the scenario cascades) the callers it reaches, transitively.
  std::vector<std::string> affected_services;
  std::shared_ptr<const ScenarioDef> def;  // the definition (effects, triggers, ground truth)
};

// What ApplyAction did. Without an active scenario on the service, `scenario` is empty and the
// phases are empty strings.
struct ActionResult {
  bool matched = false;  // the action fits the scenario's cause: it recovers from now on
  std::optional<std::string> scenario;
  std::string phase_before, phase_after;  // as in ActiveScenarioInfo::phase
  std::optional<int64_t> ends_at_ms;      // the scenario's ground-truth END, after the action
  std::string message;                    // one sentence for people and logs
};

struct InjectResult {
  enum class Error { kNone, kUnknownScenario, kServiceBusy };
  Error error = Error::kNone;
  std::string message;
  ActiveScenarioInfo active;
  bool ok() const { return error == Error::kNone; }
};

class Simulator {
 public:
  Simulator(ServiceCatalog catalog, SimulatorOptions options);
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Produces the telemetry for simulated time `now_ms` (callers advance it by kTickMs). Starts
  // scheduled scenarios and benign deployments that are due, publishes ground truth, and retires
  // scenarios whose recovery is complete.
  TickBatch Tick(int64_t now_ms);

  // Starts a catalogue scenario at the next tick (never before live_start_ms). Fails with
  // kUnknownScenario, or kServiceBusy when its service already has an active scenario.
  InjectResult Inject(const std::string& name);
  // Starts a custom scenario (already validated, see custom_scenario.h) the same way.
  InjectResult InjectCustom(ScenarioDef def);

  // A remediation action on `service` at simulated time `now_ms` (the caller passes the last
  // tick's time). It matches the active scenario whose own service (else whose root-cause
  // service) is `service` when ActionFixes(action, def) and, for a rollback given a
  // `deployment_version` (empty counts as not given), that version is the scenario's deployed
  // one. A match starts the recovery at once: ends_at_ms becomes now_ms + def.recovery_ms and
  // every effect falls from its intensity at now_ms to 0 over that window (the recovery curve
  // of ramp.h), so the metrics never jump; ground truth END comes at the new end as usual. A
  // rollback or revert_config also publishes, at the next tick, a deployment back to the
  // previous version (which becomes current). Everything else changes nothing at all (no
  // random draw either): an action that does not fit, a service without an active scenario
  // (or only a cascade caller of one), a scenario not yet started or already recovering, and
  // `undo` (the remediation agent undoing its own action).
  ActionResult ApplyAction(RemediationAction action, const std::string& service,
                           const std::optional<std::string>& deployment_version, bool undo,
                           int64_t now_ms);
  // The intensity (0..1, the largest of its effects) at `t_ms` of the active scenario on
  // `service`, as the metrics follow it; nullopt when none is active there.
  std::optional<double> ActiveIntensity(const std::string& service, int64_t t_ms) const;

  const std::vector<ScenarioDef>& catalogue() const { return catalogue_; }
  const ServiceCatalog& services() const { return catalog_; }
  std::vector<ActiveScenarioInfo> Active() const;
  // -1 before the first tick.
  int64_t last_tick_ms() const { return last_tick_ms_; }
  // The simulated time the next injection starts at.
  int64_t NextStartMs() const;
  // The next random injection (-1 when the schedule is off).
  int64_t next_injection_ms() const { return options_.random_schedule ? next_injection_ms_ : -1; }
  const SimulatorOptions& options() const { return options_; }
  // A short id of this run (from seed and start), in every metric's and log's labels["run"].
  const std::string& run_id() const { return run_id_; }
  // The service's current version (changes with every deployment).
  std::string CurrentVersion(const std::string& service) const;

  // Services are indexed in catalogue order (services().services()[i]).
  size_t service_count() const { return services_.size(); }
  std::optional<size_t> ServiceIndex(const std::string& service) const;
  // As of the last tick (the catalogue baseline before the first): the level the metric would
  // have without any injected scenario, every benign effect of the profile included, noise and
  // spikes excluded. Clean: the catalogue baseline.
  double NormalLevel(size_t service, size_t metric) const { return normal_[service][metric]; }
  // The noise standard deviation of that normal level at the last tick: noise x NormalLevel
  // (for the realistic error_rate, combined with the binomial spread of k errors out of n
  // requests). The noise is multiplicative, so during a scenario the value's spread grows with
  // the displaced level, as it always has.
  double NoiseSigma(size_t service, size_t metric) const { return sigma_[service][metric]; }
  // The realistic model (null for the clean profile), for tests and evaluation.
  const RealisticModel* realistic() const { return realistic_.get(); }

  // Cascade factors: a caller's error rate rises by kCascadeErrorShare of its callee's excess
  // (percentage points) and its p99 by kCascadeLatencyShare of the callee's relative excess, per
  // hop, when the scenario cascades. Without cascade only direct callers move, by at most
  // kMildCouplingSigma of their own noise (invisible to a detector).
  static constexpr double kCascadeErrorShare = 0.5;
  static constexpr double kCascadeLatencyShare = 0.4;
  static constexpr double kMildCouplingSigma = 0.3;
  static constexpr int64_t kCooldownMs = 3 * 60 * 1000;      // random schedule: quiet after an end
  static constexpr int64_t kDeployGuardMs = 30 * 60 * 1000;  // ... and after a benign deployment

 private:
  // A service's deployed versions: semantic for code, a revision for configuration.
  struct Version {
    int64_t major = 1, minor = 0, patch = 0, config_rev = 100, infra_rev = 1;
    std::string code, config, infra;  // current version strings
  };
  struct ServiceState {
    const ServiceInfo* info = nullptr;
    std::array<NoiseProcess, kMetricCount> noise;
    MetricValues baseline{}, sigma{}, last{};
    std::vector<std::string> pods;
    Version version;
    int64_t last_deploy_ms = INT64_MIN / 2;
    int64_t cooldown_until_ms = INT64_MIN / 2;
  };
  struct Running {
    std::shared_ptr<const ScenarioDef> def;
    int64_t start_ms = 0, symptoms_ms = 0, end_ms = 0;
    std::optional<ChangeType> deploy_type;
    std::string version, previous_version;  // of the scenario's deployment
    bool deployment_sent = false, start_sent = false;
    // Set by a matching remediation action: the recovery starts here, from each effect's
    // intensity at that moment (remediated_levels, in def->effects order).
    std::optional<int64_t> remediated_ms;
    std::vector<double> remediated_levels;
  };
  // A rollback (or config revert) an action asked for, published at the next tick.
  struct PendingDeploy {
    size_t service = 0;
    ChangeType type = ChangeType::CODE;
    std::string version, previous, description;
  };

  InjectResult Start(std::shared_ptr<const ScenarioDef> def, int64_t at_ms);
  ActiveScenarioInfo Describe(const Running& r) const;
  // The phase of `r` at `t_ms` ("starting" when its first tick is still to come).
  std::string PhaseAt(const Running& r, int64_t t_ms) const;
  // The intensity of r's effect `e` at t_ms, following a remediation once there is one.
  double EffectLevel(const Running& r, size_t e, int64_t t_ms) const;
  double RunningIntensity(const Running& r, int64_t t_ms) const;
  size_t Index(const std::string& service) const;
  bool ServiceActive(const std::string& service, int64_t at_ms) const;
  // Services reached by cascading from `service` (its callers, transitively).
  std::vector<size_t> CascadeTargets(size_t service) const;
  void RunSchedule(int64_t now_ms, TickBatch& out);
  void MaybeBenignDeployment(int64_t now_ms, TickBatch& out);
  // Levels per service: normal_ plus the scenarios' effects and cascades.
  void ComputeLevels(int64_t now_ms, std::vector<MetricValues>& levels,
                     std::vector<std::vector<std::string>>& failing_callees,
                     std::vector<std::vector<std::string>>& slow_callees) const;
  // Publishes a deployment (and the service's log line about it) and makes `version` current.
  // `rollback`: a CODE version goes back without rewinding the release counter, so the next
  // release is numbered past the one rolled back.
  void Deploy(size_t service, ChangeType type, const std::string& version,
              const std::string& previous, const std::string& description, int64_t now_ms,
              TickBatch& out, bool rollback = false);
  // The next version string for a change of `type` on `service`, and the current one.
  std::pair<std::string, std::string> NextVersion(size_t service, ChangeType type,
                                                  bool minor_bump) const;
  void EmitLog(TickBatch& out, size_t service, LogLevel level, std::string message, int64_t ts_ms);
  RawMetric MakeMetric(size_t service, size_t metric, double value, int64_t now_ms);
  void EmitScenarioLogs(const Running& r, int64_t now_ms, TickBatch& out);
  GroundTruth MakeTruth(const Running& r, Phase phase, int64_t now_ms);

  ServiceCatalog catalog_;
  SimulatorOptions options_;
  std::vector<ScenarioDef> catalogue_;
  std::vector<ServiceState> services_;
  std::vector<Running> running_;
  std::vector<PendingDeploy> pending_deploys_;
  std::vector<std::string> bag_;  // the random schedule draws without replacement, refilled
  std::mt19937_64 noise_rng_, id_rng_, text_rng_, schedule_rng_;
  std::unique_ptr<RealisticModel> realistic_;
  std::vector<MetricValues> normal_, sigma_;  // see NormalLevel, NoiseSigma
  std::vector<RawMetric> late_;               // realistic: samples held for the next tick
  std::string run_id_;
  int64_t last_tick_ms_ = -1;
  int64_t next_injection_ms_ = 0;
  int64_t next_benign_ms_ = 0;
};

}  // namespace sre::sim
