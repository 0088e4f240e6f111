#include "shared/llm/config.h"

#include <string>

namespace sre::llm {
namespace {

std::string StripTrailingSlashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

[[noreturn]] void ThrowMissing(const Config& config, const std::string& variable,
                               const std::string& why) {
  std::string previous;
  try {
    config.Validate();
  } catch (const ConfigError& e) {
    previous = e.what();
  }
  std::string line = variable + ": " + why;
  throw ConfigError(previous.empty() ? "invalid configuration:\n  " + line
                                     : previous + "\n  " + line);
}

}  // namespace

std::string_view ProviderName(Provider p) {
  switch (p) {
    case Provider::kAnthropic:
      return "anthropic";
    case Provider::kOpenAi:
      return "openai";
    case Provider::kNone:
      break;
  }
  return "none";
}

LlmConfig LlmConfig::FromConfig(Config& config) {
  LlmConfig c;
  std::string choice =
      config.Choice("LLM_PROVIDER", "auto", {"auto", "anthropic", "openai", "none"});
  Secret anthropic_key = config.SecretValue("ANTHROPIC_API_KEY");
  std::string anthropic_url =
      config.Url("ANTHROPIC_BASE_URL", "https://api.anthropic.com", {"https", "http"});
  Secret openai_key = config.SecretValue("OPENAI_API_KEY");
  std::optional<std::string> openai_url = config.OptionalString("OPENAI_BASE_URL");
  if (openai_url) openai_url = config.Url("OPENAI_BASE_URL", *openai_url, {"http", "https"});
  c.model_fast = config.String("LLM_MODEL_FAST", c.model_fast);
  c.model_reasoning = config.String("LLM_MODEL_REASONING", c.model_reasoning);
  c.max_rpm = static_cast<int>(config.Int("LLM_MAX_RPM", c.max_rpm, 1, 100000));
  c.timeout = std::chrono::seconds(config.Int("LLM_TIMEOUT_S", 60, 1, 3600));
  c.max_tokens = static_cast<int>(config.Int("LLM_MAX_TOKENS", c.max_tokens, 1, 200000));

  if (choice == "auto") {
    if (!anthropic_key.empty()) {
      choice = "anthropic";
    } else if (openai_url) {
      choice = "openai";
    } else {
      choice = "none";
    }
  }
  if (choice == "anthropic") {
    if (anthropic_key.empty())
      ThrowMissing(config, "ANTHROPIC_API_KEY", "required when LLM_PROVIDER=anthropic");
    c.provider = Provider::kAnthropic;
    c.api_key = anthropic_key;
    c.base_url = StripTrailingSlashes(anthropic_url);
  } else if (choice == "openai") {
    if (!openai_url)
      ThrowMissing(config, "OPENAI_BASE_URL",
                   "required when LLM_PROVIDER=openai (e.g. http://localhost:11434/v1)");
    c.provider = Provider::kOpenAi;
    c.api_key = openai_key;
    c.base_url = StripTrailingSlashes(*openai_url);
  } else {
    c.provider = Provider::kNone;
  }
  return c;
}

}  // namespace sre::llm
