#include <gtest/gtest.h>

#include "knowledge/knowledge_base.h"
#include "tests/support/test_stack.h"

namespace sre::knowledge {
namespace {

const std::string kDir = std::string(SRE_TEST_SOURCE_DIR) + "/knowledge";

Database& Db() {
  static Database db(testing::Stack().database_url);
  static bool migrated = db.Migrate().ok();
  EXPECT_TRUE(migrated);
  return db;
}

TEST(KnowledgeSeedTest, SeedingIsIdempotentAndPicksUpEdits) {
  SRE_REQUIRE_STACK();
  auto docs = LoadAll(kDir);
  ASSERT_TRUE(docs.ok()) << docs.status().message();
  ASSERT_TRUE(Seed(Db(), *docs).ok());
  auto again = Seed(Db(), *docs);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->inserted + again->updated + again->removed, 0);
  EXPECT_EQ(again->unchanged, static_cast<int>(docs->size()));

  auto edited = *docs;
  edited[0].chunks[2].content += " Also rotated the credentials.";
  edited.pop_back();
  auto changed = Seed(Db(), edited);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->updated, 1);
  EXPECT_EQ(changed->removed, 1);
  auto restored = Seed(Db(), *docs);
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(restored->updated, 1);
  EXPECT_EQ(restored->inserted, 1);
}

struct Scenario {
  std::string name, anomaly_type, service, category, query, runbook;
};

// What an investigation of each simulator scenario asks the knowledge base: the anomaly, the
// service, the metric and the error lines it saw.
const std::vector<Scenario> kScenarios = {
    {"LATENCY_SPIKE", "LATENCY_SPIKE", "payment-service", "DATABASE_BOTTLENECK",
     "latency spike payment-service latency_p99_ms slow query on payments table took 6834 ms", "runbook:rb-latency-spike"},
    {"ERROR_RATE_SPIKE", "ERROR_RATE_SPIKE", "order-service", "APPLICATION_BUG",
     "error rate spike order-service NullPointerException in order processing", "runbook:rb-error-rate-spike"},
    {"CPU_SATURATION", "CPU_SATURATION", "api-gateway", "CPU_EXHAUSTION",
     "cpu saturation api-gateway cpu_percent 97 GC pause thread pool exhausted request rate flat",
     "runbook:rb-cpu-saturation"},
    {"MEMORY_LEAK", "MEMORY_LEAK", "notification-service", "RESOURCE_LEAK",
     "memory leak notification-service memory_percent heap usage OutOfMemoryError", "runbook:rb-memory-leak"},
    {"DB_CONNECTION_EXHAUSTION", "DB_CONNECTION_EXHAUSTION", "payment-service", "DATABASE_BOTTLENECK",
     "db connection exhaustion payment-service connection pool exhausted HikariPool connection is not available",
     "runbook:rb-db-connection-exhaustion"},
    {"KAFKA_CONSUMER_LAG", "KAFKA_CONSUMER_LAG", "order-service", "CONSUMER_STALL",
     "kafka consumer lag order-service consumer group rebalance max.poll.interval exceeded",
     "runbook:rb-kafka-consumer-lag"},
    {"DEPLOYMENT_FAILURE", "DEPLOYMENT_FAILURE", "user-service", "DEPLOYMENT_REGRESSION",
     "deployment failure user-service errors after code deployment new version regression",
     "runbook:rb-deployment-failure"},
    {"PAYMENT_OUTAGE", "DEPENDENCY_OUTAGE", "api-gateway", "INFRASTRUCTURE_FAILURE",
     "dependency outage api-gateway upstream payment-service returned 503 connection refused crash",
     "runbook:rb-dependency-outage"},
    {"TRAFFIC_SURGE", "TRAFFIC_ANOMALY", "api-gateway", "TRAFFIC_SURGE",
     "traffic anomaly api-gateway request rate tripled surge rate limiting autoscaling", "runbook:rb-traffic-anomaly"},
};

TEST(KnowledgeSearchTest, MatchingRunbookRanksFirstAndASameCategoryIncidentIsInTheTopThree) {
  SRE_REQUIRE_STACK();
  auto docs = LoadAll(kDir);
  ASSERT_TRUE(docs.ok());
  ASSERT_TRUE(Seed(Db(), *docs).ok());
  for (const auto& s : kScenarios) {
    auto runbooks = Search(Db(), {s.query, "runbook", s.anomaly_type, s.service, 3});
    ASSERT_TRUE(runbooks.ok()) << runbooks.status().message();
    ASSERT_FALSE(runbooks->empty()) << s.name;
    // The anomaly type's runbook, or the cause-specific one for deployments.
    const std::string& top = runbooks->front().document_id;
    EXPECT_TRUE(top == s.runbook || (s.category == "DEPLOYMENT_REGRESSION" && top == "runbook:rb-bad-deploy-rollback"))
        << s.name << ": " << top;
    auto incidents = Search(Db(), {s.query, "incident", std::nullopt, std::nullopt, 3});
    ASSERT_TRUE(incidents.ok());
    bool found = false;
    for (const auto& h : *incidents) found = found || h.root_cause_category == s.category;
    EXPECT_TRUE(found) << s.name << ": no " << s.category << " incident in the top 3";
    // De-duplicated: one hit per document.
    for (size_t i = 1; i < incidents->size(); ++i) EXPECT_NE((*incidents)[i].document_id, (*incidents)[i - 1].document_id);
  }
}

TEST(KnowledgeSearchTest, NaturalLanguageQueriesDoNotNeedEveryWordToMatch) {
  SRE_REQUIRE_STACK();
  auto hits = Search(Db(), {"why is the checkout so slow, maybe the payments database is struggling?", std::nullopt,
                            std::nullopt, std::nullopt, 5});
  ASSERT_TRUE(hits.ok());
  ASSERT_FALSE(hits->empty());
  for (size_t i = 1; i < hits->size(); ++i) EXPECT_LE((*hits)[i].score, (*hits)[i - 1].score);
  auto none = Search(Db(), {"zzzz qqqq", std::nullopt, std::nullopt, std::nullopt, 5});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace sre::knowledge
