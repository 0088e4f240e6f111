// sre-eval-detection (make eval-detection): the detection core over simulated weeks, scored
// against the injected failures. Drives the simulator core and the detection core in process (no
// broker, no Redis: the same Observe() the agent runs), with the injection plan and episode
// labels of `sre-simulator generate`, so the figures are those of
// `sre-detection backtest --labelled` on a generated file of the same seed.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <string>

#include "agents/detection/detector.h"
#include "agents/detection/evaluation.h"
#include "agents/detection/settings.h"
#include "shared/services.h"
#include "simulator/generate.h"
#include "simulator/simulator.h"

namespace {

constexpr const char* kHelp = R"(Usage: sre-eval-detection [--days N] [--profile realistic|clean|both] [--seed S]
                          [--scenarios K] [--config PATH] [--md FILE] [--json FILE]

Runs the detection core over N simulated days (default 30) of all six services' seven metrics,
with K failures (default: about two a day; the eleven catalogue scenarios in turn and random
custom ones on other services and metrics) injected at random times, and prints a scorecard:
false raises per day, precision, recall, and the delay from a failure's 3-sigma crossing to its
first raise, against the targets of issue 16. --profile both (the default) scores realistic and
clean. Exit status 3 when a target is missed.
)";

struct Options {
  int days = 30;
  std::string profile = "both";
  uint64_t seed = 16;
  int scenarios = -1;
  std::string config, md, json;
};

sre::detection::Scorecard Run(const Options& o, sre::sim::Profile profile, const sre::ServiceCatalog& catalog,
                              const sre::detection::DetectionSettings& settings, double& seconds) {
  auto started = std::chrono::steady_clock::now();
  sre::sim::SimulatorOptions so;
  so.seed = o.seed;
  so.live_start_ms = sre::sim::kGenerateDefaultStartMs;
  so.random_schedule = false;
  so.profile = profile;
  so.emit_logs = false;
  sre::sim::Simulator sim(catalog, so);
  const int64_t start = so.live_start_ms, duration = static_cast<int64_t>(o.days) * 86400000;
  int k = o.scenarios >= 0 ? std::min(o.scenarios, sre::sim::MaxInjections(duration))
                           : sre::sim::DefaultInjections(duration);
  auto plan = sre::sim::PlanInjections(o.seed, start, duration, k, sim);
  size_t next = 0;
  sre::sim::EpisodeTracker tracker;
  std::map<std::string, sre::detection::SeriesState> states;
  std::vector<sre::detection::Raise> raises;
  std::vector<sre::detection::LabelledFailure> failures;
  auto collect = [&] {
    for (const auto& e : tracker.TakeFinished())
      if (auto f = sre::detection::ParseLabelledFailure(sre::sim::ToJson(e)); f.ok()) failures.push_back(std::move(*f));
  };
  for (int64_t t = start; t < start + duration; t += sre::sim::kTickMs) {
    sre::sim::ApplyDueInjections(sim, plan, next, t);
    auto batch = sim.Tick(t);
    tracker.Observe(sim, batch);
    for (const auto& m : batch.metrics) {
      auto v = sre::detection::Observe(states[m.source_service + "/" + m.metric_name], m.timestamp, m.metric_value,
                                       settings.For(m.metric_name));
      if (v.kind == sre::detection::VerdictKind::kRaise)
        raises.push_back({m.source_service, m.metric_name, m.timestamp, v.score});
    }
    collect();
  }
  collect();
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return sre::detection::ScoreRaises(raises, failures, static_cast<double>(o.days), static_cast<int>(states.size()));
}

bool MeetsTargets(const sre::detection::Scorecard& s, bool clean) {
  bool false_ok = clean ? s.false_raises == 0 : s.false_per_day() <= 1.0;
  bool delay_ok = !s.median_delay_samples || *s.median_delay_samples <= 3.0;
  return false_ok && s.detected == static_cast<int>(s.failures.size()) && delay_ok;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (const char* env = std::getenv("DETECTION_CONFIG")) o.config = env;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "sre-eval-detection: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (a == "--help" || a == "-h") {
        std::cout << kHelp;
        return 0;
      } else if (a == "--days") {
        o.days = std::stoi(next());
      } else if (a == "--profile") {
        o.profile = next();
      } else if (a == "--seed") {
        o.seed = std::stoull(next());
      } else if (a == "--scenarios") {
        o.scenarios = std::stoi(next());
      } else if (a == "--config") {
        o.config = next();
      } else if (a == "--md") {
        o.md = next();
      } else if (a == "--json") {
        o.json = next();
      } else {
        std::cerr << "sre-eval-detection: unknown argument '" << a << "' (see --help)\n";
        return 2;
      }
    } catch (const std::exception&) {
      std::cerr << "sre-eval-detection: " << a << ": not a number\n";
      return 2;
    }
  }
  if (o.days < 1 || o.days > 366) {
    std::cerr << "sre-eval-detection: --days must be 1..366\n";
    return 2;
  }
  if (o.profile != "both" && o.profile != "realistic" && o.profile != "clean") {
    std::cerr << "sre-eval-detection: --profile must be realistic, clean or both\n";
    return 2;
  }
  auto settings = sre::detection::DetectionSettings::Load(o.config.empty() ? sre::detection::DefaultSettingsPath() : o.config);
  if (!settings.ok()) {
    std::cerr << "sre-eval-detection: " << settings.status().message() << "\n";
    return 2;
  }
  auto catalog = sre::ServiceCatalog::Load(sre::KnowledgeDir() + "/architecture/services.json");
  if (!catalog.ok()) {
    std::cerr << "sre-eval-detection: " << catalog.status().message() << "\n";
    return 2;
  }
  std::string md = "# Detection scorecard\n\n";
  sre::Json json = sre::Json::object();
  bool ok = true;
  for (auto [name, profile] : {std::pair{"realistic", sre::sim::Profile::kRealistic},
                               std::pair{"clean", sre::sim::Profile::kClean}}) {
    if (o.profile != "both" && o.profile != name) continue;
    double seconds = 0;
    auto card = Run(o, profile, *catalog, *settings, seconds);
    bool met = MeetsTargets(card, profile == sre::sim::Profile::kClean);
    ok = ok && met;
    char timing[160];
    std::snprintf(timing, sizeof(timing), "\n%s profile, seed %llu: %.1f s of CPU for %d simulated days; targets %s.\n\n",
                  name, static_cast<unsigned long long>(o.seed), seconds, o.days, met ? "met" : "MISSED");
    md += sre::detection::FormatScorecard(card, std::string("Profile ") + name + (profile == sre::sim::Profile::kClean
                                                                                       ? " (target: no false raise)"
                                                                                       : "")) +
          timing;
    json[name] = sre::detection::ScorecardJson(card);
    json[name]["targets_met"] = met;
  }
  std::cout << md;
  if (!o.md.empty()) std::ofstream(o.md) << md;
  if (!o.json.empty()) std::ofstream(o.json) << json.dump(2) << "\n";
  return ok ? 0 : 3;
}
