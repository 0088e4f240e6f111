// The outage drill (issue 14, "no single input or outage stops the pipeline"): the real
// executables on a native stack of the test's own, an LLM that never answers in time, and one
// incident during which Redis, PostgreSQL, the broker and the SMTP server go away in turn, each
// for SRE_OUTAGE_SECONDS (30). Redis, PostgreSQL and MailDev are stopped and started again on
// the same ports with the same data; sre-devbroker, which cannot restart without losing
// everything, is frozen (SIGSTOP/SIGCONT), as in a network partition.
//
// Asserted: while each dependency is away, the /healthz of every process that checks it answers
// non-200 within a few seconds (and the others stay 200); afterwards every process answers 200
// again within 60 s and none has exited; the incident is open when each outage starts and
// reaches CLOSED with its root cause; it is the only incident (the service logs a line that
// raises an anomaly every tick, which must join the open incident: a Redis that came back without
// its open-incident lock lets duplicates open); it has exactly five emails, one per stage, all
// SENT, delivered to MailDev once each (a copy more only for a recorded in-doubt resend), and at
// least one of them fell due while SMTP was away; no dead letters; every consumer group's lag
// drains to 0; every LLM call timed out and the agents used their fallbacks. The figures (outage
// times, time to unhealthy and back per process, MTTR, emails, run time) are printed.
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "shared/ids.h"
#include "shared/messages.h"
#include "shared/postgres.h"
#include "tests/support/fake_llm_server.h"
#include "tests/support/pipeline_harness.h"
#include "tests/support/stack_control.h"
#include "tests/support/test_kafka.h"
#include "tests/support/test_stack.h"

namespace sre {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kService = "inventory-service";
constexpr const char* kScenario = "DRILL_INVENTORY_NPE";
constexpr const char* kCategory = "APPLICATION_BUG";
constexpr int kLlmTimeoutS = 1;  // LLM_TIMEOUT_S: the smallest budget the agents accept
constexpr auto kHealthyAgain = 60s;
constexpr auto kUnhealthyWithin = 15s;
const std::vector<std::string> kEmailTypes = {"INCIDENT_ALERT", "RCA_COMPLETE", "REMEDIATION_PLAN",
                                              "INCIDENT_RESOLVED", "POSTMORTEM"};

// Each outage length, SRE_OUTAGE_SECONDS (default 30), kept within 5–150 s so that the run
// (about 90 s plus 4 outages) stays within the test's 900 s timeout.
int OutageSeconds() {
  const char* v = std::getenv("SRE_OUTAGE_SECONDS");
  int s = v ? std::atoi(v) : 30;
  return std::clamp(s, 5, 150);
}

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

__attribute__((format(printf, 1, 2))) std::string Format(const char* format, ...) {
  char buf[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buf, sizeof buf, format, args);
  va_end(args);
  return buf;
}

// Sum of the samples of one Prometheus metric whose line contains every `labels` fragment.
double MetricSum(const std::string& text, const std::string& name,
                 const std::vector<std::string>& labels = {}) {
  double sum = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name, 0) != 0 || line.size() <= name.size()) continue;
    if (line[name.size()] != '{' && line[name.size()] != ' ') continue;
    bool match = true;
    for (const auto& l : labels) match = match && line.find(l) != std::string::npos;
    if (match) sum += std::atof(line.substr(line.rfind(' ') + 1).c_str());
  }
  return sum;
}

struct Incident {
  std::string id, service, status, root_service, category;
  double mttr_s = -1;
};

struct Email {
  std::string type, message_id, status;
  int attempts = 0, in_doubt_resends = 0;
};

struct OutageFigures {
  std::string service;
  double start_s = 0, end_s = 0;  // since the test started; end: the service answers again
  double restart_s = 0;           // how long start-service / resume-service took
  std::string incident_status;    // when it started
  std::map<std::string, double> to_unhealthy, to_healthy;  // seconds from start / from end
};

class OutageDrill : public ::testing::Test {
 protected:
  void SetUp() override {
    t0_ = Clock::now();
    const std::string cwd = std::filesystem::current_path().string();
    stack_ = std::make_unique<testing::OwnStack>(cwd + "/outage-drill-stack");
    logs_ = cwd + "/outage-drill-logs";
    std::filesystem::remove_all(logs_);
  }
  void TearDown() override {
    // A failure in the middle of the broker's outage: resume it so the agents can leave their
    // groups. Then the processes, then the stack they run on; a failed run keeps the stack's logs.
    if (stack_ && harness_) stack_->Service("resume-service", "devbroker");
    harness_.reset();
    if (stack_) stack_->set_purge_on_destruction(!HasFailure());
    stack_.reset();
  }

