// docker-compose.yml against what the build produces, without a Docker engine: the file is
// normalised by `docker-compose config` (Debian's 1.29; the test skips when it is missing), then
// every service of our image is checked against the sources in SRE_SOURCE_DIR — its command is
// an executable the build defines, its ports are that executable's default port (ARCHITECTURE
// §7), each environment variable is one the executable reads — and, when the executables are
// built in SRE_BIN_DIR, against their `--help`. Every service has a health check (one-shots
// excepted: they are waited for with service_completed_successfully) and a restart policy.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "tests/compose/compose_yaml.h"

namespace sre::compose {
namespace {

namespace fs = std::filesystem;
constexpr const char* kOurImage = "sre-pipeline:local";

// ARCHITECTURE §7.
const std::map<std::string, int> kDefaultPorts = {
    {"sre-api", 8000},           {"sre-simulator", 8100},     {"sre-detection", 9101},
    {"sre-correlation", 9102},   {"sre-investigation", 9103}, {"sre-remediation", 9104},
    {"sre-communication", 9105}, {"sre-postmortem", 9106},    {"sre-ingest", 8200},
};

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string Source() {
  std::string s = Env("SRE_SOURCE_DIR");
  return s.empty() ? "." : s;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// stdout of a shell command; `ok` false when it exited non-zero.
std::string Run(const std::string& cmd, bool* ok) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) {
    *ok = false;
    return out;
  }
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), f)) > 0) out.append(buf.data(), n);
  *ok = pclose(f) == 0;
  return out;
}

bool HaveDockerCompose() { return std::system("command -v docker-compose >/dev/null 2>&1") == 0; }

std::string NormalisedCompose() {
  bool ok = false;
  std::string out = Run("docker-compose -f '" + Source() + "/docker-compose.yml' --env-file '" +
                            Source() + "/.env.example' config 2>&1",
                        &ok);
  EXPECT_TRUE(ok) << out;
  return out;
}

// Executable name -> its source directory, from `sre_executable(NAME ...)` in CMakeLists.txt.
std::map<std::string, fs::path> DefinedExecutables() {
  std::map<std::string, fs::path> exes;
  std::regex decl(R"(sre_executable\((sre-[a-z-]+))");
  for (const char* top : {"agents", "simulator", "knowledge", "api", "tools"}) {
    fs::path root = fs::path(Source()) / top;
    if (!fs::exists(root)) continue;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      if (e.path().filename() != "CMakeLists.txt") continue;
      std::string text = ReadFile(e.path());
      for (std::sregex_iterator it(text.begin(), text.end(), decl), end; it != end; ++it)
        exes[(*it)[1]] = e.path().parent_path();
    }
  }
  return exes;
}

// Quoted upper-case names ("HTTP_PORT") in the non-test sources below `dir`.
std::set<std::string> NamesIn(const fs::path& dir) {
  std::set<std::string> names;
  std::regex quoted(R"re("([A-Z][A-Z0-9_]{2,})")re");
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    std::string f = e.path().filename().string();
    if (!(f.ends_with(".cpp") || f.ends_with(".h")) || f.find("_test") != std::string::npos)
      continue;
    std::string text = ReadFile(e.path());
    for (std::sregex_iterator it(text.begin(), text.end(), quoted), end; it != end; ++it)
      names.insert((*it)[1]);
  }
  return names;
}

// True when a line of a non-test source below `dir` matches `re`.
bool SourcesMention(const fs::path& dir, const std::regex& re) {
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    std::string f = e.path().filename().string();
    if (!(f.ends_with(".cpp") || f.ends_with(".h")) || f.find("_test") != std::string::npos)
      continue;
    std::istringstream in(ReadFile(e.path()));
    for (std::string line; std::getline(in, line);)
      if (std::regex_search(line, re)) return true;
  }
  return false;
}

std::string HelpOf(const std::string& exe) {
  std::string bin = Env("SRE_BIN_DIR");
  if (bin.empty() || !fs::exists(fs::path(bin) / exe)) return "";
  bool ok = false;
  return Run("'" + bin + "/" + exe + "' --help 2>&1", &ok);
}

class ComposeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveDockerCompose()) GTEST_SKIP() << "docker-compose not installed";
    services_ = ParseServices(NormalisedCompose());
    ASSERT_FALSE(services_.empty());
    for (const auto& [name, s] : services_)
      if (s.image == kOurImage) ours_.push_back(&s);
  }
  std::map<std::string, Service> services_;
  std::vector<const Service*> ours_;
};

