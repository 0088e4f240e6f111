// sre-devbroker: librdkafka's mock cluster as a long-running Kafka-protocol broker for
// development and tests. Everything lives in memory; it is not for production.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "shared/kafka.h"
#include "shared/messages.h"

namespace {

constexpr const char* kHelp =
    R"(Usage: sre-devbroker [--bootstrap-file PATH] [--partitions N] [--brokers N]

A Kafka-protocol broker for development and tests: librdkafka's mock cluster, kept running.
It creates every topic of the pipeline (raw.metrics, raw.logs, raw.deployments,
anomalies.detected, incidents.opened, rca.completed, remediation.plans, incidents.resolved,
postmortems.generated, dead-letters, sim.ground_truth) with N partitions (default 6), prints
its bootstrap address on stdout and, with --bootstrap-file, writes it to PATH (atomically).
It listens on 127.0.0.1 on ports the OS chooses; consumer groups and offset commits work.

NOT FOR PRODUCTION: every message and offset is kept in memory only and is lost when the
process exits; a partition keeps only its newest 5 MB (librdkafka's mock log limit: a consumer
lagging further behind loses messages); there is no replication and no security.

SIGTERM or SIGINT: exit 0.
)";

int Fail(const std::string& msg) {
  std::cerr << "sre-devbroker: " << msg << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string bootstrap_file;
  int partitions = sre::topics::kPartitions;
  int brokers = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(std::string(name) + " needs a value");
      return argv[++i];
    };
    try {
      if (a == "--help" || a == "-h") {
        std::cout << kHelp;
        return 0;
      } else if (a == "--bootstrap-file") {
        bootstrap_file = value("--bootstrap-file");
      } else if (a == "--partitions") {
        partitions = std::stoi(value("--partitions"));
        if (partitions < 1 || partitions > 1000) return Fail("--partitions must be 1..1000");
      } else if (a == "--brokers") {
        brokers = std::stoi(value("--brokers"));
        if (brokers < 1 || brokers > 9) return Fail("--brokers must be 1..9");
      } else {
        return Fail("unknown argument '" + a + "' (see --help)");
      }
    } catch (const std::exception& e) {
      return Fail(e.what());
    }
  }
  const auto& stop = sre::InstallStopSignals();

  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (!rk) return Fail(std::string("cannot create the mock cluster's handle: ") + err);
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (!cluster) {
    rd_kafka_destroy(rk);
    return Fail("cannot create the mock cluster");
  }
  for (const char* topic : sre::topics::kAll) {
    if (auto e = rd_kafka_mock_topic_create(cluster, topic, partitions, 1)) {
      rd_kafka_mock_cluster_destroy(cluster);
      rd_kafka_destroy(rk);
      return Fail(std::string("cannot create topic ") + topic + ": " + rd_kafka_err2str(e));
    }
  }
  std::string bootstrap = rd_kafka_mock_cluster_bootstraps(cluster);
  std::cout << bootstrap << std::endl;
  if (!bootstrap_file.empty()) {
    std::string tmp = bootstrap_file + ".tmp";
    {
      std::ofstream out(tmp);
      out << bootstrap << "\n";
      if (!out) return Fail("cannot write " + tmp);
    }
    std::filesystem::rename(tmp, bootstrap_file);
  }
  std::cerr << "sre-devbroker: in-memory Kafka mock cluster on " << bootstrap << " with "
            << std::size(sre::topics::kAll) << " topics x " << partitions
            << " partitions (not for production)" << std::endl;

  while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));

  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  if (!bootstrap_file.empty()) std::filesystem::remove(bootstrap_file);
  return 0;
}
