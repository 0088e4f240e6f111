// `sre-simulator generate` (issue 16): the injection plan, episode labels and the JSON-lines file.
#include "simulator/generate.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "shared/messages.h"
#include "simulator/custom_scenario.h"
#include "simulator/test_util.h"

namespace sre::sim {
namespace {

using testing::kLiveStart;
constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kDay = 24 * kHour;

std::unique_ptr<Simulator> Realistic(uint64_t seed) {
  SimulatorOptions o;
  o.seed = seed;
  o.live_start_ms = kLiveStart;
  o.random_schedule = false;
  o.profile = Profile::kRealistic;
  o.emit_logs = false;
  return std::make_unique<Simulator>(testing::Catalog(), o);
}

// The lines of a generated file (parsing every line as JSON is slow in a Debug build: the
// topic and timestamp are read directly, the rest on demand).
struct Line {
  std::string topic, text;
  int64_t timestamp = -1;  // -1 for eval.episode
  Json json() const { return Json::parse(text); }
};
std::vector<Line> Lines(const std::string& text) {
  std::vector<Line> out;
  std::istringstream in(text);
  const std::string prefix = "{\"topic\":\"";
  for (std::string line; std::getline(in, line);) {
    Line l;
    EXPECT_EQ(line.rfind(prefix, 0), 0u) << "the topic comes first: " << line;
    l.topic = line.substr(prefix.size(), line.find('"', prefix.size()) - prefix.size());
    if (auto at = line.find(",\"timestamp\":"); at != std::string::npos)
      l.timestamp = std::stoll(line.substr(at + 13));
    l.text = std::move(line);
    out.push_back(std::move(l));
  }
  return out;
}

TEST(PlanTest, HowManyFit) {
  EXPECT_EQ(MaxInjections(kDay), 11);
  EXPECT_EQ(DefaultInjections(kDay), 2);
  EXPECT_EQ(DefaultInjections(7 * kDay), 14);
  EXPECT_EQ(MaxInjections(4 * kHour), 1);
  EXPECT_EQ(DefaultInjections(4 * kHour), 1);
  EXPECT_EQ(MaxInjections(4 * kHour - kTickMs), 0);
  EXPECT_EQ(DefaultInjections(3 * kHour), 0);
}

TEST(PlanTest, SpreadOutCyclesTheCatalogueAndMixesInCustomScenarios) {
  auto sim = Realistic(1);
  const int64_t duration = 3 * kDay;
  auto plan = PlanInjections(42, kLiveStart, duration, 33, *sim);
  ASSERT_EQ(plan.size(), 33u);
  auto again = PlanInjections(42, kLiveStart, duration, 33, *sim);
  auto other = PlanInjections(43, kLiveStart, duration, 33, *sim);
  int differ = 0;
  for (size_t i = 0; i < plan.size(); ++i) {
    EXPECT_EQ(plan[i].at_ms, again[i].at_ms);
    EXPECT_EQ(plan[i].scenario, again[i].scenario);
    differ += plan[i].at_ms != other[i].at_ms;
  }
  EXPECT_GT(differ, 20) << "the seed matters";

  std::vector<std::string> catalogue_picks;
  std::set<std::string> names;
  int custom = 0;
  for (size_t i = 0; i < plan.size(); ++i) {
    const auto& p = plan[i];
    EXPECT_GE(p.at_ms, kLiveStart + kPlanWarmupMs) << "never in the first 2 h";
    EXPECT_LE(p.at_ms, kLiveStart + duration - kPlanSpacingMs) << "ends well before the end";
    EXPECT_EQ((p.at_ms - kLiveStart) % kTickMs, 0);
    if (i > 0) {
      EXPECT_GE(p.at_ms - plan[i - 1].at_ms, kPlanSpacingMs);
    }
    EXPECT_TRUE(names.insert(p.scenario).second || !p.custom);
    if (p.custom) {
      ++custom;
      EXPECT_TRUE(p.custom->custom);
      EXPECT_EQ(p.custom->name, p.scenario);
      EXPECT_EQ(p.custom->effects.size(), 1u);
      EXPECT_TRUE(testing::Catalog().Find(p.custom->service));
    } else {
      catalogue_picks.push_back(p.scenario);
    }
  }
  EXPECT_GE(custom, 5);
  EXPECT_LE(custom, 18);
  // All eleven before any repeats.
  ASSERT_GE(catalogue_picks.size(), 11u);
  std::set<std::string> first(catalogue_picks.begin(), catalogue_picks.begin() + 11);
  EXPECT_EQ(first.size(), 11u);
}

TEST(PlanTest, RandomCustomScenariosAreValidAndClearlyAbnormal) {
  std::mt19937_64 rng(3);
  std::vector<std::string> reserved;
  for (const auto& d : BuiltInScenarios(testing::Catalog())) reserved.push_back(d.name);
  std::set<std::string> metrics;
  int cascades = 0, deployments = 0;
  for (int i = 0; i < 300; ++i) {
    std::string body = RandomCustomScenarioBody(rng, i, testing::Catalog());
    auto r = ParseCustomScenario(body, testing::Catalog(), reserved);
    ASSERT_TRUE(r.ok()) << r.error << "\n" << body;
    const ScenarioDef& d = *r.scenario;
    const MetricEffect& e = d.effects.front();
    metrics.insert(MetricName(e.metric));
    cascades += d.cascade;
    deployments += d.deployment.has_value();
    const ServiceInfo* info = testing::Catalog().Find(d.service);
    double base = info->baseline.at(MetricName(e.metric));
    double sigma = base * info->noise.at(MetricName(e.metric));
    EXPECT_GE(std::fabs(e.peak - base), 6 * sigma) << body;  // clearly abnormal
    EXPECT_LE(e.peak, MetricMax(e.metric, static_cast<double>(info->db_pool_size)));
    if (e.metric == kLatencyP99) {
      EXPECT_LE(e.peak, 9.01 * base) << "not absurd";
    }
    EXPECT_GE(d.duration_ms, 180000);
    EXPECT_LE(d.duration_ms, 480000);
  }
  EXPECT_EQ(metrics.size(), static_cast<size_t>(kMetricCount));
  EXPECT_GT(cascades, 5);
  EXPECT_GT(deployments, 40);
}

TEST(PlanTest, BusyServicesAreRetriedAtTheNextTick) {
  SimulatorOptions o;
  o.live_start_ms = kLiveStart;
  o.random_schedule = false;
  Simulator sim(testing::Catalog(), o);
  std::vector<PlannedInjection> plan(2);
  plan[0].at_ms = kLiveStart;
  plan[0].scenario = "LATENCY_SPIKE";  // payment-service, 4 minutes
  plan[1].at_ms = kLiveStart;
  plan[1].scenario = "DB_CONNECTION_EXHAUSTION";  // payment-service too
  size_t next = 0;
  int64_t second_started = -1;
  for (int64_t t = kLiveStart; t < kLiveStart + 20 * 60000; t += kTickMs) {
    size_t before = next;
    auto results = ApplyDueInjections(sim, plan, next, t);
    if (before == 1 && next == 2) second_started = t;
    for (const auto& r : results) EXPECT_TRUE(r.ok()) << r.message;
    sim.Tick(t);
  }
  EXPECT_EQ(next, 2u);
  EXPECT_GE(second_started, kLiveStart + 4 * 60000) << "waited for LATENCY_SPIKE to end";
}

TEST(EpisodeTrackerTest, LabelsWhenTriggersCrossThreeSigmaInTheScenarioDirection) {
  auto sim = Realistic(8);
  // A drop of request_rate (direction down) and a cascading catalogue scenario.
  std::string drop = R"({"name": "GATEWAY_DROP", "service": "api-gateway", "duration_s": 180,
    "metrics": [{"metric": "request_rate", "peak": 300, "shape": "linear", "ramp_s": 60}],
    "ground_truth": {"root_cause_service": "api-gateway",
                     "root_cause_category": "INFRASTRUCTURE_FAILURE"}})";
  auto parsed = ParseCustomScenario(drop, sim->services(), {});
  ASSERT_TRUE(parsed.ok()) << parsed.error;
  EpisodeTracker tracker;
  std::vector<LabelledEpisode> done;
  for (int64_t k = 0; k < 90; ++k) {
    int64_t t = kLiveStart + 3 * kHour + k * kTickMs;
    if (k == 3) {
      ASSERT_TRUE(sim->InjectCustom(*parsed.scenario).ok());
      ASSERT_TRUE(sim->Inject("PAYMENT_OUTAGE").ok());
    }
    tracker.Observe(*sim, sim->Tick(t));
    for (auto& e : tracker.TakeFinished()) done.push_back(std::move(e));
  }
  EXPECT_EQ(tracker.open(), 0u);
  ASSERT_EQ(done.size(), 2u);
  const LabelledEpisode& gw = done[0].scenario == "GATEWAY_DROP" ? done[0] : done[1];
  const LabelledEpisode& pay = done[0].scenario == "GATEWAY_DROP" ? done[1] : done[0];
  EXPECT_TRUE(gw.custom);
  EXPECT_EQ(gw.affected_services, std::vector<std::string>{"api-gateway"});
  ASSERT_EQ(gw.crossed_3sigma_ms.size(), 1u);
  auto crossed = gw.crossed_3sigma_ms.at("api-gateway/request_rate");
  ASSERT_TRUE(crossed) << "a drop crosses downwards";
  EXPECT_GT(*crossed, gw.start_ms);
  EXPECT_LT(*crossed, gw.start_ms + 60000);

