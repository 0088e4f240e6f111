// sre-eval: the evaluation scorecard (`make eval`, README "Evaluation scorecard"). Against a
// running native pipeline whose simulator has SIM_SCHEDULE=off, it waits out a quiet period,
// injects every scenario once through the simulator API (one at a time, each after the previous
// one recovered and a settling pause), then scores each against sim.ground_truth (only evaluation
// tools read that topic) using PostgreSQL (incidents, emails) and MailDev's REST API, and writes
// the scorecard as Markdown and JSON, with each incident's remediation actions. `--compare`
// compares two such scorecards, without and with automated remediation (make eval's two passes).
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "shared/config.h"
#include "shared/ids.h"
#include "shared/kafka.h"
#include "shared/messages.h"
#include "shared/postgres.h"
#include "tools/eval/scoring.h"

namespace sre::eval {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;

constexpr const char* kUsage =
    R"(Usage: sre-eval [--sim-url URL] [--out DIR] [--quiet-s N] [--settle-s N]
                [--timeout-s N] [--scenarios A,B,...] [--remediation-mode MODE]
       sre-eval --compare OFF.json AUTO.json [--out DIR]

Evaluation scorecard against a running native pipeline (infra/local/pipeline.sh start with
SIM_SCHEDULE=off; `make eval` does all of it). Waits N simulated seconds of quiet (--quiet-s,
600), then injects every scenario of the simulator's catalogue (or --scenarios) once, waiting for
recovery and --settle-s (120) simulated seconds between them, at most --timeout-s (300) wall
seconds each. Prints the scorecard and writes DIR/scorecard.md and DIR/scorecard.json (DIR:
.local/eval), with the remediation actions of each scenario's incidents (remediation_actions:
action, status, reason, and the simulator's `matched`). --remediation-mode records the pipeline's
REMEDIATION_MODE in the scorecard (information only). Exit status 3 when a scenario fails.

--compare reads two scorecard JSON files, one run with REMEDIATION_MODE=off and one with auto, and
prints MTTR per scenario side by side with the auto pass's actions; writes DIR/remediation.md and
DIR/remediation.json. Targets: MTTR auto <= 0.6 x MTTR off wherever the auto pass executed an
action the simulator matched to the cause, and no executed action it did not match (a look-alike);
exit status 3 when one is missed.

Environment (a .env file in the working directory is read too):
  KAFKA_BOOTSTRAP_SERVERS  broker list (localhost:9092)
  DATABASE_URL             postgresql://sre:sre@localhost:5432/sre
  MAILDEV_URL              MailDev's web/REST address (http://localhost:8025)
)";

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

struct HostPort {
  std::string host;
  int port = 0;
};

HostPort ParseHttpUrl(const std::string& url) {
  std::string rest = url.rfind("http://", 0) == 0 ? url.substr(7) : url;
  rest = rest.substr(0, rest.find('/'));
  size_t colon = rest.rfind(':');
  if (colon == std::string::npos) return {rest, 80};
  return {rest.substr(0, colon), std::stoi(rest.substr(colon + 1))};
}

Json HttpJson(const HostPort& hp, const std::string& method, const std::string& path,
              int* status = nullptr) {
  httplib::Client c(hp.host, hp.port);
  c.set_connection_timeout(5);
  c.set_read_timeout(15);
  auto r = method == "GET" ? c.Get(path.c_str()) : c.Post(path.c_str(), "", "application/json");
  if (!r) return nullptr;
  if (status) *status = r->status;
  return Json::parse(r->body, nullptr, false);
}

// Collects sim.ground_truth and dead-letters from the beginning, in a group of its own.
class Collector : public MessageHandler {
 public:
  Status Handle(const InboundMessage& m) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (m.topic == topics::kDeadLetters) {
      ++dead_letters_;
    } else if (auto gt = Decode<GroundTruth>(m.payload); gt.ok()) {
      truths_.push_back(*gt);
    }
    return Status::Ok();
  }
  std::vector<GroundTruth> truths() {
    std::lock_guard<std::mutex> lock(mu_);
    return truths_;
  }
  int dead_letters() {
    std::lock_guard<std::mutex> lock(mu_);
    return dead_letters_;
  }

 private:
  std::mutex mu_;
  std::vector<GroundTruth> truths_;
  int dead_letters_ = 0;
};

struct Options {
  std::string sim_url = "http://127.0.0.1:8100", out = ".local/eval";
  int quiet_s = 600, settle_s = 120, timeout_s = 300;
  std::vector<std::string> scenarios;
  std::string remediation_mode;
};

class Evaluator {
 public:
  Evaluator(Options o, std::string database_url, std::string maildev_url)
      : o_(std::move(o)),
        sim_(ParseHttpUrl(o_.sim_url)),
        mail_(ParseHttpUrl(maildev_url)),
        db_(std::move(database_url)) {}

