// The wire behaviour sre-ingest depends on, from the real programs (Prometheus 2.42 and
// Alertmanager 0.25, run by tests/support/prom_stack.h): a local HTTP server plays the simulator's
// /metrics and sre-ingest's two endpoints and records what arrives.
//
// With SRE_RECORD_CAPTURES=DIR the bodies are also written to DIR, as the captures in
// tests/data/captured/ were (see its README.md).
#include "tests/support/prom_stack.h"

#include <gtest/gtest.h>
#include <httplib.h>

#ifdef SRE_HAVE_SNAPPY
#include <snappy.h>
#endif

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "shared/json_codec.h"
#include "tests/support/local_http_server.h"

namespace sre::testing {
namespace {

constexpr const char* kToken = "prom-stack-test-token";
constexpr auto kTimeout = std::chrono::seconds(60);

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string Base64(const std::string& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n =
        (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(n >> shift) & 63];
  }
  if (i < in.size()) {
    uint32_t n = uint32_t(uint8_t(in[i])) << 16;
    if (i + 1 < in.size()) n |= uint32_t(uint8_t(in[i + 1])) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

struct Post {
  std::string path, body;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// The simulator's /metrics (one error_rate gauge of "svc-a") and sre-ingest's endpoints, which
// record every POST and answer 200.
class FakeTarget {
 public:
  FakeTarget() {
    server_.routes().Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(
          "# HELP sim_metric_value Current simulated value of each metric, per service\n"
          "# TYPE sim_metric_value gauge\n"
          "sim_metric_value{metric=\"error_rate\",service=\"svc-a\"} " +
              std::to_string(error_rate_.load()) + "\n",
          "text/plain; version=0.0.4");
    });
    server_.routes().Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      Post p{req.path, req.body, {}};
      for (const auto& [k, v] : req.headers) p.headers[Lower(k)] = v;
      std::lock_guard<std::mutex> lock(mu_);
      posts_.push_back(std::move(p));
      res.status = 200;
    });
    server_.Start();
  }

  int port() const { return server_.port(); }
  void SetErrorRate(int v) { error_rate_ = v; }

  // The first POST to `path` that `pred` accepts, waiting up to kTimeout.
  std::optional<Post> WaitFor(const std::string& path,
                              const std::function<bool(const Post&)>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (const Post& p : posts_)
          if (p.path == path && pred(p)) return p;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return std::nullopt;
  }

 private:
  std::atomic<int> error_rate_{50};
  std::mutex mu_;
  std::vector<Post> posts_;
  // Last, so it stops (joining the handler thread) before the state the handlers use goes.
  LocalHttpServer server_{"FakeTarget"};
};

constexpr const char* kRules = R"(groups:
  - name: prom-stack-test
    rules:
      - alert: HighErrorRate
        expr: sim_metric_value{metric="error_rate"} > 10
        for: 0s
        labels:
          severity: critical
        annotations:
          summary: 'error rate of {{ $labels.service }} is {{ $value }} %'
)";

std::string NotificationStatus(const Post& p) {
  Json j = Json::parse(p.body, nullptr, false);
  return j.is_object() && j.contains("status") && j["status"].is_string()
             ? j["status"].get<std::string>()
             : "";
}

void Record(const std::string& name, const std::string& text) {
  const char* dir = std::getenv("SRE_RECORD_CAPTURES");
  if (!dir || !*dir) return;
  std::filesystem::create_directories(dir);
  std::ofstream(std::filesystem::path(dir) / name, std::ios::binary | std::ios::trunc) << text;
}

// The body as NAME and its headers, one "name: value" line each, as NAME.headers.
void Record(const std::string& name, const Post& post, const std::string& body) {
  Record(name, body);
  std::string headers;
  for (const auto& [k, v] : post.headers)
    if (k != "remote_addr" && k != "remote_port" && k != "local_addr" && k != "local_port")
      headers += k + ": " + v + "\n";
  Record(name + ".headers", headers);
}

TEST(PromStackTest, RenderedConfigsPassPromtoolAndAmtool) {
  PromStackOptions o;
  std::string missing = PromStack::MissingBinaries(o);
  if (!missing.empty()) GTEST_SKIP() << missing;
  o.scrape_target = "127.0.0.1:1";
  o.remote_write_url = "http://127.0.0.1:2/api/v1/write";
  o.webhook_url = "http://127.0.0.1:3/api/v1/alerts/alertmanager";
  o.webhook_token = "it's a token";
  o.rules_yaml = kRules;
  PromStack stack(o);
  ASSERT_EQ(stack.Start(), "");
  for (const auto& [tool, args] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"/usr/bin/promtool", {"check", "config", stack.dir() + "/prometheus.yml"}},
           {"/usr/bin/amtool", {"check-config", stack.dir() + "/alertmanager.yml"}}}) {
    if (::access(tool.c_str(), X_OK) != 0) continue;
    std::string out;
    EXPECT_EQ(RunToCompletion(tool, args, {}, &out), 0) << tool << ":\n" << out;
  }
  EXPECT_NE(stack.AlertmanagerConfig().find("credentials: 'it''s a token'"), std::string::npos);
}