  EXPECT_FALSE(pay.custom);
  EXPECT_EQ(pay.root_cause_service, "payment-service");
  ASSERT_EQ(pay.affected_services.size(), 3u);
  EXPECT_EQ(pay.affected_services[0], "payment-service");
  EXPECT_EQ(std::set<std::string>(pay.affected_services.begin(), pay.affected_services.end()),
            (std::set<std::string>{"payment-service", "order-service", "api-gateway"}));
  EXPECT_EQ(pay.trigger_metrics, std::vector<std::string>{"error_rate"});
  ASSERT_EQ(pay.crossed_3sigma_ms.size(), 3u);
  for (const auto& [key, ts] : pay.crossed_3sigma_ms) {
    ASSERT_TRUE(ts) << key;
    EXPECT_GE(*ts, pay.start_ms);
    EXPECT_LE(*ts, pay.end_ms);
  }
  // The origin crosses first; the callers follow.
  EXPECT_LE(*pay.crossed_3sigma_ms.at("payment-service/error_rate"),
            *pay.crossed_3sigma_ms.at("api-gateway/error_rate"));

  Json j = ToJson(pay);
  EXPECT_EQ(j["scenario"], "PAYMENT_OUTAGE");
  EXPECT_EQ(j["custom"], false);
  EXPECT_EQ(j["crossed_3sigma_ms"].size(), 3u);
  EXPECT_TRUE(j["crossed_3sigma_ms"]["order-service/error_rate"].is_number_integer());
  EXPECT_EQ(j["end_ms"], pay.end_ms);
  LabelledEpisode never = gw;
  never.crossed_3sigma_ms["api-gateway/request_rate"] = std::nullopt;
  EXPECT_TRUE(ToJson(never)["crossed_3sigma_ms"]["api-gateway/request_rate"].is_null());
}

