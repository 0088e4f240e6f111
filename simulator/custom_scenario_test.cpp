#include "simulator/custom_scenario.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "shared/json_codec.h"
#include "simulator/test_util.h"

namespace sre::sim {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f) << path;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The example the README posts and docs/simulator.md shows (issue 15: the README posted a file
// that did not exist).
const std::string kExamples = std::string(SRE_TEST_SOURCE_DIR) + "/simulator/examples";
const std::string kExample = ReadFile(kExamples + "/inventory-db-failover.json");

CustomScenarioResult Parse(const std::string& body) {
  return ParseCustomScenario(body, testing::Catalog(), {"LATENCY_SPIKE", "PAYMENT_OUTAGE"});
}

TEST(CustomScenarioTest, EveryShippedExampleIsValidAndTheDocumentedOneIsTheFile) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(kExamples)) {
    if (e.path().extension() != ".json") continue;
    ++n;
    auto r = Parse(ReadFile(e.path().string()));
    EXPECT_TRUE(r.ok()) << e.path() << ": " << r.error;
  }
  EXPECT_GE(n, 2);
  std::string doc = ReadFile(std::string(SRE_TEST_SOURCE_DIR) + "/docs/simulator.md");
  auto at = doc.find("```json\n{\n  \"name\": \"INVENTORY_DB_FAILOVER\"");
  ASSERT_NE(at, std::string::npos);
  at += 8;
  std::string block = doc.substr(at, doc.find("```", at) - at);
  EXPECT_EQ(Json::parse(block), Json::parse(kExample)) << "docs/simulator.md and simulator/examples differ";
  std::string readme = ReadFile(std::string(SRE_TEST_SOURCE_DIR) + "/README.md");
  EXPECT_NE(readme.find("-d @simulator/examples/inventory-db-failover.json"), std::string::npos);
}

TEST(CustomScenarioTest, DocumentedExampleBecomesAScenario) {
  auto r = Parse(kExample);
  ASSERT_TRUE(r.ok()) << r.error;
  const ScenarioDef& d = *r.scenario;
  EXPECT_EQ(d.name, "INVENTORY_DB_FAILOVER");
  EXPECT_EQ(d.service, "inventory-service");
  EXPECT_EQ(d.duration_ms, 240000);
  EXPECT_EQ(d.recovery_ms, 36000);
  EXPECT_TRUE(d.custom);
  EXPECT_TRUE(d.cascade);
  ASSERT_EQ(d.effects.size(), 3u);
  EXPECT_EQ(d.effects[0].metric, kLatencyP99);
  EXPECT_EQ(d.effects[0].peak, 900);
  EXPECT_EQ(d.effects[0].shape, Shape::kExponential);
  EXPECT_EQ(d.effects[0].ramp_ms, 90000);
  EXPECT_TRUE(d.effects[0].trigger);
  ASSERT_EQ(d.error_logs.size(), 2u);
  EXPECT_EQ(d.error_logs[0].level, LogLevel::WARN);
  ASSERT_TRUE(d.deployment);
  EXPECT_EQ(d.deployment->change_type, ChangeType::INFRA);
  EXPECT_EQ(d.deployment->version, "inventory-db-r18");
  EXPECT_EQ(d.deployment->lead_min_ms, 60000);
  EXPECT_EQ(d.deployment->lead_max_ms, 60000);
  EXPECT_EQ(d.root_cause_category, RootCauseCategory::INFRASTRUCTURE_FAILURE);
}

TEST(CustomScenarioTest, OptionalFieldsHaveDefaults) {
  auto r = Parse(R"({"name": "X", "service": "user-service", "duration_s": 100,
      "metrics": [{"metric": "cpu_percent", "peak": 90}, {"metric": "memory_percent", "peak": 80, "shape": "step"}],
      "ground_truth": {"root_cause_service": "user-service", "root_cause_category": "UNKNOWN"}})");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_FALSE(r.scenario->cascade);
  EXPECT_FALSE(r.scenario->deployment);
  EXPECT_TRUE(r.scenario->error_logs.empty());
  EXPECT_EQ(r.scenario->effects[0].shape, Shape::kSigmoid);
  EXPECT_EQ(r.scenario->effects[0].ramp_ms, 40000);  // 40 % of the duration
  EXPECT_EQ(r.scenario->effects[1].ramp_ms, 0);      // a step has no ramp
}

// Replaces the value at a JSON pointer of the example (or removes it when `value` is absent).
std::string Mutate(const std::string& pointer, std::optional<Json> value) {
  Json j = Json::parse(kExample);
  Json::json_pointer p(pointer);
  if (value) {
    j[p] = *value;
  } else {
    j[p.parent_pointer()].erase(p.back());
  }
  return j.dump();
}