TEST_F(ComposeTest, RunsTheWholePipeline) {
  std::set<std::string> commands;
  for (const Service* s : ours_)
    if (!s->command.empty()) commands.insert(s->command[0]);
  for (const auto& [exe, port] : kDefaultPorts)
    EXPECT_TRUE(commands.count(exe)) << exe << " has no service";
  EXPECT_TRUE(commands.count("sre-knowledge")) << "no seed service";
  for (const char* infra : {"kafka", "kafka-ui", "redis", "postgres", "mailhog", "prometheus",
                            "alertmanager", "grafana"})
    EXPECT_TRUE(services_.count(infra)) << infra;
}

TEST_F(ComposeTest, CommandsNameExecutablesTheBuildProduces) {
  auto exes = DefinedExecutables();
  std::string bin = Env("SRE_BIN_DIR");
  for (const Service* s : ours_) {
    ASSERT_FALSE(s->command.empty()) << s->name << " has no command";
    EXPECT_TRUE(exes.count(s->command[0]))
        << s->name << ": " << s->command[0] << " is not an sre_executable()";
    if (s->command[0] == "sre-knowledge") {
      EXPECT_EQ(s->command, (std::vector<std::string>{"sre-knowledge", "seed"}));
    }
  }
}

TEST_F(ComposeTest, PortsAreTheExecutablesDefaults) {
  auto exes = DefinedExecutables();
  for (const Service* s : ours_) {
    const std::string& exe = s->command.at(0);
    auto def = kDefaultPorts.find(exe);
    if (def == kDefaultPorts.end()) {
      EXPECT_TRUE(s->ports.empty()) << s->name << " publishes a port but " << exe << " serves none";
      continue;
    }
    ASSERT_EQ(s->ports.size(), 1u) << s->name;
    EXPECT_EQ(s->ports[0].first, def->second) << s->name << " published port";
    EXPECT_EQ(s->ports[0].second, def->second) << s->name << " container port";
    if (s->environment.count("HTTP_PORT")) {
      EXPECT_EQ(s->environment.at("HTTP_PORT"), std::to_string(def->second)) << s->name;
    }
    // The default in the executable's sources (ExecutableSpec or Port("HTTP_PORT", ...)) agrees
    // with ARCHITECTURE §7.
    if (exes.count(exe)) {
      std::regex default_port("(\"HTTP_PORT\", |^\\s*)" + std::to_string(def->second) + "\\b");
      EXPECT_TRUE(SourcesMention(exes.at(exe), default_port))
          << exe << "'s sources do not default HTTP_PORT to " << def->second;
    }
    std::string help = HelpOf(exe);
    if (!help.empty()) {
      EXPECT_NE(help.find("(" + std::to_string(def->second)), std::string::npos)
          << exe << " --help:\n"
          << help;
    }
    // The health check probes that port.
    std::string probe;
    for (const auto& t : s->healthcheck_test) probe += t + " ";
    EXPECT_NE(probe.find("localhost:" + std::to_string(def->second) + "/healthz"),
              std::string::npos)
        << s->name << ": " << probe;
  }
}

TEST_F(ComposeTest, EnvironmentVariablesAreOnesTheExecutablesRead) {
  auto exes = DefinedExecutables();
  std::set<std::string> shared = NamesIn(fs::path(Source()) / "shared");
  std::set<std::string> llm = NamesIn(fs::path(Source()) / "shared" / "llm");
  for (const Service* s : ours_) {
    const std::string& exe = s->command.at(0);
    if (!exes.count(exe)) continue;  // reported by CommandsNameExecutablesTheBuildProduces
    std::set<std::string> known = NamesIn(exes.at(exe));
    known.insert(shared.begin(), shared.end());
    std::string help = HelpOf(exe);
    for (const auto& [var, value] : s->environment) {
      EXPECT_TRUE(known.count(var))
          << s->name << " sets " << var << ", which no source of " << exe << " reads";
      if (help.empty()) continue;
      // --help abbreviates the LLM settings as "LLM_PROVIDER, ANTHROPIC_API_KEY, ...".
      bool llm_var = llm.count(var) && (var.starts_with("LLM_") || var.starts_with("ANTHROPIC_") ||
                                        var.starts_with("OPENAI_"));
      if (llm_var) {
        EXPECT_NE(help.find("LLM_PROVIDER"), std::string::npos)
            << s->name << " sets " << var << " but " << exe << " uses no LLM";
      } else {
        EXPECT_NE(help.find(var), std::string::npos)
            << s->name << " sets " << var << ", not in " << exe << " --help";
      }
    }
  }
}

