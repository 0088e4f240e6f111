#include "shared/llm/config.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace sre::llm {
namespace {

// The ConfigError text FromConfig + Validate produce, or "" when the configuration is valid.
std::string ConfigErrorOf(std::map<std::string, std::string> vars) {
  Config config = Config::FromMap(std::move(vars));
  try {
    LlmConfig::FromConfig(config);
    config.Validate();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

LlmConfig Load(std::map<std::string, std::string> vars) {
  Config config = Config::FromMap(std::move(vars));
  LlmConfig c = LlmConfig::FromConfig(config);
  config.Validate();
  return c;
}

TEST(LlmConfigTest, SelectsProvider) {
  struct Case {
    std::string name;
    std::map<std::string, std::string> vars;
    Provider want;
    std::string base_url;
  };
  const Case cases[] = {
      {"auto, nothing set", {}, Provider::kNone, ""},
      {"auto, anthropic key",
       {{"ANTHROPIC_API_KEY", "k"}},
       Provider::kAnthropic,
       "https://api.anthropic.com"},
      {"auto, openai url",
       {{"OPENAI_BASE_URL", "http://localhost:11434/v1/"}},
       Provider::kOpenAi,
       "http://localhost:11434/v1"},
      {"auto, both: anthropic wins",
       {{"ANTHROPIC_API_KEY", "k"}, {"OPENAI_BASE_URL", "http://localhost:8000/v1"}},
       Provider::kAnthropic,
       "https://api.anthropic.com"},
      {"auto, openai key without url", {{"OPENAI_API_KEY", "k"}}, Provider::kNone, ""},
      {"explicit none despite a key",
       {{"LLM_PROVIDER", "none"}, {"ANTHROPIC_API_KEY", "k"}},
       Provider::kNone,
       ""},
      {"explicit openai without key",
       {{"LLM_PROVIDER", "OpenAI"}, {"OPENAI_BASE_URL", "http://127.0.0.1:8080/v1"}},
       Provider::kOpenAi,
       "http://127.0.0.1:8080/v1"},
      {"anthropic base url override",
       {{"LLM_PROVIDER", "anthropic"},
        {"ANTHROPIC_API_KEY", "k"},
        {"ANTHROPIC_BASE_URL", "http://127.0.0.1:9999/"}},
       Provider::kAnthropic,
       "http://127.0.0.1:9999"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    LlmConfig got = Load(c.vars);
    EXPECT_EQ(got.provider, c.want);
    EXPECT_EQ(got.base_url, c.base_url);
  }
}

TEST(LlmConfigTest, DefaultsMatchArchitecture) {
  LlmConfig c = Load({});
  EXPECT_EQ(c.model_fast, "claude-haiku-4-5");
  EXPECT_EQ(c.model_reasoning, "claude-sonnet-4-6");
  EXPECT_EQ(c.max_rpm, 50);
  EXPECT_EQ(c.timeout, std::chrono::seconds(60));
  EXPECT_EQ(c.max_tokens, 2048);
  EXPECT_EQ(c.Model(Tier::kFast), "claude-haiku-4-5");
  EXPECT_EQ(c.Model(Tier::kReasoning), "claude-sonnet-4-6");
}

TEST(LlmConfigTest, ReadsOverrides) {
  LlmConfig c = Load({{"OPENAI_BASE_URL", "http://localhost:11434/v1"},
                      {"OPENAI_API_KEY", "sk-local"},
                      {"LLM_MODEL_FAST", "llama3.1:8b"},
                      {"LLM_MODEL_REASONING", "qwen2.5:32b"},
                      {"LLM_MAX_RPM", "600"},
                      {"LLM_TIMEOUT_S", "15"},
                      {"LLM_MAX_TOKENS", "512"}});
  EXPECT_EQ(c.provider, Provider::kOpenAi);
  EXPECT_EQ(c.api_key.reveal(), "sk-local");
  EXPECT_EQ(c.Model(Tier::kFast), "llama3.1:8b");
  EXPECT_EQ(c.Model(Tier::kReasoning), "qwen2.5:32b");
  EXPECT_EQ(c.max_rpm, 600);
  EXPECT_EQ(c.timeout, std::chrono::seconds(15));
  EXPECT_EQ(c.max_tokens, 512);
}

TEST(LlmConfigTest, BadValuesNameTheVariable) {
  struct Case {
    std::map<std::string, std::string> vars;
    std::string variable;
  };
  const Case cases[] = {
      {{{"LLM_PROVIDER", "gemini"}}, "LLM_PROVIDER"},
      {{{"LLM_PROVIDER", "anthropic"}}, "ANTHROPIC_API_KEY"},
      {{{"LLM_PROVIDER", "openai"}}, "OPENAI_BASE_URL"},
      {{{"LLM_PROVIDER", "openai"}, {"OPENAI_API_KEY", "k"}}, "OPENAI_BASE_URL"},
      {{{"OPENAI_BASE_URL", "localhost:11434"}}, "OPENAI_BASE_URL"},
      {{{"OPENAI_BASE_URL", "ftp://x/v1"}}, "OPENAI_BASE_URL"},
      {{{"ANTHROPIC_BASE_URL", "api.anthropic.com"}}, "ANTHROPIC_BASE_URL"},
      {{{"LLM_MAX_RPM", "abc"}}, "LLM_MAX_RPM"},
      {{{"LLM_MAX_RPM", "0"}}, "LLM_MAX_RPM"},
      {{{"LLM_TIMEOUT_S", "-1"}}, "LLM_TIMEOUT_S"},
      {{{"LLM_MAX_TOKENS", "2k"}}, "LLM_MAX_TOKENS"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.variable);
    std::string error = ConfigErrorOf(c.vars);
    EXPECT_NE(error.find(c.variable), std::string::npos) << error;
  }
}

TEST(LlmConfigTest, MissingKeyErrorAlsoListsEarlierProblems) {
  std::string error = ConfigErrorOf({{"LLM_PROVIDER", "anthropic"}, {"LLM_MAX_RPM", "many"}});
  EXPECT_NE(error.find("LLM_MAX_RPM"), std::string::npos) << error;
  EXPECT_NE(error.find("ANTHROPIC_API_KEY"), std::string::npos) << error;
}

TEST(LlmConfigTest, KeysAreMaskedInTheDescription) {
  Config config = Config::FromMap(
      {{"ANTHROPIC_API_KEY", "sk-ant-secret-123"}, {"OPENAI_API_KEY", "sk-openai-secret-456"}});
  LlmConfig c = LlmConfig::FromConfig(config);
  EXPECT_EQ(c.api_key.reveal(), "sk-ant-secret-123");
  for (const auto& [name, value] : config.Described()) {
    EXPECT_EQ(value.find("secret"), std::string::npos) << name;
  }
}

TEST(LlmConfigTest, ProviderNames) {
  EXPECT_EQ(ProviderName(Provider::kNone), "none");
  EXPECT_EQ(ProviderName(Provider::kAnthropic), "anthropic");
  EXPECT_EQ(ProviderName(Provider::kOpenAi), "openai");
}

}  // namespace
}  // namespace sre::llm
