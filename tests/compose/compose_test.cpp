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
    {"sre-communication", 9105}, {"sre-postmortem", 9106},
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
  for (const char* infra :
       {"kafka", "kafka-ui", "redis", "postgres", "mailhog", "prometheus", "grafana"})
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
