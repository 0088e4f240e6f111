#include "simulator/generate.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <ostream>

#include "simulator/custom_scenario.h"
#include "simulator/service.h"

namespace sre::sim {
namespace {

constexpr int64_t kDayMs = realistic::kDayMs;

std::mt19937_64 PlanStream(uint64_t seed) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    0x706c616eu /* "plan" */};
  return std::mt19937_64(seq);
}

RootCauseCategory CategoryFor(size_t metric) {
  switch (metric) {
    case kRequestRate:
      return RootCauseCategory::TRAFFIC_SURGE;
    case kErrorRate:
      return RootCauseCategory::APPLICATION_BUG;
    case kCpuPercent:
      return RootCauseCategory::CPU_EXHAUSTION;
    case kMemoryPercent:
      return RootCauseCategory::RESOURCE_LEAK;
    case kConsumerLag:
      return RootCauseCategory::CONSUMER_STALL;
    default:  // latency, db_connections
      return RootCauseCategory::DATABASE_BOTTLENECK;
  }
}

// Whole multiples of `step` in [lo, hi].
double Steps(std::mt19937_64& rng, double lo, double hi, double step) {
  return static_cast<double>(UniformInt(rng, std::llround(lo / step), std::llround(hi / step))) *
         step;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

int MaxInjections(int64_t duration_ms) {
  int64_t window = duration_ms - kPlanWarmupMs;
  if (window < kPlanSpacingMs) return 0;
  return static_cast<int>(std::min<int64_t>(window / kPlanSpacingMs, 1000000));
}

int DefaultInjections(int64_t duration_ms) {
  int max = MaxInjections(duration_ms);
  if (max == 0) return 0;
  int64_t two_per_day = std::llround(2.0 * static_cast<double>(duration_ms) / kDayMs);
  return static_cast<int>(std::clamp<int64_t>(two_per_day, 1, max));
}

std::string RandomCustomScenarioBody(std::mt19937_64& rng, int index,
                                     const ServiceCatalog& services) {
  const auto& all = services.services();
  const ServiceInfo& svc =
      all[static_cast<size_t>(UniformInt(rng, 0, static_cast<int64_t>(all.size()) - 1))];
  const size_t metric = static_cast<size_t>(UniformInt(rng, 0, kMetricCount - 1));
  const double base = svc.baseline.at(MetricName(metric));
  const double pool = static_cast<double>(svc.db_pool_size);
  const double max = MetricMax(metric, pool);
  // Every draw is made whatever the metric, so each scenario consumes the same amount.
  const double factor = Uniform(rng, 3, 8);         // excess, x baseline (unbounded metrics)
  const double surge = Uniform(rng, 1.5, 3.0);      // request_rate excess, x baseline
  const double drop = Uniform(rng, 0.10, 0.35);     // request_rate drop to this share
  const double headroom = Uniform(rng, 0.4, 0.85);  // bounded metrics: share of the headroom
  const bool down = Uniform(rng, 0, 1) < 1.0 / 3.0;
  double peak = 0;
  switch (metric) {
    case kRequestRate:
      peak = down ? base * drop : base * (1 + surge);
      break;
    case kCpuPercent:
    case kMemoryPercent:
      peak = base + headroom * (98.0 - base);
      break;
    case kDbConnections:
      peak = base + (0.5 + 0.5 * (headroom - 0.4) / 0.45) * (pool - base);
      break;
    default:  // error_rate, latency_p99_ms, kafka_consumer_lag
      peak = base * (1 + factor);
      break;
  }
  peak = std::clamp(std::round(peak * 100.0) / 100.0, 0.0, max);

  static constexpr const char* kShapes[] = {"linear", "exponential", "sigmoid"};
  const std::string shape = kShapes[UniformInt(rng, 0, 2)];
  const double duration_s = Steps(rng, 180, 480, 10);
  const double ramp_s = Steps(rng, 0.3 * duration_s, 0.5 * duration_s, 10);
  const bool with_deployment = Uniform(rng, 0, 1) < 0.25;
  const double lead_s = Steps(rng, 60, 120, 10);
  const bool cascade_draw = Uniform(rng, 0, 1) < 0.3;
  const bool cascade = cascade_draw && (metric == kErrorRate || metric == kLatencyP99);

  const std::string name = fmt::format("GEN_{:02}_{}", index, Upper(MetricName(metric)));
  Json body = {
      {"name", name},
      {"description", fmt::format("Generated scenario: {} of {} moves to {} {}", MetricName(metric),
                                  svc.name, peak, MetricUnit(metric))},
      {"service", svc.name},
      {"duration_s", duration_s},
      {"metrics", Json::array({{{"metric", MetricName(metric)},
                                {"peak", peak},
                                {"shape", shape},
                                {"ramp_s", ramp_s}}})},
      {"logs",
       Json::array({{{"level", "ERROR"},
                     {"message", fmt::format("{}: {} abnormal ({}, generated scenario {})",
                                             svc.name, MetricName(metric), shape, name)}}})},
      {"cascade", cascade},
      {"ground_truth",
       {{"root_cause_service", svc.name},
        {"root_cause_category",
         std::string(ToString(with_deployment ? RootCauseCategory::CONFIGURATION_ERROR
                                              : CategoryFor(metric)))}}}};
  if (with_deployment)
    body["deployment"] = {{"change_type", "CONFIG"},
                          {"version", fmt::format("config-gen-{}", index)},
                          {"description", "Generated configuration change before " + name},
                          {"lead_s", lead_s}};
  return body.dump();
}

std::vector<PlannedInjection> PlanInjections(uint64_t seed, int64_t start_ms, int64_t duration_ms,
                                             int k, const Simulator& sim) {
  std::vector<PlannedInjection> plan;
  k = std::min(k, MaxInjections(duration_ms));
  if (k <= 0) return plan;
  std::mt19937_64 rng = PlanStream(seed);
  std::vector<std::string> reserved;
  for (const auto& def : sim.catalogue()) reserved.push_back(def.name);
  std::vector<std::string> round;  // what is left of the current catalogue round

  const int64_t window_ticks = (duration_ms - kPlanWarmupMs) / kTickMs;
  const int64_t slot_ticks = window_ticks / k;
  const int64_t spacing_ticks = kPlanSpacingMs / kTickMs;
  for (int i = 0; i < k; ++i) {
    PlannedInjection p;
    int64_t offset = i * slot_ticks + UniformInt(rng, 0, slot_ticks - spacing_ticks);
    p.at_ms = start_ms + kPlanWarmupMs + offset * kTickMs;
    bool custom = Uniform(rng, 0, 1) < kPlanCustomShare;
    std::string body = RandomCustomScenarioBody(rng, i + 1, sim.services());
    if (custom) {
      CustomScenarioResult r = ParseCustomScenario(body, sim.services(), reserved);
      if (r.ok()) {
        r.scenario->custom = true;
        p.scenario = r.scenario->name;
        p.custom = std::move(r.scenario);
      }
    }
    if (!p.custom) {
      if (round.empty()) {
        round = reserved;
        std::shuffle(round.begin(), round.end(), rng);
      }
      p.scenario = round.front();
      round.erase(round.begin());
    }
    plan.push_back(std::move(p));
  }
  return plan;
}

std::vector<InjectResult> ApplyDueInjections(Simulator& sim,
                                             const std::vector<PlannedInjection>& plan,
                                             size_t& next, int64_t now_ms) {
  std::vector<InjectResult> out;
  while (next < plan.size() && plan[next].at_ms <= now_ms) {
    const PlannedInjection& p = plan[next];
    InjectResult r = p.custom ? sim.InjectCustom(*p.custom) : sim.Inject(p.scenario);
    if (r.error == InjectResult::Error::kServiceBusy) break;  // retried at the next tick
    out.push_back(std::move(r));
    ++next;
  }
  return out;
}

Json ToJson(const LabelledEpisode& e) {
  Json crossed = Json::object();
  for (const auto& [key, ts] : e.crossed_3sigma_ms) crossed[key] = ts ? Json(*ts) : Json();
  return {{"scenario", e.scenario},
          {"custom", e.custom},
          {"service", e.service},
          {"root_cause_service", e.root_cause_service},
          {"root_cause_category", e.root_cause_category},
          {"affected_services", e.affected_services},
          {"trigger_metrics", e.trigger_metrics},
          {"start_ms", e.start_ms},
          {"symptoms_start_ms", e.symptoms_start_ms},
          {"end_ms", e.end_ms},
          {"crossed_3sigma_ms", crossed}};
}

void EpisodeTracker::Judge(const Simulator& sim, const RawMetric& m, int64_t tick_ms) {
  std::optional<size_t> svc;
  for (auto& o : open_) {
    if (m.timestamp < o.episode.start_ms || m.timestamp > o.episode.end_ms) continue;
    for (const Watch& w : o.watches) {
      if (m.metric_name != MetricName(w.metric)) continue;
      if (!svc) svc = sim.ServiceIndex(m.source_service);
      if (!svc || *svc != w.service) continue;
      double level = 0, sd = 0;
      if (m.timestamp == tick_ms) {
        level = sim.NormalLevel(w.service, w.metric);
        sd = sim.NoiseSigma(w.service, w.metric);
      } else if (m.timestamp == previous_ms_ && w.service < previous_normal_.size()) {
        level = previous_normal_[w.service][w.metric];  // a late sample of the previous tick
        sd = previous_sigma_[w.service][w.metric];
      } else {
        continue;
      }
      if ((m.metric_value - level) * w.direction < 3.0 * sd) continue;
      auto& crossed = o.episode.crossed_3sigma_ms[w.key];
      if (!crossed || m.timestamp < *crossed) crossed = m.timestamp;
    }
  }
}

void EpisodeTracker::Observe(const Simulator& sim, const TickBatch& batch) {
  for (const auto& g : batch.ground_truth) {
    if (g.phase != Phase::START) continue;
    Open o;
    LabelledEpisode& e = o.episode;
    e.scenario = g.scenario;
    e.service = g.service;
    e.root_cause_service = g.root_cause_service;
    e.root_cause_category = std::string(ToString(g.root_cause_category));
    e.trigger_metrics = g.trigger_metrics;
    e.start_ms = e.symptoms_start_ms = e.end_ms = g.timestamp;
    e.affected_services = {g.service};
    std::shared_ptr<const ScenarioDef> def;
    for (const auto& a : sim.Active())
      if (a.name == g.scenario && a.service == g.service && a.started_at_ms == g.timestamp) {
        e.custom = a.custom;
        e.symptoms_start_ms = a.symptoms_start_ms;
        e.end_ms = a.ends_at_ms;
        e.affected_services = a.affected_services;
        def = a.def;
      }
    for (const auto& service : e.affected_services) {
      auto svc = sim.ServiceIndex(service);
      if (!svc) continue;
      for (const auto& metric_name : e.trigger_metrics) {
        auto metric = FindMetric(metric_name);
        if (!metric) continue;
        double direction = 1;
        if (def && service == def->service) {
          for (const auto& effect : def->effects)
            if (effect.metric == *metric) {
              const auto* info = sim.services().Find(service);
              double base = info ? info->baseline.at(MetricName(*metric)) : 0.0;
              direction = effect.peak < base ? -1.0 : 1.0;
              break;
            }
        }
        std::string key = service + "/" + metric_name;
        e.crossed_3sigma_ms[key] = std::nullopt;
        o.watches.push_back({*svc, *metric, direction, key});
      }
    }
    open_.push_back(std::move(o));
  }
  for (const auto& m : batch.metrics) Judge(sim, m, batch.timestamp_ms);
  for (const auto& g : batch.ground_truth) {
    if (g.phase != Phase::END) continue;
    auto it = std::find_if(open_.begin(), open_.end(), [&](const Open& o) {
      return o.episode.scenario == g.scenario && o.episode.service == g.service;
    });
    if (it == open_.end()) continue;
    it->episode.end_ms = g.timestamp;
    finished_.push_back(std::move(it->episode));
    open_.erase(it);
  }
  previous_ms_ = batch.timestamp_ms;
  previous_normal_.resize(sim.service_count());
  previous_sigma_.resize(sim.service_count());
  for (size_t i = 0; i < sim.service_count(); ++i)
    for (size_t m = 0; m < kMetricCount; ++m) {
      previous_normal_[i][m] = sim.NormalLevel(i, m);
      previous_sigma_[i][m] = sim.NoiseSigma(i, m);
    }
}

std::vector<LabelledEpisode> EpisodeTracker::TakeFinished() {
  std::vector<LabelledEpisode> out;
  out.swap(finished_);
  return out;
}

Expected<GenerateSummary> Generate(const ServiceCatalog& catalog, const GenerateOptions& options,
                                   std::ostream& out) {
  const int64_t ticks = options.duration_ms / kTickMs;
  if (ticks < 1) return Status::Invalid("the run must last at least one tick (10 s)");
  const int64_t duration = ticks * kTickMs;
  SimulatorOptions so;
  so.seed = options.seed;
  so.live_start_ms = options.start_ms;
  so.random_schedule = false;
  so.profile = options.profile;
  so.emit_logs = options.logs;
  Simulator sim(catalog, so);

  const int max = MaxInjections(duration);
  const int k = options.scenarios < 0 ? DefaultInjections(duration) : options.scenarios;
  if (k > max)
    return Status::Invalid(fmt::format(
        "{} scenarios do not fit in {} simulated hours: at most {} (none in the first 2 h, at "
        "least 2 h apart, each starting 2 h before the end)",
        k, static_cast<double>(duration) / 3600000.0, max));
  const auto plan = PlanInjections(options.seed, options.start_ms, duration, k, sim);

  GenerateSummary summary;
  summary.injections = static_cast<int>(plan.size());
  EpisodeTracker tracker;
  ReleaseQueue queue;
  size_t next = 0;
  std::string buffer;
  for (int64_t i = 0; i < ticks; ++i) {
    const int64_t now = options.start_ms + i * kTickMs;
    ApplyDueInjections(sim, plan, next, now);
    TickBatch batch = sim.Tick(now);
    tracker.Observe(sim, batch);
    summary.metrics += static_cast<int64_t>(batch.metrics.size());
    summary.ground_truth += static_cast<int64_t>(batch.ground_truth.size());
    queue.Add(batch);
    buffer.clear();
    for (const auto& m : queue.TakeDue(now + kTickMs - 1)) {
      // The payload is a JSON object: the topic goes in front of its first member.
      buffer += "{\"topic\":\"";
      buffer += m.topic;
      buffer += "\"";
      if (m.payload.size() > 2) buffer += ',';
      buffer.append(m.payload, 1, std::string::npos);
      buffer += '\n';
      ++summary.lines;
    }
    for (const auto& e : tracker.TakeFinished()) {
      std::string payload = Dump(ToJson(e));
      buffer += "{\"topic\":\"eval.episode\",";
      buffer.append(payload, 1, std::string::npos);
      buffer += '\n';
      ++summary.lines;
      ++summary.episodes;
    }
    out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (!out) return Status::Internal("writing the output failed");
  }
  summary.ticks = ticks;
  return summary;
}

std::string GenerateUsage() {
  return R"(Usage: sre-simulator generate --days N --out FILE.jsonl [options]

Simulates N days offline (no broker, no HTTP, as fast as possible) and writes one JSON object per
line: raw.metrics, raw.deployments, sim.ground_truth (and raw.logs with --logs), each as
{"topic": ..., ...payload}, plus one {"topic":"eval.episode", ...} per scenario at its end
(affected services, trigger metrics, and when each first crossed 3 noise sigmas).

  --days N          simulated days, > 0 (fractions allowed, e.g. 0.5), at most 366
  --out FILE        the output file (overwritten)
  --scenarios K     injections (default: about 2 per simulated day): none in the first 2 h,
                    at least 2 h apart; the catalogue in turn, about a third random custom ones
  --seed S          seed of values, schedule and ids (default 1)
  --start-ms T      simulated Unix ms of the first tick (default 1767225600000,
                    2026-01-01T00:00:00Z, a Thursday)
  --profile P       realistic (default) or clean
  --logs            also write raw.logs (slower, much larger)
  --help            this text

Exit status: 0 done, 2 bad arguments or unwritable file, 1 write failure.
)";
}