TEST(PromStackTest, RemoteWriteAndWebhookCarryWhatIngestExpects) {
  std::string missing = PromStack::MissingBinaries();
  if (!missing.empty()) GTEST_SKIP() << missing;
  FakeTarget target;
  const std::string base = "http://127.0.0.1:" + std::to_string(target.port());
  PromStack stack(PromStackOptions{.scrape_target = "127.0.0.1:" + std::to_string(target.port()),
                                   .remote_write_url = base + "/api/v1/write",
                                   .webhook_url = base + "/api/v1/alerts/alertmanager",
                                   .webhook_token = kToken,
                                   .remote_write_token = "",
                                   .rules_yaml = kRules,
                                   .dir = ""});
  ASSERT_EQ(stack.Start(), "");

  // (a) Remote write 1.0: snappy-compressed protobuf WriteRequests holding the scraped gauge.
  auto write = target.WaitFor("/api/v1/write", [](const Post& p) {
#ifdef SRE_HAVE_SNAPPY
    std::string raw;
    return snappy::Uncompress(p.body.data(), p.body.size(), &raw) &&
           raw.find("sim_metric_value") != std::string::npos &&
           raw.find("svc-a") != std::string::npos;
#else
    return !p.body.empty();
#endif
  });
  ASSERT_TRUE(write) << "no remote write within " << kTimeout.count() << " s; "
                     << stack.prometheus_log();
  EXPECT_EQ(write->Header("content-encoding"), "snappy");
  EXPECT_EQ(write->Header("content-type"), "application/x-protobuf");
  EXPECT_EQ(write->Header("x-prometheus-remote-write-version"), "0.1.0");
  EXPECT_EQ(write->Header("user-agent").rfind("Prometheus/", 0), 0u) << write->Header("user-agent");
  Record("prometheus_remote_write.b64", *write, Base64(write->body) + "\n");

  // (b) The webhook (version 4) of the firing alert, with the bearer token.
  const std::string webhook = "/api/v1/alerts/alertmanager";
  auto firing =
      target.WaitFor(webhook, [](const Post& p) { return NotificationStatus(p) == "firing"; });
  ASSERT_TRUE(firing) << "no firing notification; " << stack.alertmanager_log();
  EXPECT_EQ(firing->Header("authorization"), std::string("Bearer ") + kToken);
  EXPECT_EQ(firing->Header("content-type"), "application/json");
  EXPECT_EQ(firing->Header("user-agent").rfind("Alertmanager/", 0), 0u)
      << firing->Header("user-agent");
  Json j = Json::parse(firing->body);
  EXPECT_EQ(j["version"], "4");
  EXPECT_EQ(j["receiver"], "webhook");
  EXPECT_EQ(j["groupLabels"], (Json{{"alertname", "HighErrorRate"}, {"service", "svc-a"}}));
  EXPECT_EQ(j["externalURL"], stack.alertmanager_url());
  ASSERT_EQ(j["alerts"].size(), 1u) << j.dump();
  const Json& alert = j["alerts"][0];
  EXPECT_EQ(alert["status"], "firing");
  EXPECT_EQ(alert["labels"]["service"], "svc-a");
  EXPECT_EQ(alert["labels"]["metric"], "error_rate");
  EXPECT_EQ(alert["labels"]["severity"], "critical");
  EXPECT_EQ(alert["labels"]["alertname"], "HighErrorRate");
  EXPECT_EQ(alert["labels"]["job"], "simulator");
  EXPECT_EQ(alert["annotations"]["summary"], "error rate of svc-a is 50 %");
  EXPECT_NE(alert["generatorURL"].get<std::string>().find("g0.expr="), std::string::npos);
  EXPECT_EQ(alert["generatorURL"].get<std::string>().rfind(stack.prometheus_url() + "/graph?", 0),
            0u)
      << alert["generatorURL"];
  EXPECT_FALSE(alert["fingerprint"].get<std::string>().empty());
  EXPECT_EQ(alert["endsAt"].get<std::string>().rfind("0001-01-01", 0), 0u)
      << "a firing alert from Prometheus carries no end (Alertmanager zeroes it)";
  Record("alertmanager_webhook_firing.json", *firing, firing->body);

  // (c) Once the gauge is back to normal, the resolved notification of the same alert.
  target.SetErrorRate(0);
  auto resolved =
      target.WaitFor(webhook, [](const Post& p) { return NotificationStatus(p) == "resolved"; });
  ASSERT_TRUE(resolved) << "no resolved notification; " << stack.alertmanager_log();
  Json r = Json::parse(resolved->body);
  ASSERT_EQ(r["alerts"].size(), 1u);
  EXPECT_EQ(r["alerts"][0]["status"], "resolved");
  EXPECT_EQ(r["alerts"][0]["fingerprint"], alert["fingerprint"]);
  EXPECT_EQ(r["alerts"][0]["startsAt"], alert["startsAt"]);
  EXPECT_EQ(r["alerts"][0]["endsAt"].get<std::string>().rfind("0001-01-01", 0), std::string::npos);
  EXPECT_EQ(resolved->Header("authorization"), std::string("Bearer ") + kToken);
  Record("alertmanager_webhook_resolved.json", *resolved, resolved->body);
}

}  // namespace
}  // namespace sre::testing