  int64_t SimNow() {
    Json j = HttpJson(sim_, "GET", "/api/scenarios");
    return j.is_object() ? j.value("simulated_time_ms", int64_t{0}) : 0;
  }

  bool WaitSim(int64_t until_ms, std::chrono::seconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (SimNow() >= until_ms) return true;
      std::this_thread::sleep_for(250ms);
    }
    return false;
  }

  bool Active(const std::string& scenario) {
    Json j = HttpJson(sim_, "GET", "/api/scenarios");
    if (!j.is_object()) return true;
    for (const auto& a : j["active"])
      if (a.value("name", std::string()) == scenario) return true;
    return false;
  }

  // Incidents detected at or after `since_ms` (simulated), with their emails (converted to
  // simulated time at `speed`) and how many of them MailDev holds.
  std::vector<ObservedIncident> Incidents(int64_t since_ms, double speed) {
    std::vector<ObservedIncident> out;
    Status s = db_.Transact([&](pqxx::work& tx) {
      for (auto row :
           tx.exec_params("SELECT id::text, service, status, COALESCE(root_cause_service, ''), "
                          "COALESCE(root_cause_category, ''), "
                          "COALESCE(related_incident_id::text, ''), (extract(epoch from "
                          "detection_time) * 1000)::bigint, "
                          "mttr_seconds, postmortem IS NOT NULL AND postmortem <> '', "
                          "(extract(epoch from created_at) * 1000)::bigint "
                          "FROM incidents WHERE detection_time >= to_timestamp($1::double "
                          "precision / 1000.0) ORDER BY detection_time",
                          since_ms)) {
        ObservedIncident i;
        i.id = row[0].as<std::string>();
        i.service = row[1].as<std::string>();
        i.status = row[2].as<std::string>();
        i.root_cause_service = row[3].as<std::string>();
        i.root_cause_category = row[4].as<std::string>();
        i.related_incident_id = row[5].as<std::string>();
        i.detection_ms = row[6].as<int64_t>();
        if (!row[7].is_null()) i.mttr_s = row[7].as<double>();
        i.has_postmortem = row[8].as<bool>();
        // Emails carry wall-clock times only. The incident row pairs its detection's event time
        // with the wall time detection wrote it (created_at): the anchor for converting them.
        const int64_t created_wall = row[9].as<int64_t>();
        for (auto e : tx.exec_params(
                 "SELECT notification_type, (extract(epoch from sent_at) * 1000)::bigint FROM "
                 "emails "
                 "WHERE incident_id = $1::uuid AND status = 'SENT' AND sent_at IS NOT NULL",
                 i.id)) {
          double wall_delta = static_cast<double>(e[1].as<int64_t>() - created_wall);
          i.email_sent_ms[e[0].as<std::string>()] =
              i.detection_ms + static_cast<int64_t>(wall_delta * speed);
        }
        for (auto a : tx.exec_params(
                 "SELECT action, service, status, reason, confidence, "
                 "result #>> '{response,matched}', "
                 "(extract(epoch from executed_time) * 1000)::bigint "
                 "FROM remediation_actions WHERE incident_id = $1::uuid ORDER BY ordinal",
                 i.id)) {
          ObservedAction act;
          act.action = a[0].as<std::string>();
          act.service = a[1].as<std::string>();
          act.status = a[2].as<std::string>();
          act.reason = a[3].as<std::string>();
          if (!a[4].is_null()) act.confidence = a[4].as<double>();
          if (!a[5].is_null()) {
            const std::string m = a[5].as<std::string>();
            if (m == "true" || m == "false") act.matched = m == "true";
          }
          if (!a[6].is_null()) act.executed_ms = a[6].as<int64_t>();
          i.actions.push_back(std::move(act));
        }
        out.push_back(std::move(i));
      }
      return Status::Ok();
    });
    if (!s.ok()) std::cerr << "sre-eval: PostgreSQL: " << s.message() << "\n";
    Json mails = HttpJson(mail_, "GET", "/email");
    for (auto& i : out) {
      std::string number = IncidentNumber(i.id);
      if (mails.is_array())
        for (const auto& m : mails)
          if (m.is_object() && m.value("subject", std::string()).find(number) != std::string::npos)
            ++i.emails_in_maildev;
    }
    return out;
  }

  int CountIncidentsSince(int64_t wall_ms) {
    int n = 0;
    Status s = db_.Transact([&](pqxx::work& tx) {
      n = tx.exec_params1(
                "SELECT count(*)::int FROM incidents WHERE created_at >= to_timestamp($1::double "
                "precision / 1000.0)",
                wall_ms)[0]
              .as<int>();
      return Status::Ok();
    });
    if (!s.ok()) std::cerr << "sre-eval: PostgreSQL: " << s.message() << "\n";
    return n;
  }

  int Run(const std::string& bootstrap) {
    // Wait for the simulator.
    Json info;
    for (int k = 0; k < 240 && !info.is_object(); ++k) {
      info = HttpJson(sim_, "GET", "/api/scenarios");
      if (!info.is_object()) std::this_thread::sleep_for(250ms);
    }
    if (!info.is_object()) {
      std::cerr << "sre-eval: the simulator does not answer at " << o_.sim_url << "\n";
      return 1;
    }
    if (info.value("schedule", std::string()) != "off")
      std::cerr << "sre-eval: warning: the simulator's schedule is '"
                << info.value("schedule", std::string())
                << "', not 'off': its own injections will disturb the scorecard\n";
    const double speed = info.value("speed", 1.0);
    std::vector<std::string> scenarios = o_.scenarios;
    if (scenarios.empty())
      for (const auto& s : info["scenarios"]) scenarios.push_back(s.value("name", std::string()));

    // Ground truth and dead letters, from the beginning of both topics.
    auto producer = Producer::Create(KafkaOptions{bootstrap, {}});
    if (!producer.ok()) {
      std::cerr << "sre-eval: Kafka: " << producer.status().message() << "\n";
      return 1;
    }
    std::mt19937_64 rng(std::random_device{}());
    ConsumerOptions co;
    co.agent = "eval";
    co.group_id = "sre-eval-" + std::to_string(rng());
    co.topics = {topics::kSimGroundTruth, topics::kDeadLetters};
    co.kafka.bootstrap_servers = bootstrap;
    auto runner = ConsumerRunner::Create(co, **producer);
    if (!runner.ok()) {
      std::cerr << "sre-eval: Kafka: " << runner.status().message() << "\n";
      return 1;
    }
    Collector collector;
    std::atomic<bool> stop{false};
    std::thread consumer([&] { (void)(*runner)->Run(collector, stop); });

    // Quiet period.
    const int64_t eval_start_wall = WallMs();
    const int64_t live_start = info.value("live_start_ms", SimNow());
    std::cout << "sre-eval: quiet period of " << o_.quiet_s << " simulated s (simulator at "
              << speed << "x)" << std::endl;
    WaitSim(live_start + int64_t{o_.quiet_s} * 1000,
            std::chrono::seconds(static_cast<int>(o_.quiet_s / speed) + 120));
    std::this_thread::sleep_for(2s);
    const int false_alarms = CountIncidentsSince(eval_start_wall - 3600 * 1000);

    struct Run {
      std::string scenario;
      int64_t sim_at_inject, wall_at_inject;
      std::vector<ObservedIncident> incidents;
      bool completed;
    };
    std::vector<Run> runs;
    for (const auto& scenario : scenarios) {
      WaitSim(SimNow() + int64_t{o_.settle_s} * 1000,
              std::chrono::seconds(static_cast<int>(o_.settle_s / speed) + 60));
      int64_t sim_at = SimNow(), wall_at = WallMs();
      int status = 0;
      Json r = HttpJson(sim_, "POST", "/api/scenarios/" + scenario, &status);
      if (status != 201) {
        std::cerr << "sre-eval: injecting " << scenario << " failed (" << status
                  << "): " << r.dump() << "\n";
        runs.push_back({scenario, sim_at, wall_at, {}, false});
        continue;
      }
      std::cout << "sre-eval: " << scenario << " injected" << std::endl;
      auto deadline = Clock::now() + std::chrono::seconds(o_.timeout_s);
      bool completed = false;
      while (Clock::now() < deadline) {
        std::this_thread::sleep_for(1s);
        if (Active(scenario)) continue;
        auto incidents = Incidents(sim_at, speed);
        bool closed = !incidents.empty();
        for (const auto& i : incidents)
          closed = closed && i.status == "CLOSED" && i.email_sent_ms.size() == kEmailTypes.size();
        if (closed) {
          completed = true;
          break;
        }
      }
      runs.push_back({scenario, sim_at, wall_at, Incidents(sim_at, speed), completed});
      std::cout << "sre-eval: " << scenario << (completed ? " done" : " timed out") << ", "
                << runs.back().incidents.size() << " incident(s)" << std::endl;
    }
    std::this_thread::sleep_for(3s);
    stop = true;
    consumer.join();

    auto truths = collector.truths();
    std::vector<ScenarioObservation> observations;
    for (const auto& run : runs) {
      ScenarioObservation o{run.scenario, std::nullopt, run.incidents, run.completed};
      for (const auto& gt : truths) {
        if (gt.scenario != run.scenario || gt.timestamp < run.sim_at_inject - 60000) continue;
        if (gt.phase == Phase::START && !o.truth) {
          o.truth = Truth{gt.scenario,           gt.service,
                          gt.root_cause_service, std::string(ToString(gt.root_cause_category)),
                          gt.timestamp,          std::nullopt};
        } else if (gt.phase == Phase::END && o.truth && !o.truth->end_ms &&
                   gt.timestamp >= o.truth->start_ms) {
          o.truth->end_ms = gt.timestamp;
        }
      }
      observations.push_back(std::move(o));
    }
    Scorecard card = BuildScorecard(observations, false_alarms, collector.dead_letters(), speed);
    card.remediation_mode = o_.remediation_mode;
    std::string md = "# sre-pipeline evaluation scorecard\n\n" + RenderMarkdown(card);
    std::filesystem::create_directories(o_.out);
    std::ofstream(o_.out + "/scorecard.md") << md;
    std::ofstream(o_.out + "/scorecard.json") << RenderJson(card).dump(2) << "\n";
    std::cout << "\n" << md << "\nWritten to " << o_.out << "/scorecard.md and scorecard.json\n";
    return card.passed == static_cast<int>(card.scenarios.size()) && card.false_alarms == 0 &&
                   card.dead_letters == 0
               ? 0
               : 3;
  }

 private:
  Options o_;
  HostPort sim_, mail_;
  Database db_;
};