Expected<GenerateCommandLine> ParseGenerateArgs(const std::vector<std::string>& args) {
  GenerateCommandLine cl;
  bool have_days = false;
  auto number = [](const std::string& flag, const std::string& text, double lo,
                   double hi) -> Expected<double> {
    char* end = nullptr;
    errno = 0;
    double v = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || errno != 0 || !std::isfinite(v) ||
        v < lo || v > hi)
      return Status::Invalid(
          fmt::format("{}: '{}' is not a number in [{}, {}]", flag, text, lo, hi));
    return v;
  };
  auto integer = [](const std::string& flag, const std::string& text, int64_t lo,
                    int64_t hi) -> Expected<int64_t> {
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || end != text.c_str() + text.size() || errno != 0 || v < lo || v > hi)
      return Status::Invalid(
          fmt::format("{}: '{}' is not a whole number in [{}, {}]", flag, text, lo, hi));
    return static_cast<int64_t>(v);
  };
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i], value;
    bool inline_value = false;
    if (auto eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      inline_value = true;
    }
    if (flag == "--help" || flag == "-h") {
      cl.help = true;
      return cl;
    }
    if (flag == "--logs") {
      if (inline_value) return Status::Invalid("--logs takes no value");
      cl.options.logs = true;
      continue;
    }
    static const char* kWithValue[] = {"--days", "--out",      "--scenarios",
                                       "--seed", "--start-ms", "--profile"};
    if (std::find(std::begin(kWithValue), std::end(kWithValue), flag) == std::end(kWithValue))
      return Status::Invalid("unknown argument '" + args[i] + "' (see generate --help)");
    if (!inline_value) {
      if (i + 1 >= args.size()) return Status::Invalid(flag + " needs a value");
      value = args[++i];
    }
    if (flag == "--days") {
      auto d = number(flag, value, 0, 366);
      if (!d.ok() || *d <= 0)
        return Status::Invalid("--days: '" + value + "' is not a number of days > 0 and <= 366");
      cl.options.duration_ms = std::llround(*d * static_cast<double>(kDayMs) / kTickMs) * kTickMs;
      if (cl.options.duration_ms < kTickMs)
        return Status::Invalid("--days: '" + value + "' is shorter than one tick (10 s)");
      have_days = true;
    } else if (flag == "--out") {
      if (value.empty()) return Status::Invalid("--out: an empty file name");
      cl.out_path = value;
    } else if (flag == "--scenarios") {
      auto k = integer(flag, value, 0, 100000);
      if (!k.ok()) return k.status();
      cl.options.scenarios = static_cast<int>(*k);
    } else if (flag == "--seed") {
      auto s = integer(flag, value, 0, std::numeric_limits<int64_t>::max());
      if (!s.ok()) return s.status();
      cl.options.seed = static_cast<uint64_t>(*s);
    } else if (flag == "--start-ms") {
      auto t = integer(flag, value, 0, 253402300799000);
      if (!t.ok()) return t.status();
      cl.options.start_ms = *t;
    } else {  // --profile
      auto p = ParseProfile(value);
      if (!p) return Status::Invalid("--profile: '" + value + "' (expected realistic or clean)");
      cl.options.profile = *p;
    }
  }
  if (!have_days) return Status::Invalid("--days N is required (see generate --help)");
  if (cl.out_path.empty()) return Status::Invalid("--out FILE is required (see generate --help)");
  int max = MaxInjections(cl.options.duration_ms);
  if (cl.options.scenarios > max)
    return Status::Invalid(fmt::format(
        "--scenarios: {} do not fit in {} simulated hours (at most {}: none in the first 2 h, "
        "at least 2 h apart, each starting 2 h before the end)",
        cl.options.scenarios, static_cast<double>(cl.options.duration_ms) / 3600000.0, max));
  return cl;
}

int GenerateCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto parsed = ParseGenerateArgs(args);
  if (!parsed.ok()) {
    err << "sre-simulator generate: " << parsed.status().message() << "\n";
    return 2;
  }
  if (parsed->help) {
    out << GenerateUsage();
    return 0;
  }
  const GenerateCommandLine& cl = *parsed;
  auto catalog = ServiceCatalog::Load(KnowledgeDir() + "/architecture/services.json");
  if (!catalog.ok()) {
    err << "sre-simulator generate: " << catalog.status().message() << "\n";
    return 2;
  }
  std::ofstream file(cl.out_path, std::ios::binary | std::ios::trunc);
  if (!file) {
    err << "sre-simulator generate: cannot write '" << cl.out_path << "': " << std::strerror(errno)
        << "\n";
    return 2;
  }
  auto begin = std::chrono::steady_clock::now();
  auto summary = Generate(*catalog, cl.options, file);
  file.close();
  if (!summary.ok() || !file) {
    err << "sre-simulator generate: "
        << (summary.ok() ? "writing '" + cl.out_path + "' failed" : summary.status().message())
        << "\n";
    return summary.ok() || !summary.status().invalid() ? 1 : 2;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  err << fmt::format(
      "sre-simulator generate: wrote {} lines to {} ({} ticks = {:.2f} simulated days, {} "
      "scenarios, {} episodes, profile {}, seed {}) in {:.2f} s ({:.2f} s per simulated day)\n",
      summary->lines, cl.out_path, summary->ticks,
      static_cast<double>(summary->ticks * kTickMs) / kDayMs, summary->injections,
      summary->episodes, ProfileName(cl.options.profile), cl.options.seed, seconds,
      seconds / (static_cast<double>(summary->ticks * kTickMs) / kDayMs));
  return 0;
}

}  // namespace sre::sim