TEST(GenerateTest, WritesEveryTopicAsJsonLinesWithEpisodesAtTheirEnd) {
  GenerateOptions o;
  // The shortest run that holds an injection (2 h of warm-up, then one 2 h slot); the plan's
  // spacing over longer runs is PlanTest's.
  o.duration_ms = 4 * kHour;
  o.scenarios = 1;
  o.seed = 3;
  std::ostringstream out;
  auto summary = Generate(testing::Catalog(), o, out);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->ticks, 4 * kHour / kTickMs);
  EXPECT_EQ(summary->injections, 1);
  EXPECT_EQ(summary->episodes, 1);
  auto lines = Lines(out.str());
  EXPECT_EQ(static_cast<int64_t>(lines.size()), summary->lines);

  std::map<std::string, size_t> topics;
  std::set<std::string> started, ended;
  int64_t last_tick = 0, late = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const Line& l = lines[i];
    ++topics[l.topic];
    auto payload = [&] {
      Json j = l.json();
      EXPECT_EQ(j["topic"], l.topic);
      j.erase("topic");
      return j.dump();
    };
    if (l.topic == "raw.metrics") {
      if (l.timestamp < last_tick) ++late;  // out of order on the wire
      last_tick = std::max(last_tick, l.timestamp);
      if (i % 97 == 0) {
        auto m = Decode<RawMetric>(payload());
        ASSERT_TRUE(m.ok()) << m.status().message();
        EXPECT_EQ(m->timestamp, l.timestamp);
      }
    } else if (l.topic == "raw.deployments") {
      EXPECT_TRUE(Decode<RawDeployment>(payload()).ok());
    } else if (l.topic == "sim.ground_truth") {
      auto g = Decode<GroundTruth>(payload());
      ASSERT_TRUE(g.ok());
      (g->phase == Phase::START ? started : ended).insert(g->scenario);
    } else if (l.topic == "eval.episode") {
      Json j = l.json();
      std::string name = j["scenario"];
      EXPECT_TRUE(ended.count(name)) << "an episode follows its END";
      EXPECT_TRUE(j["custom"].is_boolean());
      EXPECT_GE(j["start_ms"].get<int64_t>(), kGenerateDefaultStartMs + kPlanWarmupMs);
      EXPECT_LT(j["end_ms"].get<int64_t>(), kGenerateDefaultStartMs + o.duration_ms);
      const Json& crossed = j["crossed_3sigma_ms"];
      EXPECT_EQ(crossed.size(), j["affected_services"].size() * j["trigger_metrics"].size());
      int hits = 0;
      for (const auto& [key, ts] : crossed.items()) hits += ts.is_number_integer();
      EXPECT_GT(hits, 0) << j.dump();
    } else {
      ADD_FAILURE() << "unexpected topic " << l.topic;
    }
  }
  EXPECT_EQ(topics.count("raw.logs"), 0u) << "logs only with --logs";
  EXPECT_EQ(topics["eval.episode"], 1u);
  EXPECT_EQ(topics["sim.ground_truth"], 2u);
  EXPECT_EQ(started, ended);
  EXPECT_GT(topics["raw.deployments"], 2u);
  EXPECT_NEAR(static_cast<double>(topics["raw.metrics"]), 0.995 * 42 * summary->ticks,
              0.003 * 42 * summary->ticks);
  EXPECT_GT(late, 0) << "late samples arrive after the next tick's own";
}

