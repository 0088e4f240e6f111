// shared/incident.h against PostgreSQL: the SQL status rule agrees with StatusAdvances for every
// pair, never moves back (CLOSED stays CLOSED), and LoadIncident reads what the writers store.
#include "shared/incident.h"

#include <gtest/gtest.h>

#include "shared/ids.h"
#include "shared/incident_store.h"
#include "shared/postgres.h"
#include "tests/support/test_stack.h"

namespace sre {
namespace {

constexpr int64_t kT0 = 1763892000000;

AnomalyDetected Anomaly(const std::string& id, const std::string& service) {
  AnomalyDetected a;
  a.event_id = NewUuid();
  a.timestamp = kT0;
  a.incident_id = id;
  a.anomaly_type = AnomalyType::ERROR_RATE_SPIKE;
  a.severity = Severity::HIGH;
  a.service = service;
  a.trigger_metric = "error_rate";
  a.observed_value = 9.5;
  a.baseline_mean = 0.5;
  a.baseline_std = 0.1;
  a.deviation_sigma = 90;
  a.anomaly_score = 0.97;
  a.detection_time = kT0;
  a.description = "error rate 9.5 %";
  return a;
}

TriggerBaseline Metric() {
  MetricBaseline m;
  m.mean = 0.5;
  m.std = 0.1;
  m.threshold = 3;
  m.direction = "up";
  m.since = kT0;
  m.unit = "%";
  return TriggerBaseline{m};
}

class IncidentIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::Stack().kafka_bootstrap.empty()) GTEST_SKIP() << "no native stack (SRE_STACK_ENV unset); run through ctest";
    db_ = std::make_unique<Database>(testing::Stack().database_url);
    ASSERT_TRUE(db_->Migrate().ok());
  }
  std::string NewIncident() {
    std::string id = NewUuid();
    EXPECT_TRUE(db_->Transact([&](pqxx::work& tx) {
                     InsertDetectedIncident(tx, Anomaly(id, testing::Unique("svc")), "error_rate", Metric());
                     return Status::Ok();
                   }).ok());
    return id;
  }
  Expected<StatusMove> Advance(const std::string& id, IncidentStatus to) {
    Expected<StatusMove> out = Status::Internal("not run");
    Status s = db_->Transact([&](pqxx::work& tx) {
      out = AdvanceStatus(tx, id, to);
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return out;
  }
  std::unique_ptr<Database> db_;
};

TEST_F(IncidentIntegrationTest, StatusOnlyMovesForwardAndClosedStaysClosed) {
  using S = IncidentStatus;
  const std::string id = NewIncident();
  const std::tuple<S, S, S> steps[] = {
      // to, before, after
      {S::INVESTIGATING, S::DETECTING, S::INVESTIGATING}, {S::RCA_COMPLETE, S::INVESTIGATING, S::RCA_COMPLETE},
      {S::INVESTIGATING, S::RCA_COMPLETE, S::RCA_COMPLETE},  // a late correlation
      {S::RESOLVED, S::RCA_COMPLETE, S::RESOLVED},           // resolved before the plan
      {S::REMEDIATING, S::RESOLVED, S::RESOLVED},            // the late plan
      {S::RESOLVED, S::RESOLVED, S::RESOLVED},               // resolved again
      {S::CLOSED, S::RESOLVED, S::CLOSED},
      {S::RESOLVED, S::CLOSED, S::CLOSED},  {S::DETECTING, S::CLOSED, S::CLOSED}, {S::CLOSED, S::CLOSED, S::CLOSED},
  };
  for (const auto& [to, before, after] : steps) {
    auto m = Advance(id, to);
    ASSERT_TRUE(m.ok()) << m.status().message();
    EXPECT_EQ(m->before, before) << "to " << ToString(to);
    EXPECT_EQ(m->after, after) << "to " << ToString(to);
  }
  auto unknown = Advance(NewUuid(), S::RESOLVED);
  ASSERT_FALSE(unknown.ok());
  EXPECT_TRUE(unknown.status().invalid()) << unknown.status().ToString();
}

// The SQL rule, for every (from, to), gives StatusAfter(from, to).
TEST_F(IncidentIntegrationTest, TheSqlRuleIsStatusAdvancesForEveryPair) {
  const std::string id = NewIncident();
  ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                   for (size_t f = 0; f < EnumCount<IncidentStatus>(); ++f) {
                     for (size_t t = 0; t < EnumCount<IncidentStatus>(); ++t) {
                       const auto from = static_cast<IncidentStatus>(f), to = static_cast<IncidentStatus>(t);
                       tx.exec_params("UPDATE incidents SET status = $2 WHERE id = $1::uuid", id,
                                      std::string(ToString(from)));
                       auto m = AdvanceStatus(tx, id, to);
                       EXPECT_TRUE(m.ok()) << m.status().message();
                       if (!m.ok()) continue;
                       EXPECT_EQ(m->before, from);
                       EXPECT_EQ(m->after, StatusAfter(from, to)) << ToString(from) << " -> " << ToString(to);
                       EXPECT_EQ(m->advanced(), StatusAdvances(from, to));
                       auto stored = tx.exec_params1("SELECT status FROM incidents WHERE id = $1::uuid", id);
                       EXPECT_EQ(stored[0].as<std::string>(), ToString(StatusAfter(from, to)));
                     }
                   }
                   return Status::Ok();
                 }).ok());
}

