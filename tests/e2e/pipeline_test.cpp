// End to end: the real executables on the native stack with the accelerated simulator. Every
// scenario is injected once, one after another; each must yield exactly one incident on its
// service (callers' incidents only for PAYMENT_OUTAGE, linked to payment's), reach CLOSED with
// the right root cause in fallback mode and produce five emails in MailDev. Midway, agents are
// killed with SIGKILL and restarted: nothing may be lost or sent twice.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "shared/ids.h"
#include "shared/messages.h"
#include "shared/postgres.h"
#include "tests/support/pipeline_harness.h"
#include "tests/support/test_kafka.h"
#include "tests/support/test_stack.h"

namespace sre {
namespace {

using namespace std::chrono_literals;
using testing::Stack;

constexpr double kSpeed = 30;
const std::vector<std::string> kServices = {"api-gateway", "payment-service", "order-service",
                                            "user-service", "inventory-service", "notification-service"};
const std::vector<std::string>& kAgents = testing::PipelineHarness::Agents();

struct Expected {
  std::string scenario, service, category;
};
const std::vector<Expected> kScenarios = {
    {"LATENCY_SPIKE", "payment-service", "DATABASE_BOTTLENECK"},
    {"ERROR_RATE_SPIKE", "order-service", "APPLICATION_BUG"},
    {"CPU_SATURATION", "api-gateway", "CPU_EXHAUSTION"},
    {"MEMORY_LEAK", "notification-service", "RESOURCE_LEAK"},
    {"DB_CONNECTION_EXHAUSTION", "payment-service", "DATABASE_BOTTLENECK"},
    {"KAFKA_CONSUMER_LAG", "order-service", "CONSUMER_STALL"},
    {"DEPLOYMENT_FAILURE", "user-service", "DEPLOYMENT_REGRESSION"},
    {"BAD_DEPLOY_LATENCY", "payment-service", "DEPLOYMENT_REGRESSION"},
    {"PAYMENT_OUTAGE", "payment-service", "INFRASTRUCTURE_FAILURE"},
    {"TRAFFIC_SURGE", "api-gateway", "TRAFFIC_SURGE"},
    {"CONFIG_PUSH", "order-service", "CONFIGURATION_ERROR"},
};

struct Incident {
  std::string id, service, status, category, root_service, related;
  int64_t detection_ms = 0;
};

class Pipeline : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (Stack().kafka_bootstrap.empty()) return;
    start_wall_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    logs_ = std::filesystem::current_path().string() + "/e2e-logs";
    testing::PipelineOptions options;
    options.logs_dir = logs_;
    options.sim_speed = kSpeed;
    harness_ = std::make_unique<testing::PipelineHarness>(options);
    std::string error;
    ASSERT_TRUE(harness_->Start(&error)) << error;
  }
  static void TearDownTestSuite() { harness_.reset(); }

  static Json Api(const std::string& method, const std::string& path, int* status = nullptr) {
    return harness_->SimApi(method, path, status);
  }

  static std::vector<Incident> Incidents(int64_t since_ms) {
    std::vector<Incident> out;
    Database db(Stack().database_url);
    Status s = db.Transact([&](pqxx::work& tx) {
      for (auto row : tx.exec_params(
               "SELECT id::text, service, status, COALESCE(root_cause_category, ''), COALESCE(root_cause_service, ''), "
               " COALESCE(related_incident_id::text, ''), (extract(epoch from detection_time) * 1000)::bigint "
               "FROM incidents WHERE detection_time >= to_timestamp($1::double precision / 1000.0) "
               // The e2e stack is shared: only the rows this run wrote.
               "AND created_at >= to_timestamp($2::double precision / 1000.0) "
               "AND service IN ('api-gateway','payment-service','order-service','user-service','inventory-service',"
               "'notification-service') ORDER BY detection_time",
               since_ms, start_wall_ms_))
        out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                       row[3].as<std::string>(), row[4].as<std::string>(), row[5].as<std::string>(), row[6].as<int64_t>()});
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.message();
    return out;
  }

  static Json MailDev() {
    std::string url = Stack().maildev_url.substr(7);  // http://
    auto colon = url.find(':');
    httplib::Client c(url.substr(0, colon), std::stoi(url.substr(colon + 1)));
    auto r = c.Get("/email");
    return r ? Json::parse(r->body, nullptr, false) : Json::array();
  }

