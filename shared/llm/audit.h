#pragma once
// What one Client call did, for agent_events and /metrics. It names the provider and model, never
// a key; `error` is scrubbed of the configured key before it is stored here.
#include <cstdint>
#include <string>

#include "shared/enums.h"
#include "shared/json_codec.h"

namespace sre::llm {

// How a call ended. Wire names: ok, invalid_output, timeout, http_error, unavailable.
//   kOk             the caller got a validated value
//   kInvalidOutput  the model answered, but not acceptably (schema-invalid after one repair; no
//                   valid terminal tool call within the rounds or the token budget; a response
//                   body that is not the provider's format)
//   kTimeout        the call's deadline expired (a request timed out with no time left to retry,
//                   or the rate limiter could not grant a request slot in time)
//   kHttpError      the provider answered with an error status (after retries where they help)
//   kUnavailable    no provider configured (LLM_PROVIDER=none), or it could not be reached
enum class Outcome { kOk, kInvalidOutput, kTimeout, kHttpError, kUnavailable };

}  // namespace sre::llm

namespace sre {
template <>
struct EnumNames<llm::Outcome> {
  static constexpr std::string_view kType = "Outcome";
  static constexpr std::string_view kList[] = {"ok", "invalid_output", "timeout", "http_error",
                                               "unavailable"};
};
}  // namespace sre

namespace sre::llm {

struct CallAudit {
  std::string provider;  // "anthropic", "openai", "none"
  std::string model;     // empty for provider none
  int64_t latency_ms = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int rounds = 0;  // model requests that got an answer (retries of one request count once)
  Outcome outcome = Outcome::kUnavailable;
  std::string error;  // empty when ok

  // {"provider","model","latency_ms","input_tokens","output_tokens","rounds","outcome","error"}
  Json ToJson() const;

  template <class V>
  void Visit(V& v) {
    v("provider", provider);
    v("model", model);
    v("latency_ms", latency_ms, Check::Min(0));
    v("input_tokens", input_tokens, Check::Min(0));
    v("output_tokens", output_tokens, Check::Min(0));
    v("rounds", rounds, Check::Min(0));
    v("outcome", outcome);
    v("error", error);
  }
};

}  // namespace sre::llm
