#include "shared/config.h"

#include <gtest/gtest.h>

namespace sre {
namespace {

TEST(ConfigTest, ParsesDotEnvWithCommentsQuotesAndExport) {
  auto vars = ParseDotEnv(
      "# comment\n"
      "export A=1\n"
      "B = \"two words\"\n"
      "C='x#y'\n"
      "D=plain # trailing comment\n"
      "not a line\n");
  EXPECT_EQ(vars["A"], "1");
  EXPECT_EQ(vars["B"], "two words");
  EXPECT_EQ(vars["C"], "x#y");
  EXPECT_EQ(vars["D"], "plain");
  EXPECT_EQ(vars.count("not a line"), 0u);
}

TEST(ConfigTest, TypedAccessorsReturnValuesAndDefaults) {
  auto c = Config::FromMap({{"N", "42"}, {"D", "0.5"}, {"B", "yes"}, {"P", "OpenAI"}});
  EXPECT_EQ(c.Int("N", 1, 0, 100), 42);
  EXPECT_EQ(c.Int("MISSING", 7, 0, 100), 7);
  EXPECT_DOUBLE_EQ(c.Double("D", 1, 0, 1), 0.5);
  EXPECT_TRUE(c.Bool("B", false));
  EXPECT_EQ(c.Choice("P", "auto", {"auto", "anthropic", "openai", "none"}), "openai");
  EXPECT_NO_THROW(c.Validate());
}

TEST(ConfigTest, InvalidValuesStopWithMessagesNamingEachVariable) {
  auto c = Config::FromMap({{"LLM_MAX_RPM", "abc"},
                            {"HTTP_PORT", "70000"},
                            {"LOG_FORMAT", "xml"},
                            {"REDIS_URL", "http://x"},
                            {"FLAG", "maybe"}});
  c.Int("LLM_MAX_RPM", 50, 1, 10000);
  c.Port("HTTP_PORT", 9101);
  c.Choice("LOG_FORMAT", "text", {"text", "json"});
  c.Url("REDIS_URL", "redis://localhost:6379/0", {"redis"});
  c.Bool("FLAG", false);
  try {
    c.Validate();
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("LLM_MAX_RPM=\"abc\": expected an integer"), std::string::npos) << m;
    EXPECT_NE(m.find("HTTP_PORT=\"70000\": must be between 1 and 65535"), std::string::npos) << m;
    EXPECT_NE(m.find("LOG_FORMAT=\"xml\": expected one of: text, json"), std::string::npos) << m;
    EXPECT_NE(m.find("REDIS_URL"), std::string::npos) << m;
    EXPECT_NE(m.find("FLAG=\"maybe\""), std::string::npos) << m;
  }
}

TEST(ConfigTest, SecretsAreNeverDescribedOrPrintedInErrors) {
  auto c = Config::FromMap({{"ANTHROPIC_API_KEY", "sk-ant-secret"},
                            {"DATABASE_URL", "postgresql://sre:hunter2@db:5432/sre"}});
  Secret key = c.SecretValue("ANTHROPIC_API_KEY");
  EXPECT_EQ(key.reveal(), "sk-ant-secret");
  EXPECT_EQ(key.masked(), "***");
  c.Url("DATABASE_URL", "", {"postgresql"});
  for (const auto& [name, value] : c.Described()) {
    EXPECT_EQ(value.find("sk-ant-secret"), std::string::npos) << name;
    EXPECT_EQ(value.find("hunter2"), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace sre