TEST_F(ComposeTest, EveryServiceHasAHealthCheckAndRestartPolicy) {
  std::set<std::string> awaited_once;  // one-shots others wait for
  for (const auto& [name, s] : services_)
    for (const auto& [dep, cond] : s.depends_on)
      if (cond == "service_completed_successfully") awaited_once.insert(dep);
  for (const auto& [name, s] : services_) {
    EXPECT_FALSE(s.restart.empty()) << name << " has no restart policy";
    if (awaited_once.count(name)) {
      EXPECT_EQ(s.restart, "no") << name << " is a one-shot and must not restart";
      continue;
    }
    EXPECT_FALSE(s.healthcheck_test.empty() || s.healthcheck_disabled)
        << name << " has no health check";
  }
}

TEST_F(ComposeTest, StartOrderWaitsForHealth) {
  for (const auto& [name, s] : services_) {
    for (const auto& [dep, cond] : s.depends_on) {
      ASSERT_TRUE(services_.count(dep)) << name << " depends on unknown " << dep;
      EXPECT_TRUE(cond == "service_healthy" || cond == "service_completed_successfully")
          << name << " -> " << dep << ": " << cond;
      if (cond == "service_healthy") {
        EXPECT_FALSE(services_.at(dep).healthcheck_test.empty() ||
                     services_.at(dep).healthcheck_disabled)
            << dep;
      }
    }
  }
  for (const Service* s : ours_) {
    if (s->command.at(0) == "sre-knowledge") continue;
    EXPECT_EQ(s->depends_on.count("seed"), 1u)
        << s->name << " starts before the knowledge base is seeded";
  }
}

// The repository path a container path comes from: a bind mount of the service, else what the
// image copies to /app (infra/docker/Dockerfile: `cp -r SRC /out/app/DST`). "" when neither.
fs::path HostPathOf(const Service& s, const std::string& container_path) {
  for (const Volume& v : s.volumes) {
    if (!v.bind()) continue;
    if (container_path == v.target) return v.source;
    if (container_path.rfind(v.target + "/", 0) == 0)
      return fs::path(v.source) / container_path.substr(v.target.size() + 1);
  }
  if (s.image != kOurImage) return "";
  std::string dockerfile = ReadFile(fs::path(Source()) / "infra/docker/Dockerfile");
  std::regex copy(R"(cp -r ([^\s;]+) /out/app/([^\s;]+))");
  for (std::sregex_iterator it(dockerfile.begin(), dockerfile.end(), copy), end; it != end; ++it) {
    std::string target = "/app/" + (*it)[2].str();
    if (container_path == target) return fs::path(Source()) / (*it)[1].str();
    if (container_path.rfind(target + "/", 0) == 0)
      return fs::path(Source()) / (*it)[1].str() / container_path.substr(target.size() + 1);
  }
  return "";
}

// "host:port" pairs named in a configuration file's non-comment lines: URLs and target lists.
std::vector<std::pair<std::string, int>> HostPorts(const std::string& text) {
  std::vector<std::pair<std::string, int>> out;
  std::regex url(R"(https?://([a-z][a-z0-9-]*):(\d+))");
  std::regex target(R"((?:^\s*-\s*|['"])([a-z][a-z0-9-]*):(\d+)['"]?\s*[\],]?\s*$)");
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto hash = line.find('#');
    if (hash != std::string::npos) line = line.substr(0, hash);
    std::smatch m;
    if (std::regex_search(line, m, url)) {
      out.emplace_back(m[1], std::stoi(m[2]));
    } else {
      // Flow lists ['a:1', 'b:2'] and block items "- a:1".
      std::regex item(R"(([a-z][a-z0-9-]*):(\d+))");
      if (line.find("targets") != std::string::npos || std::regex_search(line, m, target)) {
        for (std::sregex_iterator it(line.begin(), line.end(), item), end; it != end; ++it)
          out.emplace_back((*it)[1], std::stoi((*it)[2]));
      }
    }
  }
  return out;
}

TEST_F(ComposeTest, MountedPathsExistInTheRepository) {
  const fs::path repo = fs::canonical(Source());
  for (const auto& [name, s] : services_) {
    for (const Volume& v : s.volumes) {
      if (!v.bind()) continue;
      EXPECT_TRUE(fs::exists(v.source))
          << name << " mounts " << v.source << ", which does not exist";
      if (!fs::exists(v.source)) continue;
      std::string rel = fs::relative(fs::canonical(v.source), repo).string();
      EXPECT_FALSE(rel.empty() || rel.rfind("..", 0) == 0)
          << name << " mounts " << v.source << " from outside the repository";
      EXPECT_EQ(v.mode, "ro") << name << ": " << v.source
                              << " is configuration; mount it read-only";
    }
  }
}

