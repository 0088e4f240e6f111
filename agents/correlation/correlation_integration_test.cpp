// Correlation against real Redis, PostgreSQL and sre-devbroker: when the origin's incident opens
// after its callers' (PAYMENT_OUTAGE seen first from order, then api-gateway linked to order's),
// the callers' incidents are re-linked to it, once, with a LINKED_TO_ORIGIN event each; a
// redelivery changes nothing.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "agents/correlation/service.h"
#include "shared/ids.h"
#include "shared/redis_keys.h"
#include "tests/support/test_stack.h"

namespace sre::correlation {
namespace {

// The shipped catalogue with every service renamed "<name>-<suffix>", so this test's locks and
// series cannot meet another test's.
ServiceCatalog RenamedCatalog(const std::string& suffix) {
  std::ifstream in(std::string(SRE_TEST_SOURCE_DIR) + "/knowledge/architecture/services.json");
  std::stringstream buf;
  buf << in.rdbuf();
  std::string text = buf.str();
  for (const char* name : {"api-gateway", "payment-service", "order-service", "user-service",
                           "inventory-service", "notification-service"}) {
    std::string from = std::string("\"") + name + "\"",
                to = std::string("\"") + name + "-" + suffix + "\"";
    for (size_t pos = text.find(from); pos != std::string::npos;
         pos = text.find(from, pos + to.size()))
      text.replace(pos, from.size(), to);
  }
  auto catalog = ServiceCatalog::Parse(text);
  EXPECT_TRUE(catalog.ok()) << catalog.status().message();
  return *catalog;
}

TEST(CorrelationServiceTest, TheOriginAdoptsItsCallersIncidentsOnce) {
  SRE_REQUIRE_STACK();
  RedisClient redis(*ParseRedisUrl(testing::Stack().redis_url));
  Database db(testing::Stack().database_url);
  ASSERT_TRUE(db.Migrate().ok());
  auto producer = Producer::Create({testing::Stack().kafka_bootstrap, {}});
  ASSERT_TRUE(producer.ok());
  std::string suffix = testing::Unique("c");
  ServiceCatalog catalog = RenamedCatalog(suffix);
  const std::string payment = "payment-service-" + suffix, order = "order-service-" + suffix,
                    gateway = "api-gateway-" + suffix;
  const int64_t t0 = 1763892000000;
  std::map<std::string, std::string> incident = {
      {payment, NewUuid()}, {order, NewUuid()}, {gateway, NewUuid()}};
  ASSERT_TRUE(db.Transact([&](pqxx::work& tx) {
                  for (const auto& [svc, id] : incident)
                    tx.exec_params(
                        "INSERT INTO incidents (id, status, anomaly_type, severity, service, "
                        "trigger_metric, "
                        "detection_time) VALUES ($1::uuid, $2, 'ERROR_RATE_SPIKE', 'CRITICAL', $3, "
                        "'error_rate', to_timestamp($4::double precision / 1000.0))",
                        id, svc == payment ? "DETECTING" : "INVESTIGATING", svc, t0 - 20000);
                  // api-gateway alerted after order and linked to it, before payment's incident existed.
                  tx.exec_params("UPDATE incidents SET related_incident_id = $1::uuid WHERE id = $2::uuid",
                                 incident[order], incident[gateway]);
                  return Status::Ok();
                }).ok());
  for (const auto& svc : {order, gateway})
    ASSERT_TRUE(redis.Command({"SET", keys::OpenIncidentLock(svc), incident[svc]}).ok());
  ASSERT_TRUE(redis.Command({"SET", keys::OpenIncidentLock(payment), incident[payment]}).ok());

  CorrelationService service(redis, db, **producer, catalog);
  AnomalyDetected a;
  a.event_id = NewUuid();
  a.timestamp = a.detection_time = t0;
  a.incident_id = incident[payment];
  a.anomaly_type = AnomalyType::ERROR_RATE_SPIKE;
  a.severity = Severity::CRITICAL;
  a.service = payment;
  a.trigger_metric = "error_rate";
  a.observed_value = 40;
  a.baseline_mean = 0.5;
  a.baseline_std = 0.1;
  a.deviation_sigma = 30;
  a.anomaly_score = 0.99;
  a.description = "payment errors";
  InboundMessage m{topics::kAnomaliesDetected, 0, 0, a.incident_id, Encode(a)};
  ASSERT_TRUE(service.Handle(m).ok());
  ASSERT_TRUE(service.Handle(m).ok());  // a redelivery

  ASSERT_TRUE(
      db.Transact([&](pqxx::work& tx) {
          for (const auto& [svc, id] : incident) {
            auto r = tx.exec_params1(
                "SELECT COALESCE(related_incident_id::text, '') FROM incidents WHERE id = $1::uuid",
                id);
            EXPECT_EQ(r[0].as<std::string>(), svc == payment ? "" : incident[payment]) << svc;
            auto n = tx.exec_params1(
                "SELECT count(*) FROM agent_events WHERE incident_id = $1::uuid AND event_type = "
                "'LINKED_TO_ORIGIN'",
                id);
            EXPECT_EQ(n[0].as<int>(), svc == payment ? 0 : 1) << svc;
          }
          auto status = tx.exec_params1("SELECT status FROM incidents WHERE id = $1::uuid",
                                        incident[payment]);
          EXPECT_EQ(status[0].as<std::string>(), "INVESTIGATING");
          return Status::Ok();
        }).ok());
  for (const auto& [svc, id] : incident) (void)redis.Command({"DEL", keys::OpenIncidentLock(svc)});
}

}  // namespace
}  // namespace sre::correlation
