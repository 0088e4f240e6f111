// sre-mutate: publishes mutated copies of valid messages on every input topic of the pipeline
// (tools/mutate/mutator.h) and reports which of them the agents must dead-letter.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include "shared/config.h"
#include "shared/kafka.h"
#include "shared/messages.h"
#include "tools/mutate/mutator.h"

namespace sre::mutate {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    R"(Usage: sre-mutate [--count N] [--seed S] [--bootstrap SERVERS] [--report FILE]
                  [--key-prefix P] [--rate N] [--base-time-ms T] [--dry-run]

Publishes N (--count, 20000) mutated copies of valid messages, spread evenly over the input
topics of the pipeline (raw.metrics, raw.logs, raw.deployments, anomalies.detected,
incidents.opened, rca.completed, remediation.plans, incidents.resolved, postmortems.generated).
Mutations: bit_flip, truncate, type_swap, huge_string (65-600 KB), nul_char, bad_utf8,
deep_nesting, extreme_number, missing_field, duplicate_field, unknown_enum, empty, not_json.
Seeds use services that do not exist (mutant-svc-0..7) and random incident ids, so a mutant
that stays valid cannot touch a real incident.

  --seed S          the run's seed (default 1): the same seed gives the same messages
  --key-prefix P    message n is keyed P<n> (default "mutant-<seed>-"); dead letters keep the key
  --report FILE     one JSON line per message: key, topic, mutation, bytes, malformed (the shared
                    codec's Decode of the topic's type fails: the agents must dead-letter it)
                    and error (the codec's reason)
  --rate N          at most N messages a second (default 0: as fast as the broker takes them)
  --base-time-ms T  event time of the seeds (default 1795000000000)
  --dry-run         generate and report, publish nothing

Prints messages per topic and per mutation, how many are malformed, and the rate.
Exit status: 0 when every message was acknowledged by the broker, 1 when one was not, 2 for a
bad argument.

Environment (a .env file in the working directory is read too):
  KAFKA_BOOTSTRAP_SERVERS  broker list (localhost:9092) unless --bootstrap is given
)";

struct Options {
  uint64_t count = 20000, seed = 1;
  std::string bootstrap, report, key_prefix;
  double rate = 0;
  int64_t base_time_ms = kDefaultBaseTimeMs;
  bool dry_run = false;
};

int Usage(const std::string& problem) {
  std::cerr << "sre-mutate: " << problem << "\n\n" << kUsage;
  return 2;
}

struct Tally {
  uint64_t messages = 0, malformed = 0, bytes = 0;
};

void PrintTable(const char* what, const std::map<std::string, Tally>& rows) {
  std::printf("%-22s %8s %10s %12s\n", what, "messages", "malformed", "bytes");
  for (const auto& [name, t] : rows)
    std::printf(
        "%-22s %8llu %10llu %12llu\n", name.c_str(), static_cast<unsigned long long>(t.messages),
        static_cast<unsigned long long>(t.malformed), static_cast<unsigned long long>(t.bytes));
}

int Run(const Options& o) {
  std::unique_ptr<Producer> producer;
  if (!o.dry_run) {
    KafkaOptions kafka;
    kafka.bootstrap_servers = o.bootstrap;
    // Room for the largest mutant (a 600 KB string inside a message).
    kafka.properties = {{"message.max.bytes", "2000000"}, {"linger.ms", "5"}};
    auto p = Producer::Create(kafka);
    if (!p.ok()) {
      std::cerr << "sre-mutate: " << p.status().message() << "\n";
      return 1;
    }
    producer = std::move(*p);
    (void)producer->Prepare(InputTopics(), std::chrono::seconds(10));
  }
  std::ofstream report;
  if (!o.report.empty()) {
    report.open(o.report, std::ios::trunc);
    if (!report) return Usage("cannot write " + o.report);
  }

  std::map<std::string, Tally> by_topic, by_mutation;
  Tally total;
  std::vector<OutboundMessage> batch;
  constexpr size_t kBatch = 1000;
  const auto start = Clock::now();
  auto flush = [&]() -> bool {
    if (batch.empty() || !producer) return true;
    Status s = producer->PublishBatch(batch);
    batch.clear();
    if (!s.ok()) std::cerr << "sre-mutate: publishing failed: " << s.message() << "\n";
    return s.ok();
  };
  for (uint64_t n = 0; n < o.count; ++n) {
    Mutant m = Generate(o.seed, n, o.base_time_ms);
    std::string key = o.key_prefix + std::to_string(n);
    auto error = DecodeError(m.topic, m.payload);
    for (Tally* t : {&by_topic[m.topic], &by_mutation[m.mutation], &total}) {
      ++t->messages;
      t->malformed += error ? 1 : 0;
      t->bytes += m.payload.size();
    }
    if (report) {
      Json line = {{"key", key},
                   {"topic", m.topic},
                   {"mutation", m.mutation},
                   {"bytes", m.payload.size()},
                   {"malformed", error.has_value()},
                   {"error", error.value_or("")}};
      report << Dump(line) << "\n";
    }
    batch.push_back({m.topic, std::move(key), std::move(m.payload)});
    if (batch.size() >= kBatch && !flush()) return 1;
    if (o.rate > 0) {
      auto due = start + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(static_cast<double>(n + 1) / o.rate));
      if (due > Clock::now()) {
        if (!flush()) return 1;
        std::this_thread::sleep_until(due);
      }
    }
  }
  if (!flush()) return 1;
  report.flush();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  PrintTable("topic", by_topic);
  std::printf("\n");
  PrintTable("mutation", by_mutation);
  std::printf(
      "\n%s %llu messages (%.1f MB), %llu malformed (%.1f %%), in %.1f s: %.0f messages/s\n",
      o.dry_run ? "generated" : "published", static_cast<unsigned long long>(total.messages),
      static_cast<double>(total.bytes) / 1e6, static_cast<unsigned long long>(total.malformed),
      total.messages
          ? 100.0 * static_cast<double>(total.malformed) / static_cast<double>(total.messages)
          : 0.0,
      seconds, seconds > 0 ? static_cast<double>(total.messages) / seconds : 0.0);
  return 0;
}

}  // namespace
}  // namespace sre::mutate