TEST(CustomScenarioTest, BadDefinitionsNameTheOffendingField) {
  struct Case {
    std::string body;
    std::string field;
    std::string error_contains;
  } cases[] = {
      {"{not json", "", "not valid JSON"},
      {"[1, 2]", "", "must be a JSON object"},
      {Mutate("/name", std::nullopt), "name", "missing required field"},
      {Mutate("/name", ""), "name", "must not be empty"},
      {Mutate("/name", "has spaces"), "name", "letters, digits"},
      {Mutate("/name", "LATENCY_SPIKE"), "name", "built-in scenario"},
      {Mutate("/service", "billing-service"), "service", "unknown service 'billing-service'"},
      {Mutate("/service", 7), "service", "expected a string"},
      {Mutate("/duration_s", 5), "duration_s", "outside [30, 3600]"},
      {Mutate("/duration_s", "long"), "duration_s", "expected a number"},
      {Mutate("/metrics", Json::array()), "metrics", "must not be empty"},
      {Mutate("/metrics", "cpu"), "metrics", "expected an array"},
      {Mutate("/metrics/0/metric", "cpu"), "metrics[0].metric", "unknown metric 'cpu'"},
      {Mutate("/metrics/1/metric", "latency_p99_ms"), "metrics[1].metric", "more than once"},
      {Mutate("/metrics/0/peak", std::nullopt), "metrics[0].peak", "missing required field"},
      {Mutate("/metrics/0/peak", -3), "metrics[0].peak", "outside [0, "},
      {Mutate("/metrics/1/peak", 140), "metrics[1].peak", "outside [0, 100]"},
      {Mutate("/metrics/2/peak", 51), "metrics[2].peak", "db_pool_size is 50"},
      {Mutate("/metrics/0/shape", "cubic"), "metrics[0].shape",
       "unknown value 'cubic' (expected one of linear, exponential, sigmoid, step)"},
      {Mutate("/metrics/1/ramp_s", -1), "metrics[1].ramp_s", "outside [0, inf]"},
      {Mutate("/metrics/1/ramp_s", 230), "metrics[1].ramp_s", "85 % of duration_s"},
      {Mutate("/metrics/0/rampS", 30), "metrics[0].rampS", "unknown field"},
      {Mutate("/logs/1/level", "CRITICAL"), "logs[1].level", "unknown value 'CRITICAL'"},
      {Mutate("/logs/0/message", ""), "logs[0].message", "must not be empty"},
      {Mutate("/logs", Json::object()), "logs", "expected an array"},
      {Mutate("/deployment/change_type", "HOTFIX"), "deployment.change_type",
       "expected one of CODE, CONFIG, INFRA"},
      {Mutate("/deployment/version", std::nullopt), "deployment.version", "missing required field"},
      {Mutate("/deployment/lead_s", 900), "deployment.lead_s", "outside [0, 600]"},
      {Mutate("/deployment/when", "now"), "deployment.when", "unknown field"},
      {Mutate("/cascade", "yes"), "cascade", "expected true or false"},
      {Mutate("/ground_truth", std::nullopt), "ground_truth", "missing required field"},
      {Mutate("/ground_truth/root_cause_category", "GREMLINS"), "ground_truth.root_cause_category",
       "unknown value 'GREMLINS'"},
      {Mutate("/ground_truth/root_cause_service", "billing"), "ground_truth.root_cause_service",
       "unknown service 'billing'"},
      {Mutate("/severity", "HIGH"), "severity", "unknown field"},
      {Mutate("/logs/0/message", std::string(1001, 'x')), "logs[0].message", "longer than 1000"},
      {Mutate("/description", std::string(501, 'x')), "description", "longer than 500"},
      {Mutate("/deployment/description", std::string(501, 'x')), "deployment.description",
       "longer than 500"},
      {Mutate("/deployment/version", std::string(65, 'x')), "deployment.version", "longer than 64"},
      {Mutate("/" + std::string(500, 'k'), 1), std::string(64, 'k'), "unknown field"},
      {Mutate("/duration_s", 1e308), "duration_s", "outside [30, 3600]"},
      {Mutate("/metrics/0/peak", 1e308), "metrics[0].peak", "outside [0, "},
      {Mutate("/metrics/0/ramp_s", 1e308), "metrics[0].ramp_s", "85 % of duration_s"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    auto r = Parse(c.body);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.field, c.field) << r.error;
    EXPECT_NE(r.error.find(c.error_contains), std::string::npos) << r.error;
    if (!c.field.empty()) {
      EXPECT_EQ(r.error.rfind("field '" + c.field + "': ", 0), 0u) << r.error;
    }
  }
}

TEST(CustomScenarioTest, LogLinesAreBounded) {
  Json j = Json::parse(kExample);
  j["logs"] = Json::array();
  for (size_t i = 0; i < kMaxCustomLogs; ++i)
    j["logs"].push_back({{"level", "WARN"}, {"message", std::string(kMaxLogMessageBytes, 'm')}});
  auto full = Parse(j.dump());
  ASSERT_TRUE(full.ok()) << full.error;
  EXPECT_EQ(full.scenario->error_logs.size(), 50u);

  j["logs"].push_back({{"level", "WARN"}, {"message", "one too many"}});
  auto over = Parse(j.dump());
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.field, "logs");
  EXPECT_EQ(over.error, "field 'logs': 51 entries; at most 50");
}