  struct Mail {
    std::string subject, message_id;
  };
  static std::vector<Mail> Mails(const std::string& incident_id) {
    std::vector<Mail> out;
    std::string number = IncidentNumber(incident_id);
    for (const auto& m : MailDev())
      if (m.is_object() && m.value("subject", std::string()).find(number) != std::string::npos)
        out.push_back({m["subject"], m.value("messageId", std::string())});
    return out;
  }
  static std::set<std::string> MessageIds(const std::string& incident_id) {
    std::set<std::string> ids;
    for (const auto& m : Mails(incident_id)) ids.insert(m.message_id);
    return ids;
  }
  // Emails the communication agent resent because their sender was killed mid-conversation.
  static int InDoubtResends(const std::string& incident_id) {
    int n = 0;
    Database db(Stack().database_url);
    EXPECT_TRUE(db.Transact([&](pqxx::work& tx) {
                    n = tx.exec_params1("SELECT COALESCE(sum(in_doubt_resends), 0)::int FROM emails WHERE incident_id = $1::uuid",
                                        incident_id)[0]
                            .as<int>();
                    return Status::Ok();
                  }).ok());
    return n;
  }

  static int64_t SimNow() { return harness_->SimNow(); }

  static inline std::string logs_;
  static inline int64_t start_wall_ms_ = 0;
  static inline std::unique_ptr<testing::PipelineHarness> harness_;
};