TEST(GenerateTest, IsDeterministicForASeedAndWritesLogsOnRequest) {
  GenerateOptions o;
  o.duration_ms = 20 * 60000;
  o.seed = 9;
  o.logs = true;
  o.profile = Profile::kClean;
  std::ostringstream a, b, c;
  ASSERT_TRUE(Generate(testing::Catalog(), o, a).ok());
  ASSERT_TRUE(Generate(testing::Catalog(), o, b).ok());
  o.seed = 10;
  ASSERT_TRUE(Generate(testing::Catalog(), o, c).ok());
  EXPECT_EQ(a.str(), b.str());
  EXPECT_NE(a.str(), c.str());
  std::map<std::string, size_t> topics;
  int64_t last = 0;
  for (const auto& l : Lines(a.str())) {
    ++topics[l.topic];
    EXPECT_GE(l.timestamp, last) << "clean: event-time order";
    last = l.timestamp;
  }
  EXPECT_EQ(topics["raw.metrics"], 42u * 120);
  EXPECT_GT(topics["raw.logs"], 18u * 120);
  // Too short for any scenario.
  EXPECT_EQ(topics.count("sim.ground_truth"), 0u);
  o.scenarios = 1;
  std::ostringstream d;
  EXPECT_FALSE(Generate(testing::Catalog(), o, d).ok()) << "1 scenario does not fit in 20 min";
}