// The shared decoding cleans text at the edge (issue 14): NUL arrives as U+FFFD, so what the
// simulator publishes is already clean; the pipeline's own edges are tested with raw NULs.
TEST(CustomScenarioTest, TextNulCharactersBecomeReplacementCharacters) {
  const std::string nul_message("disk\0full", 9), nul_version("r1\0", 3), nul_description("\0", 1);
  Json j = Json::parse(kExample);
  j["logs"][0]["message"] = nul_message;
  j["deployment"]["version"] = nul_version;
  j["deployment"]["description"] = nul_description;
  j["description"] = "a\0b";
  auto r = Parse(j.dump());
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_TRUE(r.scenario->deployment);
  EXPECT_EQ(r.scenario->deployment->version, "r1\xEF\xBF\xBD");
  EXPECT_EQ(r.scenario->deployment->description, "\xEF\xBF\xBD");
  std::mt19937_64 rng(1);
  MetricValues values{};
  LogContext ctx{rng, *testing::Catalog().Find("inventory-service"), values, 1.0, "v", "u"};
  EXPECT_EQ(r.scenario->error_logs[0].render(ctx), "disk\xEF\xBF\xBD" "full");

  // A name labels metrics and ground truth: it stays restricted.
  j["name"] = std::string("X\0Y", 3);
  auto named = Parse(j.dump());
  ASSERT_FALSE(named.ok());
  EXPECT_EQ(named.field, "name");
}

TEST(CustomScenarioTest, HostileBodiesAreRejectedWithoutThrowing) {
  const std::string deep_open(60000, '[');
  const std::string deep_pair = std::string(30000, '[') + std::string(30000, ']');
  struct Case {
    std::string body;
    std::string error_contains;
  } cases[] = {
      {"", "not valid JSON"},
      {std::string(100000, '['), "at most 65536"},  // over the size limit: never parsed
      {std::string(kMaxCustomScenarioBytes + 1, ' '), "at most 65536"},
      {deep_open, "not valid JSON"},
      {deep_pair, "must be a JSON object, got an array"},
      {std::string(60000, '{'), "not valid JSON"},
      {R"({"name": )" + deep_pair + "}", "field 'name': expected a string"},
      {R"({"logs": [)" + deep_pair + "]}", "field 'name': missing required field"},
      {R"({"name": "X", "duration_s": 1e400})", "not valid JSON"},  // overflows a double
      {R"({"name": "X", "duration_s": -1e400})", "not valid JSON"},
      {R"({"name": 18446744073709551616})", "field 'name': expected a string"},
      {"{\"name\": \"" + std::string(60000, 'A') + "\"}", "field 'name': longer than 64"},
      {"{\"name\": \"\xff\"}", "not valid JSON"},
      {"{\"name\": \"\xc0\x80\"}", "not valid JSON"},               // overlong NUL
      {"{\"name\": \"\xed\xa0\x80\"}", "not valid JSON"},           // encoded surrogate
      {R"({"name": "\ud800"})", "not valid JSON"},                  // lone surrogate escape
      {std::string("{\"name\": \"a\0b\"}", 15), "not valid JSON"},  // raw NUL inside a string
      {std::string(64, '\0'), "not valid JSON"},
      {"{} trailing", "not valid JSON"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body.substr(0, 40));
    CustomScenarioResult r;
    ASSERT_NO_THROW(r = Parse(c.body));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error.find(c.error_contains), std::string::npos) << r.error;
    EXPECT_LT(r.error.size(), 1000u);
  }
}

// A small deterministic stand-in for the libFuzzer target: byte mutations of the example.
TEST(CustomScenarioTest, MutatedBodiesNeverThrow) {
  std::mt19937_64 rng(20261204);
  const std::string example = kExample;
  const char kInteresting[] = {'\0', '"', '\\', '[', ']',    '{',    '}',    ',',
                               ':',  '-', 'e',  '9', '\x80', '\xff', '\xc3', ' '};
  size_t accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string body = example;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !body.empty(); ++e) {
      size_t at = rng() % body.size();
      switch (rng() % 4) {
        case 0:
          body[at] = kInteresting[rng() % sizeof(kInteresting)];
          break;
        case 1:
          body.erase(at, 1 + rng() % 8);
          break;
        case 2:
          body.insert(at, 1 + rng() % 3, kInteresting[rng() % sizeof(kInteresting)]);
          break;
        default:
          body.insert(at, body.substr(rng() % body.size(), rng() % 40));
      }
    }
    CustomScenarioResult r;
    ASSERT_NO_THROW(r = Parse(body)) << body;
    if (r.ok()) {
      ++accepted;
      EXPECT_FALSE(r.scenario->effects.empty());
    } else {
      EXPECT_FALSE(r.error.empty());
    }
  }
  EXPECT_GT(accepted, 0u);  // some mutations (e.g. inside strings) keep the definition valid
  EXPECT_LT(accepted, 3000u);
}

}  // namespace
}  // namespace sre::sim
