// The Prometheus and Grafana provisioning files are valid and agree with the code: every scrape
// target's port is its executable's default HTTP_PORT, every job is one of the compose service
// names, every executable is scraped, and every metric a dashboard query uses is registered
// somewhere in the sources (read at test time from SRE_SOURCE_DIR).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "shared/json_codec.h"

namespace sre {
namespace {

namespace fs = std::filesystem;

std::string Source() {
  return std::getenv("SRE_SOURCE_DIR") ? std::getenv("SRE_SOURCE_DIR") : SRE_TEST_SOURCE_DIR;
}

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// job_name -> targets, from a line-based read of prometheus.yml.
std::map<std::string, std::vector<std::string>> ScrapeTargets(const std::string& yaml) {
  std::map<std::string, std::vector<std::string>> out;
  std::istringstream in(yaml);
  std::string line, job;
  const std::regex job_re(R"(^\s*-\s*job_name:\s*['"]?([A-Za-z0-9_-]+)['"]?\s*$)");
  const std::regex targets_re(R"(^\s*-?\s*targets:\s*\[(.*)\]\s*$)");
  const std::regex target_re(R"(['"]([^'"]+)['"])");
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, job_re)) {
      job = m[1];
      out[job];
    } else if (std::regex_match(line, m, targets_re)) {
      std::string list = m[1];
      for (auto it = std::sregex_iterator(list.begin(), list.end(), target_re);
           it != std::sregex_iterator(); ++it)
        out[job].push_back((*it)[1]);
    }
  }
  return out;
}

// The default HTTP_PORT of each executable, read from its source.
std::map<std::string, int> DefaultPorts() {
  std::map<std::string, int> out;
  std::smatch m;
  for (const char* agent : {"detection", "correlation", "investigation", "remediation",
                            "communication", "postmortem"}) {
    std::string main = Read(Source() + "/agents/" + agent + "/main.cpp");
    // ExecutableSpec{name, summary, default_port, ...}: the port is the first 4-digit literal on a
    // line of its own.
    if (std::regex_search(main, m, std::regex(R"(\n\s*(\d{4}),\s*\n)")))
      out[agent] = std::stoi(m[1]);
  }
  const std::regex http_port(R"re("HTTP_PORT",\s*(\d+))re");
  std::string sim = Read(Source() + "/simulator/service.cpp");
  if (std::regex_search(sim, m, http_port)) out["simulator"] = std::stoi(m[1]);
  std::string api = Read(Source() + "/api/main.cpp");
  if (std::regex_search(api, m, http_port)) out["api"] = std::stoi(m[1]);
  std::string ingest = Read(Source() + "/agents/ingest/main.cpp");
  if (std::regex_search(ingest, m, http_port)) out["sre-ingest"] = std::stoi(m[1]);
  return out;
}

// Every metric name registered in the sources: string literals starting sre_ or sim_ that are
// passed to GetCounter/GetGauge/GetHistogram (possibly on the next line).
std::set<std::string> RegisteredMetrics() {
  std::set<std::string> out;
  const std::regex reg(R"re(Get(Counter|Gauge|Histogram)\(\s*"((sre|sim)_[a-z0-9_]+)")re");
  for (const char* dir : {"shared", "agents", "simulator", "api", "knowledge", "tools"}) {
    if (!fs::is_directory(Source() + "/" + dir)) continue;
    for (const auto& e : fs::recursive_directory_iterator(Source() + "/" + dir)) {
      auto ext = e.path().extension();
      if (ext != ".cpp" && ext != ".h") continue;
      if (e.path().filename().string().find("_test") != std::string::npos) continue;
      std::string text = Read(e.path());
      for (auto it = std::sregex_iterator(text.begin(), text.end(), reg);
           it != std::sregex_iterator(); ++it)
        out.insert((*it)[2]);
    }
  }
  return out;
}

TEST(ProvisioningTest, PrometheusScrapesEveryExecutableOnItsDefaultPort) {
  auto targets = ScrapeTargets(Read(Source() + "/infra/prometheus/prometheus.yml"));
  auto ports = DefaultPorts();
  ASSERT_EQ(ports.size(), 9u) << "could not read every executable's default port";
  const std::set<std::string> compose_names = {
      "detection",     "correlation", "investigation", "remediation", "communication",
      "postmortem",    "simulator",   "api",           "sre-ingest"};
  std::set<std::string> scraped;
  for (const auto& [job, list] : targets) {
    ASSERT_FALSE(list.empty()) << job << " has no targets";
    for (const auto& t : list) {
      auto colon = t.rfind(':');
      ASSERT_NE(colon, std::string::npos) << t;
      std::string host = t.substr(0, colon);
      int port = std::stoi(t.substr(colon + 1));
      EXPECT_TRUE(compose_names.count(host)) << t << ": not a compose service name";
      ASSERT_TRUE(ports.count(host)) << t;
      EXPECT_EQ(port, ports[host])
          << t << ": " << host << " listens on " << ports[host] << " by default";
      scraped.insert(host);
    }
  }
  EXPECT_EQ(scraped, compose_names) << "every executable with /metrics is scraped";
  EXPECT_EQ(ports["api"], 8000);
  EXPECT_EQ(ports["sre-ingest"], 8200);
  EXPECT_EQ(ports["simulator"], 8100);
  EXPECT_EQ(ports["detection"], 9101);
  EXPECT_EQ(ports["postmortem"], 9106);
}

TEST(ProvisioningTest, GrafanaDatasourceAndProviderPointAtWhatExists) {
  std::string ds = Read(Source() + "/infra/grafana/provisioning/datasources/prometheus.yml");
  EXPECT_NE(ds.find("apiVersion: 1"), std::string::npos);
  EXPECT_NE(ds.find("type: prometheus"), std::string::npos);
  EXPECT_NE(ds.find("url: http://prometheus:9090"), std::string::npos);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(ds, m, std::regex(R"(uid:\s*(\S+))")));
  const std::string uid = m[1];
  std::string provider = Read(Source() + "/infra/grafana/provisioning/dashboards/sre.yml");
  EXPECT_NE(provider.find("type: file"), std::string::npos);
  EXPECT_NE(provider.find("path:"), std::string::npos);