TEST_F(IncidentIntegrationTest, LoadIncidentReadsTheTypedRowAndTheTimeline) {
  const std::string id = NewIncident();
  CorrelationContext ctx;
  ctx.summary = "no recent deployment";
  CorrelationSignal s;
  s.signal_type = "CASCADE";
  s.strength = 0.6;
  s.evidence = {"likely_origin"};
  ctx.signals.push_back(s);
  BlastRadius radius{{"a", "b"}, "HIGH", "2 services"};
  ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                   tx.exec_params("UPDATE incidents SET correlation_context = $2::jsonb, blast_radius = $3::jsonb WHERE id = $1::uuid",
                                  id, Dump(ToJson(ctx)), Dump(ToJson(radius)));
                   RecordAgentEvent(tx, id, "correlation", "CORRELATION_COMPLETE", Json{{"n", 2}}, kT0 + 2000);
                   RecordAgentEvent(tx, id, "detection", "ANOMALY_DETECTED", Json{{"n", 1}}, kT0);
                   return AdvanceStatus(tx, id, IncidentStatus::INVESTIGATING).status();
                 }).ok());
  Expected<IncidentRecord> r = Status::Internal("not run");
  std::vector<AgentEvent> timeline;
  ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                   r = LoadIncident(tx, id);
                   timeline = LoadTimeline(tx, id);
                   return Status::Ok();
                 }).ok());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->id, id);
  EXPECT_EQ(r->status, IncidentStatus::INVESTIGATING);
  EXPECT_EQ(r->anomaly_type, AnomalyType::ERROR_RATE_SPIKE);
  EXPECT_EQ(r->severity, Severity::HIGH);
  EXPECT_EQ(r->detection_time, kT0);
  EXPECT_FALSE(r->resolution_time);
  EXPECT_EQ(r->observed_value, 9.5);
  EXPECT_EQ(r->affected_services, std::vector<std::string>{r->service});
  ASSERT_TRUE(r->baselines.Find("error_rate"));
  EXPECT_EQ(r->baselines.Find("error_rate")->unit(), "%");
  ASSERT_TRUE(r->correlation_context);
  EXPECT_EQ(r->correlation_context->signals.at(0).evidence.at(0), "likely_origin");
  EXPECT_FALSE(r->correlation_context->deployment);
  ASSERT_TRUE(r->blast_radius);
  EXPECT_EQ(r->blast_radius->description, "2 services");
  EXPECT_FALSE(r->rca_candidates);
  EXPECT_FALSE(r->remediation_plan);
  EXPECT_GT(r->updated_at, 0);
  ASSERT_EQ(timeline.size(), 2u);
  EXPECT_EQ(timeline[0].event_type, "ANOMALY_DETECTED");
  EXPECT_EQ(timeline[0].event_time, kT0);
  EXPECT_EQ(timeline[1].agent_name, "correlation");
  EXPECT_EQ(timeline[1].payload["n"], 2);

  // A column that does not decode is an error naming it and the field.
  ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                   tx.exec_params(
                       "UPDATE incidents SET correlation_context = jsonb_set(correlation_context, '{signals,0,strength}', '1.7') "
                       "WHERE id = $1::uuid",
                       id);
                   r = LoadIncident(tx, id);
                   return Status::Ok();
                 }).ok());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().internal());
  EXPECT_NE(r.status().message().find("column correlation_context: field 'signals[0].strength'"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace sre