std::optional<Json> ReadJson(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "sre-eval: cannot read " << path << "\n";
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  Json j = Json::parse(ss.str(), nullptr, false);
  if (!j.is_object() || !j.contains("scenarios")) {
    std::cerr << "sre-eval: " << path << " is not a scorecard JSON (sre-eval's scorecard.json)\n";
    return std::nullopt;
  }
  return j;
}

// sre-eval --compare OFF.json AUTO.json: no pipeline needed.
int Compare(const std::string& off_path, const std::string& auto_path, const std::string& out) {
  auto off = ReadJson(off_path), on = ReadJson(auto_path);
  if (!off || !on) return 1;
  RemediationComparison c = CompareRemediation(*off, *on);
  std::string md =
      "# Remediation: MTTR without and with automated actions\n\n"
      "The same scenarios twice on fresh stacks: `REMEDIATION_MODE=" +
      (c.off_mode.empty() ? std::string("off") : c.off_mode) + "` (`" + off_path + "`), then `" +
      (c.auto_mode.empty() ? std::string("auto") : c.auto_mode) + "` (`" + auto_path +
      "`), on the simulator executor. MTTR measured, simulated seconds from "
      "detection to recovery; the action is the auto pass's, on the scenario's "
      "incident; matched: the simulator found that it fits the running scenario's "
      "cause.\n\n" +
      RenderComparisonMarkdown(c);
  std::filesystem::create_directories(out);
  std::ofstream(out + "/remediation.md") << md;
  std::ofstream(out + "/remediation.json") << RenderComparisonJson(c).dump(2) << "\n";
  std::cout << md << "\nWritten to " << out << "/remediation.md and remediation.json\n";
  return c.targets_met ? 0 : 3;
}

}  // namespace
}  // namespace sre::eval

