#pragma once
// Offline telemetry (issue 16): `sre-simulator generate` drives the core tick by tick as fast as
// it goes (no broker, no HTTP, no wall clock) and writes JSON lines. The pieces are reusable by
// an in-process evaluator, which drives a Simulator itself:
//   - PlanInjections / ApplyDueInjections: the injection schedule and its application per tick;
//   - EpisodeTracker: labels every scenario with when its trigger metrics first left the normal
//     band (3 noise sigmas from NormalLevel, in the scenario's direction);
//   - Generate: the whole file (GenerateCommand: the command line around it).
// Output lines (one JSON object each, in event-time order per tick, like the live service's
// release queue would publish them):
//   {"topic":"raw.metrics", ...the raw.metrics payload as published}
//   {"topic":"raw.deployments", ...}  {"topic":"raw.logs", ...} (only with --logs)
//   {"topic":"sim.ground_truth", ...}
//   {"topic":"eval.episode", ...ToJson(LabelledEpisode)} after the tick that ends a scenario
#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "shared/json_codec.h"
#include "shared/services.h"
#include "shared/status.h"
#include "simulator/simulator.h"

namespace sre::sim {

inline constexpr int64_t kGenerateDefaultStartMs = 1767225600000;  // 2026-01-01T00:00Z, Thursday
// Injection plan: none in the first 2 h (baselines are warm), at least 2 h apart, each starting
// at least 2 h before the end (every scenario, deployment lead included, lasts under 11 min).
inline constexpr int64_t kPlanWarmupMs = 2 * 3600 * 1000;
inline constexpr int64_t kPlanSpacingMs = 2 * 3600 * 1000;
// The share of injections that are random custom scenarios (the rest cycle the catalogue).
inline constexpr double kPlanCustomShare = 1.0 / 3.0;

struct PlannedInjection {
  int64_t at_ms = 0;     // the tick it is due at (a whole number of ticks after the start)
  std::string scenario;  // the catalogue scenario's name, or the custom scenario's
  std::optional<ScenarioDef> custom;  // set for a custom scenario (validated by the custom path)
};

// How many injections fit in a run of `duration_ms` under the rules above (0 below 4 h).
int MaxInjections(int64_t duration_ms);
// About two per simulated day (at least one when one fits), at most MaxInjections.
int DefaultInjections(int64_t duration_ms);

// The schedule of `k` injections (at most MaxInjections) for a run of `duration_ms` from
// `start_ms`: the window after the warm-up is cut into k equal slots and each injection falls
// uniformly in its slot where the spacing allows. Catalogue scenarios cycle through all eleven
// (in a shuffled order, reshuffled each round) before any repeats; about kPlanCustomShare are
// random custom scenarios (RandomCustomScenarioBody) instead. A pure function of its arguments
// (`sim` only lends its catalogue and service list), sorted by time.
std::vector<PlannedInjection> PlanInjections(uint64_t seed, int64_t start_ms, int64_t duration_ms,
                                             int k, const Simulator& sim);

// A custom scenario definition (the JSON POST /api/scenarios takes) named GEN_<index>_<METRIC> on
// a random service and metric: one effect whose peak is clearly abnormal but plausible (see
// docs/simulator.md, "generate"), a random shape and duration (3–8 min), sometimes a preceding
// CODE deployment or a cascade.
std::string RandomCustomScenarioBody(std::mt19937_64& rng, int index,
                                     const ServiceCatalog& services);

// Starts, in order, every planned injection from plan[next] on that is due at `now_ms`
// (at_ms <= now_ms) and advances `next` past it; call before sim.Tick(now_ms), so it starts at
// that tick. An injection whose service is busy is retried at the next tick (and later ones
// wait behind it). Returns the attempts made (an unknown scenario is skipped with its error).
std::vector<InjectResult> ApplyDueInjections(Simulator& sim,
                                             const std::vector<PlannedInjection>& plan,
                                             size_t& next, int64_t now_ms);

struct LabelledEpisode {
  std::string scenario, service, root_cause_service;
  std::string root_cause_category;
  bool custom = false;
  std::vector<std::string> affected_services, trigger_metrics;
  int64_t start_ms = 0;           // ground truth START (the deployment when there is one)
  int64_t symptoms_start_ms = 0;  // when the metrics begin to move
  int64_t end_ms = 0;             // ground truth END
  // "<service>/<metric>" for each affected service x trigger metric: the first sample timestamp
  // in [start_ms, end_ms] with (value - NormalLevel) * direction >= 3 NoiseSigma, or nullopt.
  std::map<std::string, std::optional<int64_t>> crossed_3sigma_ms;
};

// {"scenario":...,"custom":...,"service":...,"root_cause_service":...,"root_cause_category":...,
//  "affected_services":[...],"trigger_metrics":[...],"start_ms":...,"symptoms_start_ms":...,
//  "end_ms":...,"crossed_3sigma_ms":{"<service>/<metric>": ts or null}}
// (Generate writes it as {"topic":"eval.episode", ...these members}.)
Json ToJson(const LabelledEpisode& episode);

// Labels scenarios from a simulator's ticks: give it every tick's batch, right after Tick.
// A scenario's direction per trigger metric is the sign of its effect (peak - baseline) on its
// own service, and up for the callers a cascade reaches. Late samples are judged against the
// normal level and sigma of their own tick.
class EpisodeTracker {
 public:
  void Observe(const Simulator& sim, const TickBatch& batch);
  // The episodes whose END has been observed since the last call, in END order.
  std::vector<LabelledEpisode> TakeFinished();
  size_t open() const { return open_.size(); }

 private:
  struct Watch {
    size_t service, metric;
    double direction;
    std::string key;
  };
  struct Open {
    LabelledEpisode episode;
    std::vector<Watch> watches;
  };
  void Judge(const Simulator& sim, const RawMetric& m, int64_t tick_ms);

  std::vector<Open> open_;
  std::vector<LabelledEpisode> finished_;
  int64_t previous_ms_ = -1;
  std::vector<MetricValues> previous_normal_, previous_sigma_;
};

struct GenerateOptions {
  int64_t duration_ms = 86400000;  // whole ticks
  int scenarios = -1;              // -1: DefaultInjections(duration_ms)
  uint64_t seed = 1;
  int64_t start_ms = kGenerateDefaultStartMs;
  Profile profile = Profile::kRealistic;
  bool logs = false;
};

struct GenerateSummary {
  int64_t ticks = 0, lines = 0, metrics = 0, ground_truth = 0, episodes = 0;
  int injections = 0;  // planned
};

// Writes the run to `out` (random schedule off; logs only with options.logs). Invalid when
// options.scenarios exceeds MaxInjections, or the duration is under one tick.
Expected<GenerateSummary> Generate(const ServiceCatalog& catalog, const GenerateOptions& options,
                                   std::ostream& out);

// The command line: `sre-simulator generate --days N --out FILE.jsonl [--scenarios K]
// [--seed S] [--start-ms T] [--profile realistic|clean] [--logs]` (also --name=value).
struct GenerateCommandLine {
  GenerateOptions options;
  std::string out_path;
  bool help = false;
};
Expected<GenerateCommandLine> ParseGenerateArgs(const std::vector<std::string>& args);
std::string GenerateUsage();

// Runs `generate` with the arguments after the word itself: usage on --help (exit 0), a clear
// message on `err` and exit 2 for bad arguments or an unwritable file, 1 when writing fails;
// a one-line summary (lines, ticks, episodes, seconds) on `err` at the end.
int GenerateCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace sre::sim