  void Say(const std::string& what) const {
    std::printf("[drill %6.1f s] %s\n", Since(t0_), what.c_str());
    std::fflush(stdout);
  }

  std::vector<std::string> AllProcesses() const {
    std::vector<std::string> out;
    for (const auto& [name, p] : harness_->processes()) out.push_back(name);
    return out;
  }

  // Polls /healthz of every process in `names` in parallel until it answers 200 (`healthy`) or
  // anything else (!healthy): seconds from `since`, -1 when it did not within `limit`.
  std::map<std::string, double> WaitHealth(const std::vector<std::string>& names, bool healthy,
                                           Clock::duration limit, Clock::time_point since) const {
    std::map<std::string, std::future<double>> polls;
    const auto deadline = Clock::now() + limit;
    for (const auto& name : names)
      polls[name] = std::async(std::launch::async, [this, name, healthy, deadline, since] {
        while (Clock::now() < deadline) {
          bool ok = harness_->HealthStatus(name, 3s) == 200;
          if (ok == healthy) return Since(since);
          std::this_thread::sleep_for(200ms);
        }
        return -1.0;
      });
    std::map<std::string, double> out;
    for (auto& [name, f] : polls) out[name] = f.get();
    return out;
  }

  // One /healthz round over every process, in parallel: the status of each.
  std::map<std::string, int> HealthNow() const {
    std::map<std::string, std::future<int>> polls;
    for (const auto& name : AllProcesses())
      polls[name] =
          std::async(std::launch::async, [this, name] { return harness_->HealthStatus(name, 5s); });
    std::map<std::string, int> out;
    for (auto& [name, f] : polls) out[name] = f.get();
    return out;
  }

  std::vector<Incident> Incidents() const {
    std::vector<Incident> out;
    Database db(stack_env_.database_url);
    Status s = db.Transact([&](pqxx::work& tx) {
      for (auto row :
           tx.exec("SELECT id::text, service, status, COALESCE(root_cause_service, ''), "
                   "COALESCE(root_cause_category, ''), COALESCE(mttr_seconds::float8, -1) "
                   "FROM incidents ORDER BY detection_time"))
        out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                       row[3].as<std::string>(), row[4].as<std::string>(), row[5].as<double>()});
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.message();
    return out;
  }

  std::string IncidentStatus(const std::string& id) const {
    for (const auto& i : Incidents())
      if (i.id == id) return i.status;
    return "";
  }

  std::vector<Email> Emails(const std::string& incident_id) const {
    std::vector<Email> out;
    Database db(stack_env_.database_url);
    Status s = db.Transact([&](pqxx::work& tx) {
      for (auto row : tx.exec_params("SELECT notification_type, message_id, status, attempts, "
                                     "in_doubt_resends FROM emails "
                                     "WHERE incident_id = $1::uuid ORDER BY id",
                                     incident_id))
        out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                       row[3].as<int>(), row[4].as<int>()});
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.message();
    return out;
  }

  // MailDev's messages about the incident: Message-ID (without <>) -> subjects, one per copy.
  std::map<std::string, std::vector<std::string>> Delivered(const std::string& incident_id) const {
    std::map<std::string, std::vector<std::string>> out;
    std::string url = stack_env_.maildev_url.substr(std::string("http://").size());
    auto colon = url.find(':');
    httplib::Client c(url.substr(0, colon), std::stoi(url.substr(colon + 1)));
    c.set_read_timeout(10s);
    auto r = c.Get("/email");
    if (!r || r->status != 200) return out;
    const std::string number = IncidentNumber(incident_id);
    for (const auto& m : Json::parse(r->body, nullptr, false)) {
      if (!m.is_object()) continue;
      std::string subject = m.value("subject", std::string());
      if (subject.find(number) == std::string::npos) continue;
      std::string id = m.value("messageId", std::string());
      id.erase(std::remove(id.begin(), id.end(), '<'), id.end());
      id.erase(std::remove(id.begin(), id.end(), '>'), id.end());
      out[id].push_back(subject);
    }
    return out;
  }

