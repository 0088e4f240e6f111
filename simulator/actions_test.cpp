// Remediation actions on the simulator: Simulator::ApplyAction (which action fits which
// scenario, a smooth recovery, nothing changed otherwise) and POST /api/actions (ScenarioApi::
// Action, without sockets).
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>

#include "shared/json_codec.h"
#include "simulator/api.h"
#include "simulator/custom_scenario.h"
#include "simulator/service.h"
#include "simulator/simulator.h"
#include "simulator/test_util.h"

namespace sre::sim {
namespace {

using testing::kLiveStart;
using testing::MakeSimulator;
using A = RemediationAction;

constexpr uint64_t kSeed = 77;

// The matching table of docs/simulator.md, written out independently of ActionFixes.
const std::map<std::string, std::set<A>>& Fixes() {
  static const std::map<std::string, std::set<A>> kFixes = {
      {"LATENCY_SPIKE", {A::FAILOVER_DB, A::KILL_LONG_QUERIES}},
      {"ERROR_RATE_SPIKE", {A::DISABLE_FLAG}},
      {"CPU_SATURATION", {A::SCALE_OUT}},
      {"MEMORY_LEAK", {A::RESTART}},
      {"DB_CONNECTION_EXHAUSTION", {A::FAILOVER_DB, A::KILL_LONG_QUERIES}},
      {"KAFKA_CONSUMER_LAG", {A::PAUSE_CONSUMER, A::RESET_CONSUMER}},
      {"DEPLOYMENT_FAILURE", {A::ROLLBACK}},
      {"BAD_DEPLOY_LATENCY", {A::ROLLBACK}},
      {"PAYMENT_OUTAGE", {A::RESTART}},
      {"TRAFFIC_SURGE", {A::SCALE_OUT}},
      {"CONFIG_PUSH", {A::ROLLBACK, A::REVERT_CONFIG}},
  };
  return kFixes;
}

std::vector<A> AllActions() {
  std::vector<A> out;
  for (size_t i = 0; i < EnumCount<A>(); ++i) out.push_back(static_cast<A>(i));
  return out;
}

// Every message of `ticks` encoded, in order: two runs are identical iff these are.
std::vector<std::string> Encoded(const std::vector<TickBatch>& ticks) {
  std::vector<std::string> out;
  for (const auto& t : ticks)
    for (const auto& m : ToMessages(t)) out.push_back(m.topic + "|" + m.key + "|" + m.payload);
  return out;
}

// A simulator with `scenario` injected at the second tick and ticked to the middle of its ramp
// and hold (the last tick is `at`), and its active entry.
struct Prepared {
  std::unique_ptr<Simulator> sim;
  ActiveScenarioInfo active;
  int64_t at = 0;
};

Prepared Prepare(const std::string& scenario, double fraction = 0.5) {
  Prepared p;
  p.sim = MakeSimulator(kSeed);
  p.sim->Tick(kLiveStart);
  InjectResult r = p.sim->Inject(scenario);
  EXPECT_TRUE(r.ok()) << r.message;
  const ScenarioDef& def = *r.active.def;
  int64_t target =
      r.active.symptoms_start_ms +
      static_cast<int64_t>(fraction * static_cast<double>(def.duration_ms - def.recovery_ms));
  int64_t t = kLiveStart + kTickMs;
  for (; t <= target; t += kTickMs) p.sim->Tick(t);
  p.at = t - kTickMs;
  p.active = p.sim->Active().at(0);
  return p;
}

// Ticks `sim` from the tick after `from` up to and including `to`.
std::vector<TickBatch> TickTo(Simulator& sim, int64_t from, int64_t to) {
  std::vector<TickBatch> out;
  for (int64_t t = from + kTickMs; t <= to; t += kTickMs) out.push_back(sim.Tick(t));
  return out;
}

std::optional<int64_t> EndOf(const std::vector<TickBatch>& ticks, const std::string& scenario) {
  for (const auto& t : ticks)
    for (const auto& g : t.ground_truth)
      if (g.scenario == scenario && g.phase == Phase::END) return g.timestamp;
  return std::nullopt;
}

class CatalogueActionTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CatalogueActionTest, EveryActionThatDoesNotFitChangesNothing) {
  const std::string name = GetParam();
  ASSERT_TRUE(Fixes().count(name));
  for (A action : AllActions()) {
    if (Fixes().at(name).count(action)) continue;
    SCOPED_TRACE(std::string(ToString(action)));
    Prepared acted = Prepare(name), twin = Prepare(name);
    const std::string service = acted.active.service;
    ActionResult r = acted.sim->ApplyAction(action, service, std::nullopt, false, acted.at);
    EXPECT_FALSE(r.matched);
    EXPECT_EQ(r.scenario, name);
    EXPECT_EQ(r.phase_before, r.phase_after);
    EXPECT_NE(r.phase_before, "recovering");
    EXPECT_EQ(r.ends_at_ms, acted.active.ends_at_ms);
    EXPECT_NE(r.message.find("nothing changed"), std::string::npos) << r.message;
    EXPECT_EQ(acted.sim->Active().at(0).ends_at_ms, acted.active.ends_at_ms);
    int64_t until = acted.active.ends_at_ms + 2 * kTickMs;
    auto a = TickTo(*acted.sim, acted.at, until), b = TickTo(*twin.sim, twin.at, until);
    EXPECT_EQ(Encoded(a), Encoded(b));
    EXPECT_TRUE(EndOf(a, name).has_value());
  }
}

TEST_P(CatalogueActionTest, AFittingActionRecoversSmoothlyFromTheCurrentIntensity) {
  const std::string name = GetParam();
  for (A action : Fixes().at(name)) {
    SCOPED_TRACE(std::string(ToString(action)));
    Prepared acted = Prepare(name), twin = Prepare(name);
    // Never injected: what the telemetry is without the scenario (same noise, clean profile).
    auto never = MakeSimulator(kSeed);
    for (int64_t t = kLiveStart; t <= acted.at; t += kTickMs) never->Tick(t);

    const ScenarioDef& def = *acted.active.def;
    const std::string service = acted.active.service;
    const double before = *acted.sim->ActiveIntensity(service, acted.at);
    ASSERT_GT(before, 0.0) << "the action should land while the metrics are off";
    ActionResult r = acted.sim->ApplyAction(action, service, std::nullopt, false, acted.at);
    ASSERT_TRUE(r.matched) << r.message;
    EXPECT_EQ(r.scenario, name);
    EXPECT_TRUE(r.phase_before == "ramping" || r.phase_before == "holding") << r.phase_before;
    EXPECT_EQ(r.phase_after, "recovering");
    const int64_t new_end = acted.at + def.recovery_ms;
    EXPECT_EQ(r.ends_at_ms, new_end);
    EXPECT_LT(new_end, acted.active.ends_at_ms);
    ActiveScenarioInfo info = acted.sim->Active().at(0);
    EXPECT_EQ(info.ends_at_ms, new_end);
    EXPECT_EQ(info.phase, "recovering");
    EXPECT_EQ(info.remediated_at_ms, acted.at);

    // Continuous at the action, then non-increasing down to 0 at the new end.
    EXPECT_DOUBLE_EQ(*acted.sim->ActiveIntensity(service, acted.at), before);
    double last = before;
    for (int64_t t = acted.at; t <= new_end; t += 500) {
      double now = *acted.sim->ActiveIntensity(service, t);
      EXPECT_LE(now, last + 1e-12) << "at +" << (t - acted.at) << " ms";
      EXPECT_LE(now, *twin.sim->ActiveIntensity(service, t) + 1e-12);
      last = now;
    }
    EXPECT_EQ(*acted.sim->ActiveIntensity(service, new_end), 0.0);
    EXPECT_GT(*acted.sim->ActiveIntensity(service, acted.at + def.recovery_ms / 2), 0.0);

    // Every series lies between the scenario's (twin) and normal traffic (never) until the new
    // end, ground truth END comes at the first tick from the new end, and from then on the
    // telemetry is normal traffic, value for value.
    const int64_t until = acted.active.ends_at_ms + kTickMs;
    auto a = TickTo(*acted.sim, acted.at, until);
    auto b = TickTo(*twin.sim, twin.at, until);
    auto n = TickTo(*never, acted.at, until);
    ASSERT_EQ(a.size(), b.size());
    ASSERT_EQ(a.size(), n.size());
    const int64_t end_tick = (new_end + kTickMs - 1) / kTickMs * kTickMs;
    EXPECT_EQ(EndOf(a, name), end_tick);
    EXPECT_EQ(EndOf(b, name), (acted.active.ends_at_ms + kTickMs - 1) / kTickMs * kTickMs);
    for (size_t i = 0; i < a.size(); ++i) {
      ASSERT_EQ(a[i].metrics.size(), n[i].metrics.size());
      for (size_t m = 0; m < a[i].metrics.size(); ++m) {
        const RawMetric &x = a[i].metrics[m], &y = b[i].metrics[m], &z = n[i].metrics[m];
        ASSERT_EQ(x.metric_name, z.metric_name);
        ASSERT_EQ(x.source_service, z.source_service);
        SCOPED_TRACE(x.source_service + "/" + x.metric_name + " at " +
                     std::to_string(x.timestamp - acted.at));
        if (x.timestamp >= end_tick) {
          EXPECT_EQ(x.metric_value, z.metric_value);
        } else {
          EXPECT_GE(x.metric_value, std::min(y.metric_value, z.metric_value) - 1e-9);
          EXPECT_LE(x.metric_value, std::max(y.metric_value, z.metric_value) + 1e-9);
        }
      }
    }
    EXPECT_TRUE(acted.sim->Active().empty());

    // Rollback and config revert: the previous version is deployed at the next tick.
    std::vector<RawDeployment> remediation;
    for (const auto& t : a)
      for (const auto& d : t.deployments)
        if (d.description.find("(remediation)") != std::string::npos) remediation.push_back(d);
    if (action == A::ROLLBACK || action == A::REVERT_CONFIG) {
      ASSERT_EQ(remediation.size(), 1u);
      const RawDeployment& d = remediation[0];
      EXPECT_EQ(d.timestamp, acted.at + kTickMs);
      EXPECT_EQ(d.source_service, service);
      EXPECT_EQ(d.change_type, def.deployment->change_type);
      EXPECT_EQ(d.previous_version, *acted.active.deployment_version);
      EXPECT_NE(d.version, d.previous_version);
      EXPECT_EQ(d.description, (action == A::ROLLBACK ? "Rollback to " : "Revert configuration to ") +
                                   d.version + " (remediation)");
      if (d.change_type == ChangeType::CODE) {
        EXPECT_EQ(acted.sim->CurrentVersion(service), d.version);
      }
    } else {
      EXPECT_TRUE(remediation.empty());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Catalogue, CatalogueActionTest,
                         ::testing::Values("LATENCY_SPIKE", "ERROR_RATE_SPIKE", "CPU_SATURATION",
                                           "MEMORY_LEAK", "DB_CONNECTION_EXHAUSTION",
                                           "KAFKA_CONSUMER_LAG", "DEPLOYMENT_FAILURE",
                                           "BAD_DEPLOY_LATENCY", "PAYMENT_OUTAGE",
                                           "TRAFFIC_SURGE", "CONFIG_PUSH"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

TEST(ActionTest, TheTableCoversTheWholeCatalogue) {
  auto sim = MakeSimulator(kSeed);
  ASSERT_EQ(sim->catalogue().size(), Fixes().size());
  for (const auto& def : sim->catalogue())
    for (A action : AllActions())
      EXPECT_EQ(ActionFixes(action, def), Fixes().at(def.name).count(action) > 0)
          << def.name << " " << ToString(action);
}

// `change` is applied to the first simulator only; both then run to past the scenario's end.
void ExpectNoChange(const std::string& scenario,
                    const std::function<void(Prepared&)>& change, double fraction = 0.5) {
  Prepared acted = Prepare(scenario, fraction), twin = Prepare(scenario, fraction);
  change(acted);
  int64_t until = twin.active.ends_at_ms + 2 * kTickMs;
  EXPECT_EQ(Encoded(TickTo(*acted.sim, acted.at, until)), Encoded(TickTo(*twin.sim, twin.at, until)));
}

TEST(ActionTest, ARollbackOfAnotherVersionChangesNothing) {
  ExpectNoChange("BAD_DEPLOY_LATENCY", [](Prepared& p) {
    ActionResult r =
        p.sim->ApplyAction(A::ROLLBACK, "payment-service", std::string("0.0.1"), false, p.at);
    EXPECT_FALSE(r.matched);
    EXPECT_NE(r.message.find(*p.active.deployment_version), std::string::npos) << r.message;
  });
  // The deployed version, or none given (an empty one counts as none), matches.
  for (std::optional<std::string> version :
       {std::optional<std::string>(), std::optional<std::string>(""), std::optional<std::string>("x")}) {
    Prepared p = Prepare("BAD_DEPLOY_LATENCY");
    if (version && *version == "x") version = p.active.deployment_version;
    EXPECT_TRUE(p.sim->ApplyAction(A::ROLLBACK, "payment-service", version, false, p.at).matched);
  }
}

TEST(ActionTest, UndoNeverChangesAnything) {
  for (const auto& [name, fixes] : Fixes()) {
    SCOPED_TRACE(name);
    ExpectNoChange(name, [&, &fixes = fixes](Prepared& p) {
      ActionResult r = p.sim->ApplyAction(*fixes.begin(), p.active.service,
                                          p.active.deployment_version, /*undo=*/true, p.at);
      EXPECT_FALSE(r.matched);
      EXPECT_EQ(r.scenario, p.active.name);
    });
  }
}

TEST(ActionTest, AnActionOnARecoveringScenarioMatchesButChangesNothing) {
  // Already recovering after a first action: a second one (any fitting one) is a no-op.
  Prepared acted = Prepare("CONFIG_PUSH"), once = Prepare("CONFIG_PUSH");
  ASSERT_TRUE(acted.sim->ApplyAction(A::REVERT_CONFIG, "order-service", {}, false, acted.at).matched);
  ASSERT_TRUE(once.sim->ApplyAction(A::REVERT_CONFIG, "order-service", {}, false, once.at).matched);
  ActionResult again = acted.sim->ApplyAction(A::ROLLBACK, "order-service", {}, false, acted.at);
  EXPECT_TRUE(again.matched);
  EXPECT_EQ(again.phase_before, "recovering");
  EXPECT_EQ(again.phase_after, "recovering");
  EXPECT_NE(again.message.find("already recovering"), std::string::npos) << again.message;
  int64_t until = acted.active.ends_at_ms + kTickMs;
  EXPECT_EQ(Encoded(TickTo(*acted.sim, acted.at, until)), Encoded(TickTo(*once.sim, once.at, until)));

  // Recovering by itself: the same.
  ExpectNoChange(
      "MEMORY_LEAK",
      [](Prepared& p) {
        ASSERT_EQ(p.active.phase, "recovering");
        ActionResult r = p.sim->ApplyAction(A::RESTART, "notification-service", {}, false, p.at);
        EXPECT_TRUE(r.matched);
        EXPECT_EQ(r.ends_at_ms, p.active.ends_at_ms);
        EXPECT_NE(r.message.find("already recovering"), std::string::npos) << r.message;
      },
      /*fraction=*/1.05);
}

TEST(ActionTest, CascadeCallersUnknownServicesAndIdleServicesChangeNothing) {
  ExpectNoChange("PAYMENT_OUTAGE", [](Prepared& p) {
    ASSERT_TRUE(p.active.cascade);
    for (const char* service : {"api-gateway", "order-service"}) {  // callers it cascades to
      ActionResult r = p.sim->ApplyAction(A::RESTART, service, {}, false, p.at);
      EXPECT_FALSE(r.matched);
      EXPECT_FALSE(r.scenario.has_value());
      EXPECT_TRUE(r.phase_before.empty());
      EXPECT_NE(r.message.find("no active scenario"), std::string::npos) << r.message;
    }
    ActionResult unknown = p.sim->ApplyAction(A::RESTART, "nope-service", {}, false, p.at);
    EXPECT_FALSE(unknown.matched);
    EXPECT_NE(unknown.message.find("unknown service"), std::string::npos) << unknown.message;
    EXPECT_FALSE(p.sim->ApplyAction(A::ESCALATE, "payment-service", {}, false, p.at).matched);
  });
}

TEST(ActionTest, AScenarioNotYetStartedIsLeftAlone) {
  auto acted = MakeSimulator(kSeed), twin = MakeSimulator(kSeed);
  for (auto* sim : {acted.get(), twin.get()}) {
    sim->Tick(kLiveStart);
    ASSERT_TRUE(sim->Inject("MEMORY_LEAK").ok());
  }
  ActionResult r = acted->ApplyAction(A::RESTART, "notification-service", {}, false, kLiveStart);
  EXPECT_FALSE(r.matched);
  EXPECT_EQ(r.phase_before, "starting");
  EXPECT_NE(r.message.find("not started"), std::string::npos) << r.message;
  int64_t until = kLiveStart + 400000;
  EXPECT_EQ(Encoded(TickTo(*acted, kLiveStart, until)), Encoded(TickTo(*twin, kLiveStart, until)));
}

TEST(ActionTest, ARollbackBeforeTheSymptomsEndsTheScenarioWithoutAny) {
  auto sim = MakeSimulator(kSeed);
  sim->Tick(kLiveStart);
  ASSERT_TRUE(sim->Inject("DEPLOYMENT_FAILURE").ok());
  const int64_t at = kLiveStart + kTickMs;
  ASSERT_EQ(sim->Tick(at).deployments.size(), 1u);  // symptoms 60-120 s later
  ActiveScenarioInfo active = sim->Active().at(0);
  ASSERT_EQ(active.phase, "deploying");
  ActionResult r = sim->ApplyAction(A::ROLLBACK, "user-service", {}, false, at);
  ASSERT_TRUE(r.matched) << r.message;
  EXPECT_EQ(r.phase_before, "deploying");
  EXPECT_EQ(r.ends_at_ms, at + active.def->recovery_ms);
  EXPECT_EQ(*sim->ActiveIntensity("user-service", at + kTickMs), 0.0);
  auto ticks = TickTo(*sim, at, active.ends_at_ms);
  for (const auto& t : ticks)
    for (const auto& l : t.logs)
      EXPECT_FALSE(l.source_service == "user-service" && l.level >= LogLevel::ERROR) << l.message;
  EXPECT_TRUE(EndOf(ticks, "DEPLOYMENT_FAILURE").has_value());
}

TEST(ActionTest, CustomScenariosFollowTheSameRules) {
  auto custom = [](const std::string& category, const std::string& deployment,
                   const std::string& root = "user-service") {
    std::string body = R"({"name": "CUSTOM_X", "service": "user-service", "duration_s": 120,
        "metrics": [{"metric": "cpu_percent", "peak": 90, "shape": "linear", "ramp_s": 40}],
        "deployment": )" + deployment + R"(,
        "ground_truth": {"root_cause_service": ")" + root + R"(",
                         "root_cause_category": ")" + category + R"("}})";
    auto parsed = ParseCustomScenario(body, testing::Catalog(), {});
    EXPECT_TRUE(parsed.ok()) << parsed.error;
    return *parsed.scenario;
  };
  const std::string config = R"({"change_type": "CONFIG", "version": "cfg-7", "lead_s": 20})";
  const std::string code = R"({"change_type": "CODE", "version": "v9.9.9", "lead_s": 20})";
  const std::string infra = R"({"change_type": "INFRA", "version": "node-pool-3", "lead_s": 20})";
  struct Case {
    std::string category, deployment;
    A action;
    bool matched;
    std::string root = "user-service";
    std::string on = "user-service";
  } cases[] = {
      {"CONFIGURATION_ERROR", config, A::REVERT_CONFIG, true},
      {"CONFIGURATION_ERROR", config, A::ROLLBACK, true},
      {"CONFIGURATION_ERROR", code, A::REVERT_CONFIG, false},
      {"CPU_EXHAUSTION", "null", A::SCALE_OUT, true},
      {"CPU_EXHAUSTION", code, A::SCALE_OUT, false},
      {"CPU_EXHAUSTION", code, A::ROLLBACK, true},
      {"INFRASTRUCTURE_FAILURE", infra, A::ROLLBACK, false},
      {"INFRASTRUCTURE_FAILURE", infra, A::RESTART, true},
      {"DEPENDENCY_FAILURE", "null", A::RESTART, false},
      {"UNKNOWN", "null", A::ESCALATE, false},
      // The root cause named elsewhere: an action there reaches the scenario too.
      {"RESOURCE_LEAK", "null", A::RESTART, true, "inventory-service", "inventory-service"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.category + " " + c.deployment + " " + std::string(ToString(c.action)));
    auto acted = MakeSimulator(kSeed), twin = MakeSimulator(kSeed);
    for (auto* sim : {acted.get(), twin.get()}) {
      sim->Tick(kLiveStart);
      ASSERT_TRUE(sim->InjectCustom(custom(c.category, c.deployment, c.root)).ok());
    }
    int64_t at = kLiveStart + 8 * kTickMs;  // 50 s into the symptoms
    TickTo(*acted, kLiveStart, at);
    TickTo(*twin, kLiveStart, at);
    ActionResult r = acted->ApplyAction(c.action, c.on, {}, false, at);
    EXPECT_EQ(r.matched, c.matched) << r.message;
    EXPECT_EQ(r.scenario, "CUSTOM_X");
    auto a = Encoded(TickTo(*acted, at, at + 200000)), b = Encoded(TickTo(*twin, at, at + 200000));
    if (c.matched)
      EXPECT_NE(a, b);
    else
      EXPECT_EQ(a, b);
  }
}

// POST /api/actions.

PostHeaders JsonBody(const std::string& body, const std::string& type = "application/json") {
  PostHeaders h;
  h.host = "localhost:8100";
  h.content_type = type;
  h.content_length = std::to_string(body.size());
  return h;
}

class ActionApiTest : public ::testing::Test {
 protected:
  ActionApiTest() : sim_(MakeSimulator(kSeed)), api_(*sim_, mu_, registry_, RunInfo{100, "off"}) {
    sim_->Tick(kLiveStart);
  }
  // Injects `name` and ticks into its hold.
  void Start(const std::string& name) {
    ASSERT_TRUE(sim_->Inject(name).ok());
    const int64_t until = sim_->Active().back().symptoms_start_ms + 120000;
    for (now_ = kLiveStart + kTickMs; now_ <= until; now_ += kTickMs) sim_->Tick(now_);
    now_ -= kTickMs;
  }
  HttpReply Post(const Json& body, PostHeaders h = {}) {
    std::string text = body.dump();
    PostHeaders json = JsonBody(text);
    json.origin = h.origin;
    json.authorization = h.authorization;
    json.idempotency_key = h.idempotency_key;
    if (!h.content_type.empty()) json.content_type = h.content_type;
    return api_.Action(json, text);
  }
  double Count(const std::string& action, bool matched) {
    return registry_
        .GetCounter("simulator_actions_total", "",
                    {{"action", action}, {"matched", matched ? "true" : "false"}})
        .Value();
  }
  double Total() {
    double n = 0;
    for (A a : AllActions())
      n += Count(std::string(ToString(a)), true) + Count(std::string(ToString(a)), false);
    return n;
  }

  std::mutex mu_;
  MetricsRegistry registry_;
  std::unique_ptr<Simulator> sim_;
  ScenarioApi api_;
  int64_t now_ = kLiveStart;
};

TEST_F(ActionApiTest, AMatchingActionIs200WithTheScenarioNowRecovering) {
  Start("LATENCY_SPIKE");
  const int64_t end_before = sim_->Active().at(0).ends_at_ms;
  HttpReply r = Post({{"action", "kill_long_queries"}, {"service", "payment-service"}});
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = Json::parse(r.body);
  EXPECT_EQ(j["action"], "kill_long_queries");
  EXPECT_EQ(j["service"], "payment-service");
  EXPECT_EQ(j["matched"], true);
  EXPECT_EQ(j["scenario"], "LATENCY_SPIKE");
  EXPECT_EQ(j["phase"], "recovering");
  EXPECT_EQ(j["phase_before"], "holding");
  EXPECT_EQ(j["undo"], false);
  EXPECT_TRUE(j["idempotency_key"].is_null());
  EXPECT_EQ(j["simulated_time_ms"], now_);
  EXPECT_EQ(j["ends_at_ms"], now_ + 36000);
  EXPECT_LT(j["ends_at_ms"].get<int64_t>(), end_before);
  EXPECT_TRUE(j["message"].is_string());
  EXPECT_EQ(Count("kill_long_queries", true), 1);
  Json listed = Json::parse(api_.List().body)["active"][0];
  EXPECT_EQ(listed["ends_at_ms"], now_ + 36000);
  EXPECT_EQ(listed["remediated_at_ms"], now_);
}

TEST_F(ActionApiTest, ActionsThatFixNothingAre200Unmatched) {
  Start("BAD_DEPLOY_LATENCY");
  const int64_t end = sim_->Active().at(0).ends_at_ms;
  Json j = Json::parse(Post({{"action", "scale_out"}, {"service", "payment-service"}}).body);
  EXPECT_EQ(j["matched"], false);
  EXPECT_EQ(j["scenario"], "BAD_DEPLOY_LATENCY");
  EXPECT_EQ(j["phase"], j["phase_before"]);
  j = Json::parse(Post({{"action", "rollback"},
                        {"service", "payment-service"},
                        {"deployment_version", "0.0.1"}})
                      .body);
  EXPECT_EQ(j["matched"], false);
  j = Json::parse(Post({{"action", "rollback"}, {"service", "payment-service"}, {"undo", true}}).body);
  EXPECT_EQ(j["matched"], false);
  EXPECT_EQ(j["undo"], true);
  j = Json::parse(Post({{"action", "escalate"}, {"service", "payment-service"}}).body);
  EXPECT_EQ(j["matched"], false);
  HttpReply idle = Post({{"action", "restart"}, {"service", "inventory-service"}});
  EXPECT_EQ(idle.status, 200);
  j = Json::parse(idle.body);
  EXPECT_EQ(j["matched"], false);
  EXPECT_TRUE(j["scenario"].is_null());
  EXPECT_TRUE(j["phase"].is_null());
  EXPECT_TRUE(j["ends_at_ms"].is_null());
  EXPECT_EQ(Post({{"action", "restart"}, {"service", "no-such-service"}}).status, 200);
  EXPECT_EQ(sim_->Active().at(0).ends_at_ms, end);
  EXPECT_EQ(Count("scale_out", false), 1);
  EXPECT_EQ(Count("rollback", false), 2);
  EXPECT_EQ(Count("restart", false), 2);
  EXPECT_EQ(Total(), 6);

  // Unknown fields are ignored; the right version matches.
  j = Json::parse(Post({{"action", "rollback"},
                        {"service", "payment-service"},
                        {"deployment_version", *sim_->Active().at(0).deployment_version},
                        {"incident_id", "whatever"}})
                      .body);
  EXPECT_EQ(j["matched"], true);
}

TEST_F(ActionApiTest, BadRequestsAre400NamingTheField) {
  Start("MEMORY_LEAK");
  const int64_t end = sim_->Active().at(0).ends_at_ms;
  struct Case {
    std::string body, field;
  } cases[] = {
      {"not json", ""},
      {"[1, 2]", ""},
      {"{\"action\": \"restart\", ", ""},
      {R"({"service": "notification-service"})", "action"},
      {R"({"action": null, "service": "notification-service"})", "action"},
      {R"({"action": 3, "service": "notification-service"})", "action"},
      {R"({"action": "reboot", "service": "notification-service"})", "action"},
      {R"({"action": "RESTART", "service": "notification-service"})", "action"},
      {R"({"action": "restart"})", "service"},
      {R"({"action": "restart", "service": ""})", "service"},
      {R"({"action": "restart", "service": 7})", "service"},
      {R"({"action": "restart", "service": ")" + std::string(101, 'a') + "\"}", "service"},
      {R"({"action": "restart", "service": "notification service"})", "service"},
      {R"({"action": "restart", "service": "notification/service"})", "service"},
      {R"({"action": "restart", "service": "notification\u0000service"})", "service"},
      {R"({"action": "restart", "service": "notificatión-service"})", "service"},
      {R"({"action": "rollback", "service": "x", "deployment_version": 1})", "deployment_version"},
      {R"({"action": "rollback", "service": "x", "deployment_version": ")" +
           std::string(129, 'v') + "\"}",
       "deployment_version"},
      {R"({"action": "restart", "service": "x", "undo": "yes"})", "undo"},
      {R"({"action": "restart", "service": "x", "idempotency_key": 5})", "idempotency_key"},
      {R"({"action": "restart", "service": "x", "idempotency_key": ")" + std::string(201, 'k') +
           "\"}",
       "idempotency_key"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body.substr(0, 80));
    HttpReply r = api_.Action(JsonBody(c.body), c.body);
    EXPECT_EQ(r.status, 400);
    Json j = Json::parse(r.body);
    EXPECT_TRUE(j["error"].is_string());
    EXPECT_EQ(j["field"], c.field);
  }
  // The longest service name allowed is fine (and unknown: 200, no match).
  std::string longest = R"({"action": "restart", "service": ")" + std::string(100, 'a') + "\"}";
  EXPECT_EQ(api_.Action(JsonBody(longest), longest).status, 200);
  // The header's key and the body's must agree.
  PostHeaders h;
  h.idempotency_key = "k-1";
  HttpReply mismatch =
      Post({{"action", "restart"}, {"service", "notification-service"}, {"idempotency_key", "k-2"}}, h);
  EXPECT_EQ(mismatch.status, 400);
  EXPECT_EQ(Json::parse(mismatch.body)["field"], "idempotency_key");
  EXPECT_EQ(Total(), 1);
  EXPECT_EQ(sim_->Active().at(0).ends_at_ms, end);
}