int main(int argc, char** argv) {
  using namespace sre;
  eval::Options o;
  std::vector<std::string> compare;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "sre-eval: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (a == "-h" || a == "--help") {
        std::cout << eval::kUsage;
        return 0;
      } else if (a == "--sim-url") {
        o.sim_url = next();
      } else if (a == "--out") {
        o.out = next();
      } else if (a == "--quiet-s") {
        o.quiet_s = std::stoi(next());
      } else if (a == "--settle-s") {
        o.settle_s = std::stoi(next());
      } else if (a == "--timeout-s") {
        o.timeout_s = std::stoi(next());
      } else if (a == "--remediation-mode") {
        o.remediation_mode = next();
      } else if (a == "--compare") {
        compare.push_back(next());
        compare.push_back(next());
      } else if (a == "--scenarios") {
        std::stringstream ss(next());
        for (std::string s; std::getline(ss, s, ',');)
          if (!s.empty()) o.scenarios.push_back(s);
      } else {
        std::cerr << "sre-eval: unknown argument '" << a << "' (see --help)\n";
        return 2;
      }
    } catch (const std::exception&) {
      std::cerr << "sre-eval: " << a << " needs a number\n";
      return 2;
    }
  }
  if (!compare.empty()) return eval::Compare(compare[0], compare[1], o.out);
  try {
    Config config = Config::FromEnvironment();
    std::string bootstrap = config.String("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092");
    std::string database = config.Url("DATABASE_URL", "postgresql://sre:sre@localhost:5432/sre",
                                      {"postgresql", "postgres"});
    std::string maildev = config.Url("MAILDEV_URL", "http://localhost:8025", {"http"});
    config.Validate();
    eval::Evaluator evaluator(o, database, maildev);
    return evaluator.Run(bootstrap);
  } catch (const ConfigError& e) {
    std::cerr << "sre-eval: " << e.what() << "\n";
    return 2;
  }
}
