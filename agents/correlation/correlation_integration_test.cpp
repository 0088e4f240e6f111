// Correlation against real Redis, PostgreSQL and sre-devbroker: when the origin's incident opens
// after its callers' (PAYMENT_OUTAGE seen first from order, then api-gateway linked to order's),
// the callers' incidents are re-linked to it, once, with a LINKED_TO_ORIGIN event each; a
// redelivery changes nothing.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <map>
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

// payment-service's incident opens at t0 with order-service's and api-gateway's already open
// (detected `caller_lead_ms` earlier); `setup` may change the callers' rows first. Returns each
// incident's related_incident_id ("" for none) and LINKED_TO_ORIGIN count, by service.
struct Adoption {
  std::string payment, order, gateway;
  std::map<std::string, std::string> incident, related;
  std::map<std::string, int> linked_events;
};
Adoption RunOrigin(int64_t caller_lead_ms, const std::function<void(pqxx::work&, Adoption&)>& setup) {
  Adoption out;
  RedisClient redis(*ParseRedisUrl(testing::Stack().redis_url));
  Database db(testing::Stack().database_url);
  EXPECT_TRUE(db.Migrate().ok());
  auto producer = Producer::Create({testing::Stack().kafka_bootstrap, {}});
  EXPECT_TRUE(producer.ok());
  std::string suffix = testing::Unique("c");
  ServiceCatalog catalog = RenamedCatalog(suffix);
  out.payment = "payment-service-" + suffix, out.order = "order-service-" + suffix,
  out.gateway = "api-gateway-" + suffix;
  const int64_t t0 = 1763892000000;
  out.incident = {{out.payment, NewUuid()}, {out.order, NewUuid()}, {out.gateway, NewUuid()}};
  EXPECT_TRUE(db.Transact([&](pqxx::work& tx) {
                  for (const auto& [svc, id] : out.incident)
                    tx.exec_params(
                        "INSERT INTO incidents (id, status, anomaly_type, severity, service, "
                        "trigger_metric, "
                        "detection_time) VALUES ($1::uuid, $2, 'ERROR_RATE_SPIKE', 'CRITICAL', $3, "
                        "'error_rate', to_timestamp($4::double precision / 1000.0))",
                        id, svc == out.payment ? "DETECTING" : "INVESTIGATING", svc,
                        svc == out.payment ? t0 : t0 - caller_lead_ms);
                  setup(tx, out);
                  return Status::Ok();
                }).ok());
  for (const auto& [svc, id] : out.incident)
    EXPECT_TRUE(redis.Command({"SET", keys::OpenIncidentLock(svc), id}).ok());

  CorrelationService service(redis, db, **producer, catalog);
  AnomalyDetected a;
  a.event_id = NewUuid();
  a.timestamp = a.detection_time = t0;
  a.incident_id = out.incident[out.payment];
  a.anomaly_type = AnomalyType::ERROR_RATE_SPIKE;
  a.severity = Severity::CRITICAL;
  a.service = out.payment;
  a.trigger_metric = "error_rate";
  a.observed_value = 40;
  a.baseline_mean = 0.5;
  a.baseline_std = 0.1;
  a.deviation_sigma = 30;
  a.anomaly_score = 0.99;
  a.description = "payment errors";
  InboundMessage m{topics::kAnomaliesDetected, 0, 0, a.incident_id, Encode(a)};
  EXPECT_TRUE(service.Handle(m).ok());
  EXPECT_TRUE(service.Handle(m).ok());  // a redelivery

  EXPECT_TRUE(
      db.Transact([&](pqxx::work& tx) {
          for (const auto& [svc, id] : out.incident) {
            out.related[svc] = tx.exec_params1(
                "SELECT COALESCE(related_incident_id::text, '') FROM incidents WHERE id = $1::uuid",
                id)[0].as<std::string>();
            out.linked_events[svc] = tx.exec_params1(
                "SELECT count(*) FROM agent_events WHERE incident_id = $1::uuid AND event_type = "
                "'LINKED_TO_ORIGIN'",
                id)[0].as<int>();
          }
          auto status = tx.exec_params1("SELECT status FROM incidents WHERE id = $1::uuid",
                                        out.incident[out.payment]);
          EXPECT_EQ(status[0].as<std::string>(), "INVESTIGATING");
          return Status::Ok();
        }).ok());
  for (const auto& [svc, id] : out.incident) (void)redis.Command({"DEL", keys::OpenIncidentLock(svc)});
  return out;
}

TEST(CorrelationServiceTest, TheOriginAdoptsItsCallersIncidentsOnce) {
  SRE_REQUIRE_STACK();
  // api-gateway alerted after order and linked to it, before payment's incident existed.
  Adoption r = RunOrigin(20000, [](pqxx::work& tx, Adoption& a) {
    tx.exec_params("UPDATE incidents SET related_incident_id = $1::uuid WHERE id = $2::uuid", a.incident[a.order],
                   a.incident[a.gateway]);
  });
  for (const auto& [svc, id] : r.incident) {
    EXPECT_EQ(r.related[svc], svc == r.payment ? "" : r.incident[r.payment]) << svc;
    EXPECT_EQ(r.linked_events[svc], svc == r.payment ? 0 : 1) << svc;
  }
}

// Seen in a demo: notification-service's own consumer stall (its RCA blamed itself) was adopted
// two minutes later by user-service's unrelated deployment failure, because it calls user-service.
TEST(CorrelationServiceTest, ACallersIncidentWithItsOwnCauseOrFromLongBeforeIsNotAdopted) {
  SRE_REQUIRE_STACK();
  Adoption own = RunOrigin(20000, [](pqxx::work& tx, Adoption& a) {
    tx.exec_params("UPDATE incidents SET root_cause_service = service, root_cause_category = 'CONSUMER_STALL' "
                   "WHERE id = $1::uuid",
                   a.incident[a.order]);
  });
  EXPECT_EQ(own.related[own.order], "");
  EXPECT_EQ(own.linked_events[own.order], 0);
  EXPECT_EQ(own.related[own.gateway], own.incident[own.payment]);  // its RCA is not in: adopted

  Adoption old = RunOrigin(10 * 60000, [](pqxx::work&, Adoption&) {});
  EXPECT_EQ(old.related[old.order], "");
  EXPECT_EQ(old.related[old.gateway], "");
}

}  // namespace
}  // namespace sre::correlation