TEST_F(ActionApiTest, ARepeatedIdempotencyKeyReplaysTheFirstReplyWithoutApplyingAgain) {
  Start("KAFKA_CONSUMER_LAG");
  Json body = {{"action", "reset_consumer"},
               {"service", "order-service"},
               {"idempotency_key", "3f0c8a7e-5d1b-4f7a-9a51-2c4e6b8d0f12"}};
  HttpReply first = Post(body);
  ASSERT_EQ(first.status, 200);
  EXPECT_TRUE(first.headers.empty());
  EXPECT_EQ(Json::parse(first.body)["matched"], true);
  EXPECT_EQ(Json::parse(first.body)["idempotency_key"], "3f0c8a7e-5d1b-4f7a-9a51-2c4e6b8d0f12");
  const int64_t end = sim_->Active().at(0).ends_at_ms;
  sim_->Tick(now_ + kTickMs);  // a later retry, the clock having moved on

  HttpReply replay = Post(body);
  EXPECT_EQ(replay.status, 200);
  EXPECT_EQ(replay.body, first.body);
  EXPECT_EQ(replay.headers,
            (std::vector<std::pair<std::string, std::string>>{{"Idempotent-Replay", "true"}}));
  // The key as a header is the same key.
  PostHeaders h;
  h.idempotency_key = "3f0c8a7e-5d1b-4f7a-9a51-2c4e6b8d0f12";
  HttpReply by_header = Post({{"action", "reset_consumer"}, {"service", "order-service"}}, h);
  EXPECT_EQ(by_header.body, first.body);
  EXPECT_EQ(by_header.headers.size(), 1u);
  EXPECT_EQ(Count("reset_consumer", true), 1);
  EXPECT_EQ(sim_->Active().at(0).ends_at_ms, end);

  // The undo of that action, under the same key (as the remediation agent sends it), is a
  // request of its own: no change, its own reply, replayed in turn.
  Json undo = body;
  undo["undo"] = true;
  HttpReply undone = Post(undo);
  EXPECT_TRUE(undone.headers.empty());
  EXPECT_EQ(Json::parse(undone.body)["undo"], true);
  EXPECT_EQ(Json::parse(undone.body)["matched"], false);
  EXPECT_EQ(Post(undo).body, undone.body);
  EXPECT_EQ(Count("reset_consumer", false), 1);
  EXPECT_EQ(sim_->Active().at(0).ends_at_ms, end);

  // Another key applies again: already recovering.
  h.idempotency_key = "another";
  Json again = Json::parse(Post({{"action", "reset_consumer"}, {"service", "order-service"}}, h).body);
  EXPECT_EQ(again["idempotency_key"], "another");
  EXPECT_NE(again["message"].get<std::string>().find("already recovering"), std::string::npos);
  EXPECT_EQ(Count("reset_consumer", true), 2);
}

