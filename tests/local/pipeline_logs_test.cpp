// `make logs` / `make logs-sim` without Docker: infra/local/pipeline.sh logs follows the native
// logs, each line prefixed with its process. Issue 15: it printed nothing, not even the last lines
// (Debian's default awk, mawk, reads a pipe in blocks). The script runs for a few seconds under
// `timeout`, which stops its whole process group (tail included).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/support/process.h"

namespace sre {
namespace {

TEST(PipelineLogsTest, ShowsTheLastLinesAtOnceAndFollowsNewOnesPrefixedWithTheName) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("sre-logs-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "logs");
  std::ofstream(dir / "logs" / "simulator.log") << "first line\nsecond line\n";
  std::ofstream(dir / "logs" / "detection.log") << "detection started\n";

  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    std::ofstream(dir / "logs" / "simulator.log", std::ios::app) << "a later line\n";
  });
  std::string sim, agents;
  const std::string script = std::string(SRE_TEST_SOURCE_DIR) + "/infra/local/pipeline.sh";
  std::thread agents_run([&] {
    testing::RunToCompletion("/usr/bin/timeout", {"-s", "TERM", "4", "bash", script, "logs", "agents", "--dir", dir},
                             {{"PATH", "/usr/bin:/bin"}}, &agents);
  });
  testing::RunToCompletion("/usr/bin/timeout", {"-s", "TERM", "4", "bash", script, "logs", "sim", "--dir", dir},
                           {{"PATH", "/usr/bin:/bin"}}, &sim);
  writer.join();
  agents_run.join();
  fs::remove_all(dir);

  EXPECT_NE(sim.find("simulator     | first line\nsimulator     | second line\n"), std::string::npos) << sim;
  EXPECT_NE(sim.find("simulator     | a later line\n"), std::string::npos) << sim;
  EXPECT_NE(agents.find("detection     | detection started\n"), std::string::npos) << agents;
}

}  // namespace
}  // namespace sre
