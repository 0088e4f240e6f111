#include "tests/support/prom_stack.h"

#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace sre::testing {
namespace {

namespace fs = std::filesystem;

// A single-quoted YAML scalar: nothing in it is special but the quote, which doubles.
std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

std::string Url(int port) { return "http://127.0.0.1:" + std::to_string(port); }

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("PromStack: cannot write " + path);
}

std::string Tail(const std::string& path, size_t bytes = 3000) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

bool Ready(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(std::chrono::milliseconds(500));
  client.set_read_timeout(std::chrono::seconds(1));
  auto res = client.Get("/-/ready");
  return res && res->status == 200;
}

}  // namespace

PromStack::PromStack(PromStackOptions options) : options_(std::move(options)), dir_(options_.dir) {}

PromStack::~PromStack() {
  Stop();
  if (owns_dir_) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::string PromStack::MissingBinaries(const PromStackOptions& options) {
  std::string missing;
  for (const std::string& bin : {options.prometheus_bin, options.alertmanager_bin}) {
    if (::access(bin.c_str(), X_OK) != 0) missing += (missing.empty() ? "" : ", ") + bin;
  }
  return missing.empty() ? ""
                         : missing +
                               " not installed (Debian packages prometheus and "
                               "prometheus-alertmanager, infra/local/packages.txt)";
}

std::string PromStack::prometheus_url() const { return Url(prometheus_port_); }

std::string PromStack::alertmanager_url() const { return Url(alertmanager_port_); }

std::string PromStack::PrometheusConfig() const {
  std::ostringstream y;
  y << "global:\n"
       "  scrape_interval: 1s\n"
       "  scrape_timeout: 1s\n"
       "  evaluation_interval: 1s\n";
  if (!options_.rules_yaml.empty()) y << "rule_files:\n  - rules.yml\n";
  y << "scrape_configs:\n"
       "  - job_name: simulator\n"
       "    static_configs:\n"
       "      - targets: ["
    << Quote(options_.scrape_target)
    << "]\n"
       "alerting:\n"
       "  alertmanagers:\n"
       "    - static_configs:\n"
       "        - targets: ["
    << Quote("127.0.0.1:" + std::to_string(alertmanager_port_)) << "]\n";
  if (!options_.remote_write_url.empty()) {
    // One shard, small batches sent within a second, quick retries: a test sees each scrape
    // arrive about a second later, and a receiver that starts late is caught up at once.
    y << "remote_write:\n"
         "  - url: "
      << Quote(options_.remote_write_url)
      << "\n"
         "    remote_timeout: 5s\n"
         "    queue_config:\n"
         "      capacity: 1000\n"
         "      min_shards: 1\n"
         "      max_shards: 1\n"
         "      max_samples_per_send: 200\n"
         "      batch_send_deadline: 1s\n"
         "      min_backoff: 100ms\n"
         "      max_backoff: 1s\n";
    if (!options_.remote_write_token.empty())
      y << "    authorization:\n"
           "      type: Bearer\n"
           "      credentials: "
        << Quote(options_.remote_write_token) << "\n";
  }
  return y.str();
}

std::string PromStack::AlertmanagerConfig() const {
  std::ostringstream y;
  // group_wait and group_interval must only be positive (Alertmanager 0.25 refuses 0).
  y << "route:\n"
       "  receiver: webhook\n"
       "  group_by: ['alertname', 'service']\n"
       "  group_wait: 1s\n"
       "  group_interval: 1s\n"
       "  repeat_interval: 1h\n"
       "receivers:\n"
       "  - name: webhook\n"
       "    webhook_configs:\n"
       "      - url: "
    << Quote(options_.webhook_url.empty() ? "http://127.0.0.1:1/unused" : options_.webhook_url)
    << "\n"
       "        send_resolved: true\n"
       "        max_alerts: 0\n";
  if (!options_.webhook_token.empty()) {
    y << "        http_config:\n"
         "          authorization:\n"
         "            type: Bearer\n"
         "            credentials: "
      << Quote(options_.webhook_token) << "\n";
  }
  return y.str();
}

std::string PromStack::Start(std::chrono::milliseconds timeout) {
  if (prometheus_ || alertmanager_) return "PromStack: already started";
  std::string missing = MissingBinaries(options_);
  if (!missing.empty()) return missing;
  if (dir_.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "sre-promstack-XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) return "PromStack: cannot create a temporary directory";
    dir_ = buf.data();
    owns_dir_ = true;
  }
  fs::create_directories(dir_ + "/prometheus-data");
  fs::create_directories(dir_ + "/alertmanager-data");
  prometheus_port_ = options_.prometheus_port > 0 ? options_.prometheus_port : FreePort();
  do {
    alertmanager_port_ = FreePort();
  } while (alertmanager_port_ == prometheus_port_);

  try {
    WriteFile(dir_ + "/prometheus.yml", PrometheusConfig());
    if (!options_.rules_yaml.empty()) WriteFile(dir_ + "/rules.yml", options_.rules_yaml);
    WriteFile(dir_ + "/alertmanager.yml", AlertmanagerConfig());
  } catch (const std::exception& e) {
    return e.what();
  }

  alertmanager_ = std::make_unique<Process>(
      "alertmanager", options_.alertmanager_bin,
      std::vector<std::string>{
          "--config.file=" + dir_ + "/alertmanager.yml",
          "--storage.path=" + dir_ + "/alertmanager-data",
          "--web.listen-address=127.0.0.1:" + std::to_string(alertmanager_port_),
          "--web.external-url=" + alertmanager_url() + "/",
          // Empty: no HA gossip (it would bind 0.0.0.0:9094).
          "--cluster.listen-address="},
      std::map<std::string, std::string>{}, alertmanager_log());
  prometheus_ = std::make_unique<Process>(
      "prometheus", options_.prometheus_bin,
      std::vector<std::string>{"--config.file=" + dir_ + "/prometheus.yml",
                               "--storage.tsdb.path=" + dir_ + "/prometheus-data",
                               "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port_),
                               "--web.external-url=" + prometheus_url() + "/",
                               // At shutdown, give up on unsent samples after 2 s (default 1 m).
                               "--storage.remote.flush-deadline=2s"},
      std::map<std::string, std::string>{}, prometheus_log());
  try {
    alertmanager_->Start();
    prometheus_->Start();
  } catch (const std::exception& e) {
    return e.what();
  }

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool am_ready = false, prom_ready = false;
  while (!(am_ready && prom_ready)) {
    for (Process* p : {alertmanager_.get(), prometheus_.get()}) {
      if (!p->Running()) return p->name() + " exited at start; its log:\n" + Tail(p->log_path());
    }
    am_ready = am_ready || Ready(alertmanager_port_);
    prom_ready = prom_ready || Ready(prometheus_port_);
    if (am_ready && prom_ready) break;
    if (std::chrono::steady_clock::now() > deadline) {
      Process* late = am_ready ? prometheus_.get() : alertmanager_.get();
      return late->name() + " not ready within " + std::to_string(timeout.count()) +
             " ms; its log:\n" + Tail(late->log_path());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return "";
}

void PromStack::Stop() {
  // Prometheus first: it would otherwise log every failed alert delivery while it drains.
  if (prometheus_) prometheus_->Stop(std::chrono::seconds(10));
  if (alertmanager_) alertmanager_->Stop(std::chrono::seconds(10));
}

}  // namespace sre::testing