TEST_F(ActionApiTest, TheLast1000KeysAreRemembered) {
  auto post = [&](int i) {
    PostHeaders h;
    h.idempotency_key = "key-" + std::to_string(i);
    return Post({{"action", "escalate"}, {"service", "payment-service"}}, h);
  };
  for (int i = 0; i <= 1000; ++i) ASSERT_TRUE(post(i).headers.empty()) << i;
  EXPECT_TRUE(post(0).headers.empty());        // forgotten: applied again
  EXPECT_EQ(post(1000).headers.size(), 1u);    // still remembered
  EXPECT_EQ(Count("escalate", false), 1002);
}

TEST_F(ActionApiTest, ThePostIsScreenedLikeEveryOther) {
  Start("CPU_SATURATION");
  const std::string body = R"({"action": "scale_out", "service": "api-gateway"})";
  // A JSON content type is required, with or without a body.
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", ""}) {
    HttpReply r = api_.Action(JsonBody(body, type), body);
    EXPECT_EQ(r.status, 415) << type;
  }
  EXPECT_EQ(api_.Screen(PostRoute::kAction, PostHeaders{})->status, 415);
  EXPECT_EQ(api_.Screen(PostRoute::kAction, JsonBody(body)), std::nullopt);
  // Size.
  std::string over = body;
  over.append(kMaxBodyBytes + 1 - over.size(), ' ');
  EXPECT_EQ(api_.Action(JsonBody(over), over).status, 413);
  PostHeaders chunked = JsonBody(over);
  chunked.content_length.clear();
  chunked.transfer_encoding = "chunked";
  EXPECT_EQ(api_.Action(chunked, over).status, 413);
  // Origin.
  PostHeaders cross = JsonBody(body);
  cross.origin = "http://evil.example";
  EXPECT_EQ(api_.Action(cross, body).status, 403);
  // Token.
  ScenarioApi secured(*sim_, mu_, registry_, RunInfo{100, "off"}, Secret("t0ken"));
  HttpReply missing = secured.Action(JsonBody(body), body);
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.headers,
            (std::vector<std::pair<std::string, std::string>>{{"WWW-Authenticate", "Bearer"}}));
  PostHeaders wrong = JsonBody(body);
  wrong.authorization = "Bearer t0ke";
  EXPECT_EQ(secured.Action(wrong, body).status, 401);
  EXPECT_EQ(Total(), 0);
  EXPECT_FALSE(sim_->Active().at(0).remediated_at_ms.has_value());

  PostHeaders right = JsonBody(body);
  right.authorization = "Bearer t0ken";
  right.origin = "http://localhost:8100";
  HttpReply ok = secured.Action(right, body);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(Json::parse(ok.body)["matched"], true);
  EXPECT_EQ(Count("scale_out", true), 1);
}

TEST_F(ActionApiTest, EveryActionAndOutcomeIsExportedFromTheStart) {
  std::string text = registry_.Render();
  for (A a : AllActions())
    for (const char* matched : {"true", "false"}) {
      std::string series = "simulator_actions_total{action=\"" + std::string(ToString(a)) +
                           "\",matched=\"" + matched + "\"} 0";
      EXPECT_NE(text.find(series), std::string::npos) << series;
    }
}

}  // namespace
}  // namespace sre::sim