  Clock::time_point t0_;
  std::string logs_;
  std::unique_ptr<testing::OwnStack> stack_;
  testing::StackEnv stack_env_;
  std::unique_ptr<testing::PipelineHarness> harness_;
};

TEST_F(OutageDrill, IncidentSurvivesRedisPostgresBrokerAndSmtpOutages) {
  const int outage_s = OutageSeconds();
  const auto outage = std::chrono::seconds(outage_s);
  std::string out;
  ASSERT_TRUE(stack_->Up(&out)) << out;
  stack_env_ = stack_->env();
  ASSERT_FALSE(stack_env_.kafka_bootstrap.empty()) << "no stack.env in " << stack_->dir();
  Say("stack up in " + stack_->dir());

  // An LLM that always answers too late: every call times out and the fallbacks run.
  testing::FakeLlmServer llm;
  llm.SetDefault(
      testing::FakeReply::Text("too late").WithDelay(std::chrono::seconds(kLlmTimeoutS * 20)));

  // The symptom window must outlast detection (~5 s), the Redis and PostgreSQL outages with their
  // recoveries and half the SMTP outage, with ~20 s to spare: the test starts the SMTP outage so
  // that the scenario ends about halfway through it, and the RESOLVED and POSTMORTEM emails fall
  // due while SMTP is away. The simulated clock stands still while the broker is frozen, so that
  // outage does not count. Wall seconds of symptoms wanted:
  const double wall_s = 30 + 2.5 * outage_s;
  const double speed = std::min(10.0, 3600 / wall_s);  // duration_s is at most 3600
  const int duration_s = static_cast<int>(wall_s * speed);

  testing::PipelineOptions options;
  options.logs_dir = logs_;
  options.sim_speed = speed;
  options.sim_schedule = "off";
  options.with_api = true;
  options.stack = stack_env_;
  options.extra_env = {{"LLM_PROVIDER", "anthropic"},
                       {"ANTHROPIC_BASE_URL", llm.BaseUrl()},
                       {"ANTHROPIC_API_KEY", "sk-ant-outage-drill"},
                       {"LLM_TIMEOUT_S", std::to_string(kLlmTimeoutS)}};
  harness_ = std::make_unique<testing::PipelineHarness>(options);
  ASSERT_TRUE(harness_->Start(&out)) << out;
  const std::vector<std::string> all = AllProcesses();
  const std::vector<std::string> agents = testing::PipelineHarness::Agents();
  ASSERT_EQ(all.size(), 8u);

  // Warm: the backfill is in, a minute of live telemetry has passed and everything is healthy.
  ASSERT_TRUE(testing::Eventually([&] { return harness_->SimNow() > 0; }, 90s, 250ms))
      << "the simulator's API did not come up; see " << logs_;
  const int64_t live_start =
      harness_->SimApi("GET", "/api/scenarios").value("live_start_ms", int64_t{0});
  ASSERT_TRUE(
      testing::Eventually([&] { return harness_->SimNow() >= live_start + 60000; }, 60s, 250ms));
  for (const auto& [name, s] : WaitHealth(all, true, kHealthyAgain, Clock::now()))
    ASSERT_GE(s, 0) << name << " never became healthy; see " << logs_;

  Json scenario = {
      {"name", kScenario},
      {"description", "inventory-service throws on every reservation after a bad cache entry"},
      {"service", kService},
      {"duration_s", duration_s},
      {"metrics", {{{"metric", "error_rate"}, {"peak", 35}, {"shape", "step"}, {"ramp_s", 30}}}},
      // The second line matches a detection log pattern ("fatal error"), so every tick raises a
      // log anomaly on the service: it must join the open incident, also after Redis restarted.
      {"logs",
       {{{"level", "ERROR"},
         {"message",
          "POST /reservations failed: java.lang.NullPointerException: Cannot invoke "
          "\"StockLevel.available()\" because \"level\" is null at ReservationService.reserve"}},
        {{"level", "ERROR"},
         {"message",
          "reservation worker 7 stopped: fatal error: unhandled NullPointerException"}}}},
      {"cascade", false},
      {"ground_truth", {{"root_cause_service", kService}, {"root_cause_category", kCategory}}}};
  httplib::Client sim("127.0.0.1", harness_->sim_port());
  auto injected = sim.Post("/api/scenarios", scenario.dump(), "application/json");
  ASSERT_TRUE(injected && injected->status == 201) << (injected ? injected->body : "no answer");
  const auto t_injected = Clock::now();
  Say(Format("injected %s on %s: %d simulated s at SIM_SPEED=%.1f; outages of %d s", kScenario,
             kService, duration_s, speed, outage_s));

  std::string incident_id;
  ASSERT_TRUE(testing::Eventually(
      [&] {
        for (const auto& i : Incidents())
          if (i.service == kService) incident_id = i.id;
        return !incident_id.empty();
      },
      90s, 250ms))
      << "no incident for " << kService << "; see " << logs_;
  const auto t_detected = Clock::now();
  Say(Format("incident %s detected %.1f s after the injection", IncidentNumber(incident_id).c_str(),
             std::chrono::duration<double>(t_detected - t_injected).count()));

  // Which /healthz checks each dependency (shared/runtime.cpp's ConnectDependencies, the
  // simulator, and sre-communication's SMTP probe).
  struct Outage {
    std::string service, stop, start;
    std::vector<std::string> dependents;
  };
  std::vector<std::string> db_users = agents;
  db_users.push_back("api");
  const std::vector<Outage> outages = {
      {"redis",
       "stop-service",
       "start-service",
       // remediation: its action runner verifies against the trigger series in Redis.
       {"detection", "correlation", "investigation", "remediation", "api"}},
      {"postgres", "stop-service", "start-service", db_users},
      {"devbroker", "pause-service", "resume-service", all},
      {"maildev", "stop-service", "start-service", {"communication"}},
  };
  std::vector<OutageFigures> figures;
  double smtp_failures = 0;
  for (const auto& o : outages) {
    SCOPED_TRACE(o.service + " outage");
    if (o.service == "maildev") {
      // Start it so that the scenario ends about halfway through (ends_at_ms, simulated).
      testing::Eventually(
          [&] {
            Json j = harness_->SimApi("GET", "/api/scenarios");
            if (!j.is_object()) return false;
            for (const auto& a : j["active"])
              if (a.value("name", std::string()) == kScenario)
                return (a.value("ends_at_ms", int64_t{0}) -
                        j.value("simulated_time_ms", int64_t{0})) /
                           1000.0 / speed <=
                       outage_s / 2.0;
            return true;  // already over
          },
          300s, 200ms);
    }
    OutageFigures f;
    f.service = o.service;
    f.incident_status = IncidentStatus(incident_id);
    EXPECT_TRUE(f.incident_status != "RESOLVED" && f.incident_status != "CLOSED")
        << "the incident was already " << f.incident_status << " when the " << o.service
        << " outage started: the drill no longer covers it (scenario too short?)";
    const double smtp_before =
        MetricSum(harness_->MetricsText("communication"), "sre_smtp_failures_total");

    const auto start = Clock::now();
    f.start_s = Since(t0_);
    ASSERT_TRUE(stack_->Service(o.stop, o.service, &out)) << out;
    Say(o.service + " down (" + o.stop + "), incident " + f.incident_status);
    f.to_unhealthy = WaitHealth(o.dependents, false, kUnhealthyWithin, start);
    for (const auto& [name, s] : f.to_unhealthy)
      EXPECT_GE(s, 0) << name << "'s /healthz stayed 200 with " << o.service << " down";
    std::this_thread::sleep_until(start + outage);
    // Still unhealthy at the end of the outage; the processes that do not check it are healthy.
    for (const auto& [name, status] : HealthNow()) {
      bool dependent =
          std::find(o.dependents.begin(), o.dependents.end(), name) != o.dependents.end();
      if (dependent) {
        EXPECT_NE(status, 200) << name << " at the end of the " << o.service << " outage";
      } else {
        EXPECT_EQ(status, 200) << name << " does not check " << o.service << " but is unhealthy";
      }
    }
    if (o.service == "maildev")
      smtp_failures = MetricSum(harness_->MetricsText("communication"), "sre_smtp_failures_total") -
                      smtp_before;

    const auto restart = Clock::now();
    ASSERT_TRUE(stack_->Service(o.start, o.service, &out)) << out;
    const auto end = Clock::now();  // start-service returns once the service answers
    f.restart_s = std::chrono::duration<double>(end - restart).count();
    f.end_s = Since(t0_);
    Say(o.service + " back (" + o.start + ")");
    f.to_healthy = WaitHealth(all, true, kHealthyAgain, end);
    for (const auto& [name, s] : f.to_healthy)
      EXPECT_GE(s, 0) << name << " not healthy " << kHealthyAgain.count() << " s after "
                      << o.service << " came back";
    for (const auto& [name, p] : harness_->processes())
      EXPECT_TRUE(p->Running()) << name << " exited during the " << o.service << " outage; see "
                                << p->log_path();
    figures.push_back(f);
  }
  EXPECT_GT(smtp_failures, 0)
      << "no email fell due while SMTP was down: the drill did not exercise that outage";

  // The incident completes.
  std::vector<Incident> incidents;
  bool closed = testing::Eventually(
      [&] {
        incidents = Incidents();
        for (const auto& i : incidents)
          if (i.id == incident_id) return i.status == "CLOSED";
        return false;
      },
      180s, 500ms);
  const double closed_after_s = std::chrono::duration<double>(Clock::now() - t_detected).count();
  ASSERT_TRUE(closed) << "incident " << IncidentNumber(incident_id) << " is "
                      << IncidentStatus(incident_id) << "; see " << logs_;
  Incident incident;
  for (const auto& i : incidents) {
    if (i.id == incident_id) incident = i;
    EXPECT_EQ(i.id, incident_id) << "a second incident: " << i.service << " " << i.status;
  }
  EXPECT_EQ(incident.root_service, kService);
  EXPECT_EQ(incident.category, kCategory);

  // Five emails, one per stage, each delivered once (a copy more only for an in-doubt resend).
  std::vector<Email> emails;
  ASSERT_TRUE(testing::Eventually(
      [&] {
        emails = Emails(incident_id);
        return emails.size() >= 5 &&
               std::all_of(emails.begin(), emails.end(),
                           [](const Email& e) { return e.status == "SENT"; }) &&
               Delivered(incident_id).size() >= 5;
      },
      90s, 500ms))
      << emails.size() << " email rows, " << Delivered(incident_id).size() << " in MailDev";
  std::this_thread::sleep_for(1s);  // a late duplicate would show up now
  emails = Emails(incident_id);
  auto delivered = Delivered(incident_id);
  std::set<std::string> types, ids;
  int in_doubt = 0, attempts = 0;
  for (const auto& e : emails) {
    types.insert(e.type);
    ids.insert(e.message_id);
    in_doubt += e.in_doubt_resends;
    attempts += e.attempts;
    EXPECT_EQ(e.status, "SENT") << e.type;
  }
  EXPECT_EQ(emails.size(), 5u);
  EXPECT_EQ(types, std::set<std::string>(kEmailTypes.begin(), kEmailTypes.end()));
  EXPECT_EQ(ids.size(), 5u);
  size_t copies = 0;
  for (const auto& [id, subjects] : delivered) {
    copies += subjects.size();
    std::string bare = id;
    EXPECT_TRUE(
        std::any_of(ids.begin(), ids.end(),
                    [&](const std::string& m) { return m.find(bare) != std::string::npos; }))
        << "MailDev has " << subjects.front()
        << " with a Message-ID not in the emails table: " << id;
    EXPECT_LE(subjects.size(), 1u + static_cast<size_t>(in_doubt))
        << subjects.front() << " delivered " << subjects.size() << " times";
  }
  EXPECT_EQ(delivered.size(), 5u);
  EXPECT_LE(copies, 5u + static_cast<size_t>(in_doubt));

  // Nothing dead-lettered, every group drained once the simulator stops, nobody exited.
  EXPECT_EQ(harness_->process("simulator").Stop(), 0);
  std::vector<std::string> dead;
  for (const auto& m : testing::ReadAll(stack_env_.kafka_bootstrap, topics::kDeadLetters)) {
    auto dl = Decode<DeadLetter>(m.payload);
    dead.push_back(dl.ok() ? dl->agent + " " + dl->topic + ": " + dl->error : m.payload);
  }
  EXPECT_TRUE(dead.empty()) << dead.size() << " dead letter(s), the first: " << dead.front();
  const std::map<std::string, std::vector<std::string>> groups = {
      {"sre-detection", {topics::kRawMetrics, topics::kRawLogs}},
      {"sre-correlation", {topics::kAnomaliesDetected, topics::kRawDeployments}},
      {"sre-investigation", {topics::kIncidentsOpened}},
      {"sre-remediation", {topics::kRcaCompleted}},
      {"sre-postmortem", {topics::kIncidentsResolved}},
      {"sre-communication",
       {topics::kAnomaliesDetected, topics::kRcaCompleted, topics::kRemediationPlans,
        topics::kIncidentsResolved, topics::kPostmortemsGenerated}},
      {"sre-api",
       {topics::kAnomaliesDetected, topics::kIncidentsOpened, topics::kRcaCompleted,
        topics::kRemediationPlans, topics::kIncidentsResolved, topics::kPostmortemsGenerated}}};
  std::map<std::string, int64_t> lag;
  bool drained = testing::Eventually(
      [&] {
        bool zero = true;
        for (const auto& [group, topics] : groups) {
          lag[group] = 0;
          for (const auto& t : topics) {
            int64_t l = testing::GroupLag(stack_env_.kafka_bootstrap, group, t);
            lag[group] = l < 0 || lag[group] < 0 ? -1 : lag[group] + l;
          }
          zero = zero && lag[group] == 0;
        }
        return zero;
      },
      60s, 1s);
  for (const auto& [group, l] : lag) EXPECT_EQ(l, 0) << group << "'s lag";
  EXPECT_TRUE(drained);
  for (const auto& [name, p] : harness_->processes())
    if (name != "simulator") {
      EXPECT_TRUE(p->Running()) << name << " exited; see " << p->log_path();
    }

  // The LLM was asked and never answered in time: every call timed out, the fallbacks ran.
  EXPECT_GT(llm.RequestCount(), 0u);
  std::map<std::string, double> fallbacks;
  double llm_ok = 0, llm_timeouts = 0;
  for (const auto& a : agents) {
    std::string m = harness_->MetricsText(a);
    fallbacks[a] = MetricSum(m, "sre_llm_fallbacks_total");
    llm_ok += MetricSum(m, "sre_llm_calls_total", {"outcome=\"ok\""});
    llm_timeouts += MetricSum(m, "sre_llm_calls_total", {"outcome=\"timeout\""});
  }
  for (const char* a : {"detection", "investigation", "remediation", "postmortem"})
    EXPECT_GT(fallbacks[a], 0) << a << " used no fallback";
  EXPECT_EQ(llm_ok, 0);
  EXPECT_GT(llm_timeouts, 0);

  // The figures.
  std::printf("\n== outage drill: %d s outages, SIM_SPEED=%.1f, scenario %d simulated s ==\n",
              outage_s, speed, duration_s);
  for (const auto& f : figures) {
    std::printf(
        "%-9s down %6.1f s .. %6.1f s (incident %s at the start; back %.1f s after the %s "
        "command)\n",
        f.service.c_str(), f.start_s, f.end_s, f.incident_status.c_str(), f.restart_s,
        f.service == "devbroker" ? "resume" : "start");
    std::printf("          unhealthy after:");
    if (f.to_unhealthy.empty()) std::printf(" (no /healthz checks it)");
    for (const auto& [name, s] : f.to_unhealthy) std::printf(" %s %.1f s", name.c_str(), s);
    std::printf("\n          healthy again after:");
    for (const auto& [name, s] : f.to_healthy) std::printf(" %s %.1f s", name.c_str(), s);
    std::printf("\n");
  }
  std::printf("SMTP failures counted by communication during its outage: %.0f\n", smtp_failures);
  std::printf(
      "incident %s: %s, root cause %s / %s, MTTR %.0f simulated s; CLOSED %.1f s (wall) after "
      "detection\n",
      IncidentNumber(incident_id).c_str(), incident.status.c_str(), incident.root_service.c_str(),
      incident.category.c_str(), incident.mttr_s, closed_after_s);
  std::printf(
      "emails: %zu rows (%d SMTP attempts, %d in-doubt resends), %zu Message-IDs and %zu copies in "
      "MailDev\n",
      emails.size(), attempts, in_doubt, delivered.size(), copies);
  for (const auto& e : emails)
    std::printf("  %-18s %s attempts %d %s\n", e.type.c_str(), e.status.c_str(), e.attempts,
                e.message_id.c_str());
  std::printf("LLM: %zu requests to the double, %.0f timeouts, %.0f ok; fallbacks:",
              llm.RequestCount(), llm_timeouts, llm_ok);
  for (const auto& [a, n] : fallbacks) std::printf(" %s %.0f", a.c_str(), n);
  std::printf("\ndead letters: %zu; total run time %.1f s\n", dead.size(), Since(t0_));
}

}  // namespace
}  // namespace sre
