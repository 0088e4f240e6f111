#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <map>
#include <regex>
#include <string>

#include "shared/messages.h"
#include "tests/support/test_stack.h"

namespace sre {
namespace {

std::string Shell(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  pclose(p);
  return out;
}

TEST(DevbrokerTest, KcatListsEveryTopicWithSixPartitions) {
  SRE_REQUIRE_STACK();
  std::string listing = Shell("kcat -b " + testing::Stack().kafka_bootstrap + " -L 2>&1");
  std::map<std::string, int> partitions;
  std::regex re("topic \"([^\"]+)\" with ([0-9]+) partitions");
  for (std::sregex_iterator it(listing.begin(), listing.end(), re), end; it != end; ++it)
    partitions[(*it)[1]] = std::stoi((*it)[2]);
  for (const char* topic : topics::kAll) {
    ASSERT_TRUE(partitions.count(topic)) << topic << " missing in:\n" << listing;
    EXPECT_EQ(partitions[topic], 6) << topic;
  }
}

TEST(DevbrokerTest, HelpSaysItIsInMemoryAndNotForProduction) {
  const char* bin = std::getenv("SRE_BIN_DIR");
  ASSERT_NE(bin, nullptr);
  std::string help = Shell(std::string(bin) + "/sre-devbroker --help");
  EXPECT_NE(help.find("in memory"), std::string::npos) << help;
  EXPECT_NE(help.find("NOT FOR PRODUCTION"), std::string::npos) << help;
  std::string bad = Shell(std::string(bin) + "/sre-devbroker --bogus 2>&1; echo rc=$?");
  EXPECT_NE(bad.find("unknown argument '--bogus'"), std::string::npos) << bad;
  EXPECT_NE(bad.find("rc=2"), std::string::npos) << bad;
}

}  // namespace
}  // namespace sre
