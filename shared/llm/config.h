#pragma once
// LLM settings (ARCHITECTURE §6) and the provider they select.
//
//   LLM_PROVIDER         auto | anthropic | openai | none (default auto: anthropic when
//                        ANTHROPIC_API_KEY is set, else openai when OPENAI_BASE_URL is set, else
//                        none)
//   ANTHROPIC_API_KEY    secret; required for anthropic
//   ANTHROPIC_BASE_URL   default https://api.anthropic.com (requests go to <base>/v1/messages)
//   OPENAI_API_KEY       secret; optional (local servers usually need none)
//   OPENAI_BASE_URL      required for openai, e.g. http://localhost:11434/v1
//                        (requests go to <base>/chat/completions)
//   LLM_MODEL_FAST       default claude-haiku-4-5   (Tier::kFast)
//   LLM_MODEL_REASONING  default claude-sonnet-4-6  (Tier::kReasoning)
//   LLM_MAX_RPM          default 50: model requests per minute, per process (token bucket)
//   LLM_TIMEOUT_S        default 60: the most one Client call may take, retries included
//   LLM_MAX_TOKENS       default 2048: max_tokens of a request that does not set its own
#include <chrono>
#include <string>
#include <string_view>

#include "shared/config.h"

namespace sre::llm {

enum class Provider { kNone, kAnthropic, kOpenAi };
// "none", "anthropic", "openai".
std::string_view ProviderName(Provider p);

// Which configured model a call wants: small and quick, or the stronger one.
enum class Tier { kFast, kReasoning };

// Retry schedule of one model request. Not read from the environment; tests shorten it.
struct RetryPolicy {
  int max_attempts = 3;
  // Delay before attempt n+1 after a retryable failure of attempt n:
  // base * 2^(n-1), scaled by a random factor in [0.5, 1], at most max_backoff.
  std::chrono::milliseconds base_backoff{1000};
  std::chrono::milliseconds max_backoff{8000};
  // A 429's retry-after is honoured up to this cap.
  std::chrono::milliseconds max_retry_after{20000};
};

struct LlmConfig {
  Provider provider = Provider::kNone;
  // The selected provider's key (empty for none, possibly empty for openai). Never logged.
  Secret api_key;
  // The selected provider's base URL, without a trailing slash.
  std::string base_url;
  std::string model_fast = "claude-haiku-4-5";
  std::string model_reasoning = "claude-sonnet-4-6";
  int max_rpm = 50;
  std::chrono::milliseconds timeout{60000};
  int max_tokens = 2048;
  RetryPolicy retry;

  // Reads the variables above. Unparseable values (LLM_MAX_RPM=abc, a bad URL) are recorded in
  // `config`, so config.Validate() reports them with every other variable. An explicit provider
  // whose key or URL is missing cannot be recorded there (Config has no public way to add an
  // error), so it throws ConfigError at once naming the missing variable, together with every
  // problem `config` had collected so far.
  static LlmConfig FromConfig(Config& config);

  const std::string& Model(Tier tier) const {
    return tier == Tier::kFast ? model_fast : model_reasoning;
  }
};

}  // namespace sre::llm
