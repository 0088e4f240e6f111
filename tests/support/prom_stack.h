#pragma once
// Real Prometheus and Alertmanager for tests, run natively (Debian's `prometheus` 2.42 and
// `prometheus-alertmanager` 0.25, infra/local/packages.txt) on free 127.0.0.1 ports, with
// configurations written for a test: everything happens within seconds.
//
//   Prometheus    scrapes `scrape_target` every 1 s (job "simulator"), evaluates `rules_yaml`
//                 every 1 s, sends alerts to the Alertmanager and, when `remote_write_url` is
//                 set, remote-writes every sample there (1.0 protocol: snappy-compressed
//                 protobuf, batches at most 1 s old, retries from 100 ms).
//   Alertmanager  one route, grouped by alertname and service, group_wait and group_interval
//                 1 s, repeat_interval 1 h, to one webhook receiver (`webhook_url`,
//                 send_resolved, every alert in one notification, optional bearer token). HA
//                 gossip is off (`--cluster.listen-address=`), so nothing binds 9094.
//
// Both advertise http://127.0.0.1:PORT as their external URL, so generatorURL and externalURL
// in notifications name no host. Configurations, data and logs go to `dir` (a temporary
// directory the PromStack creates and deletes when `dir` is empty; a given `dir` is kept, logs
// included). Not thread-safe; one PromStack per test.
#include <chrono>
#include <memory>
#include <string>

#include "tests/support/process.h"

namespace sre::testing {

struct PromStackOptions {
  std::string scrape_target;     // "127.0.0.1:PORT": a /metrics to scrape (job "simulator")
  std::string remote_write_url;  // "http://127.0.0.1:PORT/api/v1/write"; empty: no remote write
  std::string webhook_url;       // "http://127.0.0.1:PORT/api/v1/alerts/alertmanager"
  // Bearer tokens of the webhook (http_config.authorization) and of remote write; empty: none.
  std::string webhook_token, remote_write_token;
  std::string rules_yaml;   // the alerting rule file ("groups: ..."); empty: no rules
  std::string dir;          // configs, data and logs; empty: a temporary directory
  int prometheus_port = 0;  // 0: a free one (a test may need Prometheus' URL before Start())
  std::string prometheus_bin = "/usr/bin/prometheus";
  std::string alertmanager_bin = "/usr/bin/prometheus-alertmanager";
};

class PromStack {
 public:
  explicit PromStack(PromStackOptions options);
  // Stops both (SIGTERM) and deletes a temporary directory.
  ~PromStack();
  PromStack(const PromStack&) = delete;
  PromStack& operator=(const PromStack&) = delete;

  // Why a PromStack with these binaries cannot run ("" when both are executable): the reason
  // for a GTEST_SKIP.
  static std::string MissingBinaries(const PromStackOptions& options = {});

  // Writes both configurations, starts both programs and waits until both answer 200 on
  // /-/ready. Returns "" on success, else what went wrong with the end of the program's log
  // (the configuration was refused, it exited, or it was not ready within `timeout`).
  [[nodiscard]] std::string Start(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // SIGTERM both; idempotent.
  void Stop();

  int prometheus_port() const { return prometheus_port_; }
  int alertmanager_port() const { return alertmanager_port_; }
  std::string prometheus_url() const;    // http://127.0.0.1:PORT
  std::string alertmanager_url() const;  // http://127.0.0.1:PORT
  const std::string& dir() const { return dir_; }
  std::string prometheus_log() const { return dir_ + "/prometheus.log"; }
  std::string alertmanager_log() const { return dir_ + "/alertmanager.log"; }

  // The configurations Start() writes (valid once the ports are chosen, i.e. after Start()).
  std::string PrometheusConfig() const;
  std::string AlertmanagerConfig() const;

 private:
  PromStackOptions options_;
  std::string dir_;
  bool owns_dir_ = false;
  int prometheus_port_ = 0, alertmanager_port_ = 0;
  std::unique_ptr<Process> prometheus_, alertmanager_;
};

}  // namespace sre::testing