// A setting that names a file in the container (INGEST_MAPPING, DETECTION_CONFIG, ...) names
// one the image or a mount provides.
TEST_F(ComposeTest, PathSettingsNameFilesTheContainerHas) {
  for (const Service* s : ours_) {
    for (const auto& [var, value] : s->environment) {
      if (value.rfind("/app/", 0) != 0) continue;
      fs::path host = HostPathOf(*s, value);
      EXPECT_FALSE(host.empty()) << s->name << ": " << var << "=" << value
                                 << " is neither copied into the image nor mounted";
      if (!host.empty()) {
        EXPECT_TRUE(fs::exists(host)) << s->name << ": " << var << "=" << value << " comes from "
                                      << host << ", which does not exist";
      }
    }
  }
}

// Telemetry and alerts reach sre-ingest: Prometheus remote-writes to it, evaluates the alerting
// rules (mounted beside its configuration) and sends alerts to the Alertmanager, whose webhook
// is sre-ingest's; every host:port those files name is a compose service listening there.
TEST_F(ComposeTest, PrometheusAndAlertmanagerDeliverToIngest) {
  ASSERT_TRUE(services_.count("prometheus") && services_.count("alertmanager") &&
              services_.count("sre-ingest"));
  const Service& prometheus = services_.at("prometheus");
  const Service& alertmanager = services_.at("alertmanager");
  fs::path prom_yml = HostPathOf(prometheus, "/etc/prometheus/prometheus.yml");
  fs::path am_yml = HostPathOf(alertmanager, "/etc/alertmanager/alertmanager.yml");
  ASSERT_FALSE(prom_yml.empty()) << "prometheus.yml is not mounted at /etc/prometheus";
  ASSERT_FALSE(am_yml.empty()) << "alertmanager.yml is not mounted at /etc/alertmanager";
  std::string prom = ReadFile(prom_yml), am = ReadFile(am_yml);

  // rule_files are relative to prometheus.yml: each must be mounted in /etc/prometheus.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(prom, m, std::regex(R"(rule_files:\s*\n((?:\s+-\s*\S+\s*\n)+))")))
      << "prometheus.yml has no rule_files";
  std::string rules_list = m[1];
  int rule_files = 0;
  const std::regex item(R"(-\s*(\S+))");
  for (std::sregex_iterator it(rules_list.begin(), rules_list.end(), item), end; it != end;
       ++it, ++rule_files) {
    fs::path host = HostPathOf(prometheus, "/etc/prometheus/" + (*it)[1].str());
    EXPECT_FALSE(host.empty()) << (*it)[1] << " is not mounted next to prometheus.yml";
    if (!host.empty()) {
      EXPECT_NE(ReadFile(host).find("groups:"), std::string::npos) << host;
    }
  }
  EXPECT_GT(rule_files, 0);

  EXPECT_NE(prom.find("remote_write:\n  - url: http://sre-ingest:8200/api/v1/write\n"),
            std::string::npos)
      << "Prometheus does not remote-write to sre-ingest";
  EXPECT_TRUE(std::regex_search(prom, std::regex(R"(alertmanagers:[\s\S]*alertmanager:9093)")))
      << "Prometheus does not send alerts to the Alertmanager";
  EXPECT_NE(am.find("url: http://sre-ingest:8200/api/v1/alerts/alertmanager\n"), std::string::npos);
  EXPECT_NE(am.find("send_resolved: true"), std::string::npos)
      << "resolved alerts must reach the pipeline";

  int named = 0;
  for (const std::string* text : {&prom, &am}) {
    for (const auto& [host, port] : HostPorts(*text)) {
      ++named;
      ASSERT_TRUE(services_.count(host)) << host << ":" << port << " is not a compose service";
      bool listens = false;
      for (const auto& [published, target] : services_.at(host).ports)
        listens = listens || target == port;
      EXPECT_TRUE(listens) << host << " does not expose " << port;
    }
  }
  EXPECT_GT(named, 10) << "scrape targets, remote write, Alertmanager and webhook";
}

// Each key of .env.example is read by an executable or interpolated by docker-compose.yml.
TEST(EnvExampleTest, KeysAreUsed) {
  std::string compose = ReadFile(fs::path(Source()) / "docker-compose.yml");
  std::set<std::string> read = NamesIn(fs::path(Source()) / "shared");
  for (const auto& [exe, dir] : DefinedExecutables()) {
    auto n = NamesIn(dir);
    read.insert(n.begin(), n.end());
  }
  std::istringstream in(ReadFile(fs::path(Source()) / ".env.example"));
  int keys = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# ", 0) == 0) line = line.substr(2);  // commented-out alternatives count too
    std::smatch m;
    if (!std::regex_match(line, m, std::regex(R"(([A-Z][A-Z0-9_]+)=.*)"))) continue;
    ++keys;
    std::string key = m[1];
    EXPECT_TRUE(read.count(key) || compose.find("${" + key) != std::string::npos) << key;
  }
  EXPECT_GT(keys, 5);
}

}  // namespace
}  // namespace sre::compose
