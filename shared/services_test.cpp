#include "shared/services.h"

#include <gtest/gtest.h>

#include "shared/messages.h"

namespace sre {
namespace {

TEST(ServiceCatalogTest, TheShippedCatalogIsValidAndComplete) {
  auto c = ServiceCatalog::Load(std::string(SRE_TEST_SOURCE_DIR) +
                                "/knowledge/architecture/services.json");
  ASSERT_TRUE(c.ok()) << c.status().message();
  std::vector<std::string> names;
  for (const auto& s : c->services()) names.push_back(s.name);
  EXPECT_EQ(names, (std::vector<std::string>{"api-gateway", "payment-service", "order-service",
                                             "user-service", "inventory-service",
                                             "notification-service"}));
  const auto* gw = c->Find("api-gateway");
  ASSERT_NE(gw, nullptr);
  EXPECT_EQ(gw->downstream,
            (std::vector<std::string>{"payment-service", "order-service", "user-service"}));
  const auto* payment = c->Find("payment-service");
  ASSERT_NE(payment, nullptr);
  EXPECT_DOUBLE_EQ(payment->baseline.at("latency_p99_ms"), 380);
  EXPECT_EQ(payment->db_pool_size, 100);
  EXPECT_EQ(c->Find("nope"), nullptr);
}

TEST(ServiceCatalogTest, RejectsInconsistentCatalogs) {
  auto base = [] {
    Json svc = {
        {"name", "a"},
        {"team", "t"},
        {"criticality", "P0"},
        {"sla", {{"availability_pct", 99.9}, {"latency_p99_ms", 500}, {"error_rate_pct", 1}}},
        {"language", "go"},
        {"description", ""},
        {"downstream", Json::array()},
        {"upstream", Json::array()},
        {"datastores", Json::array()},
        {"db_pool_size", 10},
        {"consumes_topics", Json::array()},
        {"produces_topics", Json::array()},
        {"common_failure_modes", Json::array()},
        {"oncall",
         {{"primary", "a@x"}, {"secondary", ""}, {"slack", ""}, {"escalation", Json::array()}}},
        {"owner", "a@x"},
        {"runbooks", Json::array()}};
    Json baseline = Json::object(), noise = Json::object();
    for (const char* m : metrics::kAll) {
      baseline[m] = 1.0;
      noise[m] = 0.1;
    }
    svc["baseline"] = baseline;
    svc["noise"] = noise;
    Json b = svc;
    b["name"] = "b";
    return Json{{"schema_version", 1}, {"services", {svc, b}}};
  };
  struct Case {
    std::string name;
    std::function<void(Json&)> mutate;
    std::string expected;
  } cases[] = {
      {"ok", [](Json&) {}, ""},
      {"criticality", [](Json& j) { j["services"][0]["criticality"] = "P7"; },
       "criticality must be P0, P1 or P2"},
      {"missing baseline", [](Json& j) { j["services"][1]["baseline"].erase("db_connections"); },
       "b: no baseline for db_connections"},
      {"unknown downstream", [](Json& j) { j["services"][0]["downstream"] = {"zzz"}; },
       "unknown downstream zzz"},
      {"not inverse", [](Json& j) { j["services"][0]["downstream"] = {"b"}; },
       "b.upstream must list a"},
      {"duplicate", [](Json& j) { j["services"][1]["name"] = "a"; }, "duplicate service a"},
  };
  for (const auto& c : cases) {
    Json j = base();
    c.mutate(j);
    auto r = ServiceCatalog::Parse(j.dump());
    if (c.expected.empty()) {
      EXPECT_TRUE(r.ok()) << c.name << ": " << r.status().message();
    } else {
      ASSERT_FALSE(r.ok()) << c.name;
      EXPECT_NE(r.status().message().find(c.expected), std::string::npos)
          << c.name << ": " << r.status().message();
    }
  }
}

}  // namespace
}  // namespace sre