TEST_F(Pipeline, EveryScenarioEndToEndWithAgentRestarts) {
  SRE_REQUIRE_STACK();
  const int64_t test_start_wall_ms = start_wall_ms_;
  ASSERT_TRUE(testing::Eventually([] { return SimNow() > 0; }, 60s, 200ms)) << "simulator API did not come up";
  Json info = Api("GET", "/api/scenarios");
  const int64_t live_start = info.value("live_start_ms", int64_t{0});
  const int64_t backfill_start = live_start - 900000;
  // Quiet period: five simulated minutes of normal traffic raise nothing.
  ASSERT_TRUE(testing::Eventually([&] { return SimNow() >= live_start + 300000; }, 120s, 250ms));
  std::this_thread::sleep_for(3s);
  EXPECT_TRUE(Incidents(backfill_start).empty()) << "false alarm in the quiet period";

  std::map<std::string, std::string> root_incident;  // scenario -> incident id
  std::set<std::string> all_incidents;
  for (size_t k = 0; k < kScenarios.size(); ++k) {
    const auto& sc = kScenarios[k];
    SCOPED_TRACE(sc.scenario);
    // Two quiet simulated minutes between scenarios, as after any recovery.
    int64_t settle = SimNow() + 120000;
    ASSERT_TRUE(testing::Eventually([&] { return SimNow() >= settle; }, 60s, 200ms));
    int64_t before = SimNow();
    int status = 0;
    Json injected = Api("POST", "/api/scenarios/" + sc.scenario, &status);
    ASSERT_EQ(status, 201) << injected.dump();
    // A crash in the middle of an incident (SIGKILL, then a restart): nothing may be lost or sent
    // twice, and the restarted resolution monitor must still close the incident.
    if (k == 3 || k == 6) {
      const std::string victim = k == 3 ? "communication" : "investigation";
      ASSERT_TRUE(testing::Eventually([&] { return !Incidents(before).empty(); }, 120s, 200ms));
      harness_->Restart(victim);
    }
    // Wait for the scenario to finish and its incident to close.
    bool done = testing::Eventually(
        [&] {
          Json j = Api("GET", "/api/scenarios");
          bool active = false;
          if (j.is_object())
            for (const auto& a : j["active"]) active = active || a.value("name", std::string()) == sc.scenario;
          if (active) return false;
          auto incidents = Incidents(before);
          if (incidents.empty()) return false;
          for (const auto& i : incidents)
            if (i.status != "CLOSED") return false;
          return true;
        },
        180s, 500ms);
    auto incidents = Incidents(before);
    ASSERT_TRUE(done) << "scenario did not complete: " << incidents.size() << " incident(s); see " << logs_;
    std::vector<Incident> own, others;
    for (const auto& i : incidents) (i.service == sc.service ? own : others).push_back(i);
    ASSERT_EQ(own.size(), 1u) << "exactly one incident on " << sc.service;
    const Incident& root = own[0];
    root_incident[sc.scenario] = root.id;
    EXPECT_EQ(root.root_service, sc.service);
    EXPECT_TRUE(root.related.empty()) << "the origin's incident is linked to " << root.related;
    EXPECT_EQ(root.category, sc.category);
    for (const auto& o : others) {
      EXPECT_EQ(sc.scenario, "PAYMENT_OUTAGE") << "unexpected incident on " << o.service;
      EXPECT_EQ(o.related, root.id) << o.service << "'s incident is not linked to payment's";
      EXPECT_EQ(o.root_service, "payment-service") << o.service;
      all_incidents.insert(o.id);
    }
    all_incidents.insert(root.id);
    // After each of these scenarios the next agent is killed as well, between incidents.
    if (k == 8) {
      harness_->Restart("detection");
    }
  }
  // The learning loop: a later payment-service investigation cites an earlier incident's postmortem.
  {
    std::set<std::string> earlier;
    for (const char* name : {"LATENCY_SPIKE", "DB_CONNECTION_EXHAUSTION"}) earlier.insert(IncidentNumber(root_incident[name]));
    bool cited = false;
    Database db(Stack().database_url);
    ASSERT_TRUE(db.Transact([&](pqxx::work& tx) {
                    for (const char* name : {"BAD_DEPLOY_LATENCY", "PAYMENT_OUTAGE"}) {
                      auto r = tx.exec_params1("SELECT COALESCE(similar_incidents, '[]')::text FROM incidents WHERE id = $1::uuid",
                                               root_incident[name]);
                      for (const auto& s : Json::parse(r[0].as<std::string>()))
                        cited = cited || earlier.count(s.value("incident_id", std::string()));
                    }
                    return Status::Ok();
                  }).ok());
    EXPECT_TRUE(cited) << "no later payment-service RCA lists an earlier incident's postmortem";
  }
  // Every incident: five emails, one per stage, all in MailDev. Nothing is sent twice, except
  // that an email whose sender was SIGKILLed between the SMTP server's "250" and the SENT update
  // is in doubt and goes out once more with the same Message-ID (receivers drop such copies);
  // there is one such kill in this run, so at most one such copy.
  int in_doubt_total = 0;
  for (const auto& id : all_incidents) {
    SCOPED_TRACE(IncidentNumber(id));
    ASSERT_TRUE(testing::Eventually([&] { return MessageIds(id).size() >= 5; }, 60s, 500ms)) << Mails(id).size();
    std::this_thread::sleep_for(500ms);
    auto mails = Mails(id);
    std::map<std::string, std::set<std::string>> kinds;  // [RCA] -> its Message-IDs
    for (const auto& m : mails) kinds[m.subject.substr(0, m.subject.find(']') + 1)].insert(m.message_id);
    EXPECT_EQ(MessageIds(id).size(), 5u);
    EXPECT_EQ(kinds.size(), 5u);
    for (const auto& [kind, ids] : kinds) EXPECT_EQ(ids.size(), 1u) << kind;
    EXPECT_TRUE(kinds.count("[RCA]") && kinds.count("[PLAN]") && kinds.count("[RESOLVED]") && kinds.count("[POSTMORTEM]"));
    int in_doubt = InDoubtResends(id);
    in_doubt_total += in_doubt;
    EXPECT_GE(mails.size(), 5u);  // an in-doubt email may or may not have reached the server the first time
    EXPECT_LE(mails.size(), 5u + static_cast<size_t>(in_doubt));
  }
  EXPECT_LE(in_doubt_total, 1);
  // Zero dead letters from the pipeline's agents during this test (the reliability suite shares
  // the stack and dead-letters on purpose).
  int dead = 0;
  for (const auto& m : testing::ReadAll(Stack().kafka_bootstrap, topics::kDeadLetters)) {
    auto dl = Decode<DeadLetter>(m.payload);
    if (dl.ok() && dl->timestamp >= test_start_wall_ms &&
        std::find(kAgents.begin(), kAgents.end(), dl->agent) != kAgents.end())
      ++dead;
  }
  EXPECT_EQ(dead, 0);
  for (auto& [name, p] : harness_->processes()) EXPECT_TRUE(p->Running()) << name << " died; see " << p->log_path();
}

}  // namespace
}  // namespace sre