int main(int argc, char** argv) {
  using sre::mutate::Usage;
  sre::mutate::Options o;
  bool prefix_given = false;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
        return argv[++i];
      };
      if (a == "-h" || a == "--help") {
        std::cout << sre::mutate::kUsage;
        return 0;
      } else if (a == "--count") {
        o.count = std::stoull(value());
      } else if (a == "--seed") {
        o.seed = std::stoull(value());
      } else if (a == "--bootstrap") {
        o.bootstrap = value();
      } else if (a == "--report") {
        o.report = value();
      } else if (a == "--key-prefix") {
        o.key_prefix = value();
        prefix_given = true;
      } else if (a == "--rate") {
        o.rate = std::stod(value());
      } else if (a == "--base-time-ms") {
        o.base_time_ms = std::stoll(value());
      } else if (a == "--dry-run") {
        o.dry_run = true;
      } else {
        return Usage("unknown argument '" + a + "'");
      }
    }
  } catch (const std::exception& e) {
    return Usage(std::string("bad argument: ") + e.what());
  }
  if (o.base_time_ms < sre::kMinEventTimeMs || o.base_time_ms > sre::kMaxEventTimeMs - 7200000)
    return Usage("--base-time-ms must be an event time between 2000 and 2100");
  if (o.rate < 0) return Usage("--rate must not be negative");
  if (!prefix_given) o.key_prefix = "mutant-" + std::to_string(o.seed) + "-";
  if (o.bootstrap.empty() && !o.dry_run) {
    sre::Config config = sre::Config::FromEnvironment();
    o.bootstrap = config.String("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092");
  }
  return sre::mutate::Run(o);
}
