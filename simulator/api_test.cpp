#include "simulator/api.h"

#include <gtest/gtest.h>

#include "simulator/test_util.h"

namespace sre::sim {
namespace {

class ScenarioApiTest : public ::testing::Test {
 protected:
  ScenarioApiTest()
      : sim_(testing::MakeSimulator(31)), api_(*sim_, mu_, registry_, RunInfo{100, "off"}) {
    sim_->Tick(testing::kLiveStart);
  }
  double Injections(const std::string& scenario) {
    return registry_
        .GetCounter("failure_injections_total", "Failure scenarios injected, by scenario name",
                    {{"scenario", scenario}})
        .Value();
  }

  std::mutex mu_;
  MetricsRegistry registry_;
  std::unique_ptr<Simulator> sim_;
  ScenarioApi api_;
};

TEST_F(ScenarioApiTest, ListsTheCatalogueAndWhatIsActive) {
  HttpReply r = api_.List();
  ASSERT_EQ(r.status, 200);
  Json j = Json::parse(r.body);
  EXPECT_EQ(j["scenarios"].size(), 11u);
  EXPECT_EQ(j["active"].size(), 0u);
  EXPECT_EQ(j["simulated_time_ms"], testing::kLiveStart);
  EXPECT_EQ(j["schedule"], "off");
  EXPECT_EQ(j["speed"], 100.0);
  EXPECT_TRUE(j["next_injection_ms"].is_null());
  EXPECT_EQ(j["run_id"], sim_->run_id());
  const Json& first = j["scenarios"][0];
  for (const char* key : {"name", "description", "service", "duration_s", "trigger_metrics",
                          "effects", "deployment", "cascade", "ground_truth"})
    EXPECT_TRUE(first.contains(key)) << key;

  ASSERT_EQ(api_.InjectNamed("CONFIG_PUSH").status, 201);
  j = Json::parse(api_.List().body);
  ASSERT_EQ(j["active"].size(), 1u);
  EXPECT_EQ(j["active"][0]["name"], "CONFIG_PUSH");
  EXPECT_EQ(j["active"][0]["phase"], "starting");
  EXPECT_TRUE(j["active"][0]["deployment_version"].is_string());
}

TEST_F(ScenarioApiTest, InjectNamedAnswers201Then409And404) {
  EXPECT_EQ(Injections("LATENCY_SPIKE"), 0);
  HttpReply ok = api_.InjectNamed("LATENCY_SPIKE");
  EXPECT_EQ(ok.status, 201);
  Json j = Json::parse(ok.body);
  EXPECT_EQ(j["service"], "payment-service");
  EXPECT_EQ(j["started_at_ms"], testing::kLiveStart + kTickMs);
  EXPECT_EQ(Injections("LATENCY_SPIKE"), 1);

  HttpReply busy = api_.InjectNamed("BAD_DEPLOY_LATENCY");
  EXPECT_EQ(busy.status, 409);
  EXPECT_NE(Json::parse(busy.body)["error"].get<std::string>().find("payment-service"),
            std::string::npos);
  EXPECT_EQ(Injections("BAD_DEPLOY_LATENCY"), 0);

  HttpReply unknown = api_.InjectNamed("FLOOD");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(Json::parse(unknown.body)["known"].size(), 11u);
}

TEST_F(ScenarioApiTest, InjectCustomValidatesThenStarts) {
  HttpReply bad = api_.InjectCustom(R"({"name": "X", "service": "user-service", "duration_s": 60,
      "metrics": [{"metric": "cpu_percent", "peak": 90, "shape": "wobbly"}],
      "ground_truth": {"root_cause_service": "user-service", "root_cause_category": "UNKNOWN"}})");
  EXPECT_EQ(bad.status, 400);
  Json err = Json::parse(bad.body);
  EXPECT_EQ(err["field"], "metrics[0].shape");
  EXPECT_TRUE(err["error"].is_string());

  const std::string good = R"({"name": "USER_CPU", "service": "user-service", "duration_s": 60,
      "metrics": [{"metric": "cpu_percent", "peak": 90}],
      "ground_truth": {"root_cause_service": "user-service",
                       "root_cause_category": "CPU_EXHAUSTION"}})";
  HttpReply ok = api_.InjectCustom(good);
  EXPECT_EQ(ok.status, 201) << ok.body;
  EXPECT_TRUE(Json::parse(ok.body)["custom"].get<bool>());
  EXPECT_EQ(Injections("USER_CPU"), 1);
  EXPECT_EQ(api_.InjectCustom(good).status, 409);  // user-service is busy now
  EXPECT_EQ(api_.InjectNamed("DEPLOYMENT_FAILURE").status, 409);
}

}  // namespace
}  // namespace sre::sim