int RunCommand(std::vector<std::string> args, std::string* out = nullptr,
               std::string* err = nullptr) {
  std::ostringstream o, e;
  int code = GenerateCommand(args, o, e);
  if (out) *out = o.str();
  if (err) *err = e.str();
  return code;
}

TEST(GenerateCommandTest, BadArgumentsExitTwoWithAClearMessage) {
  const std::string file = ::testing::TempDir() + "generate-test.jsonl";
  struct Case {
    std::vector<std::string> args;
    std::string says;
  } cases[] = {
      {{"--days", "0", "--out", file}, "--days"},
      {{"--days", "-1", "--out", file}, "--days"},
      {{"--days", "abc", "--out", file}, "--days"},
      {{"--days", "400", "--out", file}, "--days"},
      {{"--out", file}, "--days N is required"},
      {{"--days", "1"}, "--out FILE is required"},
      {{"--days", "1", "--out"}, "--out needs a value"},
      {{"--days", "1", "--out", file, "--scenarios", "12"}, "at most 11"},
      {{"--days", "1", "--out", file, "--scenarios", "two"}, "--scenarios"},
      {{"--days", "1", "--out", file, "--seed", "-3"}, "--seed"},
      {{"--days", "1", "--out", file, "--profile", "noisy"}, "realistic or clean"},
      {{"--days", "1", "--out", file, "--start-ms", "soon"}, "--start-ms"},
      {{"--days", "1", "--out", file, "--fast"}, "unknown argument '--fast'"},
      {{"--days", "1", "--out", file, "--logs=yes"}, "--logs takes no value"},
      {{"--days", "0.01", "--out", "/nonexistent-dir/x/y.jsonl"}, "cannot write"},
  };
  for (const auto& c : cases) {
    std::string err;
    EXPECT_EQ(RunCommand(c.args, nullptr, &err), 2) << c.says;
    EXPECT_NE(err.find(c.says), std::string::npos) << err;
    EXPECT_EQ(err.rfind("sre-simulator generate: ", 0), 0u) << err;
  }
  std::string out;
  EXPECT_EQ(RunCommand({"--help"}, &out), 0);
  EXPECT_NE(out.find("Usage: sre-simulator generate --days N --out FILE.jsonl"), std::string::npos);
  EXPECT_NE(out.find("--profile"), std::string::npos);
}

TEST(GenerateCommandTest, WritesTheFileAndSummarises) {
  const std::string file = ::testing::TempDir() + "generate-command-test.jsonl";
  std::string err;
  ASSERT_EQ(RunCommand({"--days=0.02", "--out", file, "--seed", "5", "--profile", "clean",
                        "--start-ms", "1767225600000"},
                       nullptr, &err),
            0)
      << err;
  EXPECT_NE(err.find("wrote "), std::string::npos) << err;
  EXPECT_NE(err.find("per simulated day"), std::string::npos) << err;
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  size_t metrics = 0;
  auto lines = Lines(ss.str());
  for (const auto& l : lines) metrics += l.topic == "raw.metrics";
  EXPECT_EQ(metrics, 42u * 173);  // 0.02 days = 172.8 ticks, rounded
  EXPECT_EQ(lines.front().timestamp, 1767225600000);
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace sre::sim