  Json dash = Json::parse(Read(Source() + "/infra/grafana/dashboards/sre-pipeline.json"));
  EXPECT_EQ(dash["uid"], "sre-pipeline");
  std::set<int> ids;
  for (const auto& p : dash["panels"]) {
    EXPECT_TRUE(ids.insert(p["id"].get<int>()).second) << "duplicate panel id " << p["id"];
    ASSERT_TRUE(p.contains("gridPos"));
    if (p["type"] == "row") continue;
    EXPECT_EQ(p["datasource"]["uid"], uid) << p["title"];
    ASSERT_FALSE(p["targets"].empty()) << p["title"];
    for (const auto& t : p["targets"]) EXPECT_EQ(t["datasource"]["uid"], uid) << p["title"];
  }
}

TEST(ProvisioningTest, EveryDashboardMetricIsRegisteredByTheCode) {
  auto registered = RegisteredMetrics();
  ASSERT_TRUE(registered.count("sre_messages_consumed_total")) << "the source scan found nothing";
  Json dash = Json::parse(Read(Source() + "/infra/grafana/dashboards/sre-pipeline.json"));
  const std::regex metric_re(R"(\b((sre|sim)_[a-z0-9_]+)\b)");
  std::set<std::string> used;
  for (const auto& p : dash["panels"]) {
    if (!p.contains("targets")) continue;
    for (const auto& t : p["targets"]) {
      std::string expr = t["expr"];
      for (auto it = std::sregex_iterator(expr.begin(), expr.end(), metric_re);
           it != std::sregex_iterator(); ++it) {
        std::string name = (*it)[1];
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
          std::string s = suffix;
          if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0 &&
              registered.count(name.substr(0, name.size() - s.size())))
            name = name.substr(0, name.size() - s.size());
        }
        used.insert(name);
        EXPECT_TRUE(registered.count(name))
            << p["title"] << ": " << name << " is not registered by any executable";
      }
    }
  }
  // The dashboard covers what issue 8 asks for.
  for (const char* m :
       {"sim_metric_value", "sre_messages_consumed_total", "sre_handler_duration_seconds",
        "sre_incidents_opened_total", "sre_api_mttr_seconds", "sre_consumer_lag"})
    EXPECT_TRUE(used.count(m)) << m << " is not on the dashboard";
}

}  // namespace
}  // namespace sre
