#pragma once
// The LLM gateway agents use: a structured-output call and a tool-use loop, over the Anthropic
// Messages API or any OpenAI-compatible chat-completions server, or no provider at all.
//
// Every call is bounded (a deadline, a round limit, a token budget), never throws, and reports a
// CallAudit. A call that does not end in ok=true means "run the deterministic fallback" — the
// caller then calls CountFallback(). With LLM_PROVIDER=none (or auto with no key and no URL)
// every call returns Outcome::kUnavailable at once without touching the network.
//
// Resilience, per model request: 429 waits retry-after (at most 20 s) or backs off; 408, 409,
// 5xx, 529 overloaded, timeouts and refused connections back off exponentially; at most 3
// attempts; 401/403 fail at once (logged at error level once per process). Requests are paced by
// one process-wide token bucket (LLM_MAX_RPM). No wait or retry ever runs past the deadline.
//
// Thread safety: a Client may be used from several threads at once. Tool handlers run on the
// calling thread.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "shared/json_codec.h"
#include "shared/llm/audit.h"
#include "shared/llm/config.h"
#include "shared/messages.h"
#include "shared/status.h"

namespace sre::llm {

class Transport;

struct StructuredRequest {
  Tier tier = Tier::kFast;
  std::string system;
  std::string prompt;
  // The answer must be a JSON object conforming to this schema (see schema.h). It is also shown
  // to the model. Give every string a maxLength and every number its range.
  Json schema = Json::object();
  int max_tokens = 0;                     // 0: LLM_MAX_TOKENS
  std::chrono::milliseconds deadline{0};  // budget for the whole call; 0 or more than
                                          // LLM_TIMEOUT_S: LLM_TIMEOUT_S
};

struct StructuredResult {
  bool ok = false;
  Json value;  // the validated object when ok
  CallAudit audit;
};

struct Tool {
  std::string name;
  std::string description;
  Json input_schema = Json::object();  // a schema of "type": "object"
  // Runs the tool on validated input. An error goes back to the model as an is_error tool result
  // (its message is shown to the model: keep secrets out of it). Exceptions are caught and
  // treated the same way. Empty for the terminal tool.
  std::function<Expected<Json>(const Json& input)> handler;
};

struct ToolLoopRequest {
  Tier tier = Tier::kReasoning;
  std::string system;
  std::string prompt;
  std::vector<Tool> tools;    // must include the terminal tool
  std::string terminal_tool;  // its schema-valid input ends the loop (e.g. "submit_rca")
  int max_rounds = 12;        // model requests
  int64_t token_budget = 0;   // input + output tokens over all rounds; 0: unlimited
  int max_tokens = 0;         // per request; 0: LLM_MAX_TOKENS
  std::chrono::milliseconds deadline{0};  // the whole loop; as in StructuredRequest
};

struct ToolLoopResult {
  bool ok = false;
  Json terminal_input;  // the terminal tool's validated input when ok
  // Every tool call the model made, in order, terminal calls included (a rejected one has
  // is_error). Arguments that were not a JSON object are recorded as {"_raw": "<text>"}.
  std::vector<ToolCallRecord> transcript;
  CallAudit audit;
};

class Client {
 public:
  virtual ~Client() = default;

  // Asks for one JSON object conforming to request.schema. A reply may wrap it in prose or a
  // ```json fence. An invalid reply gets one repair request that tells the model what was wrong;
  // if that fails too, ok=false with Outcome::kInvalidOutput.
  virtual StructuredResult Structured(const StructuredRequest& request) = 0;

  // Runs the model with tools until it calls request.terminal_tool with schema-valid input
  // (ok=true). Invalid arguments, unknown tools and handler errors are reported back to the model
  // as error tool results; a handler only ever sees schema-valid input. Running out of rounds or
  // tokens ends with kInvalidOutput, out of time with kTimeout.
  virtual ToolLoopResult RunToolLoop(const ToolLoopRequest& request) = 0;

  virtual Provider provider() const = 0;
  bool enabled() const { return provider() != Provider::kNone; }
};

// The client for config.provider: a network client for anthropic/openai (libcurl), or one that
// answers kUnavailable at once for none. Logs the choice (never the key) at info.
std::unique_ptr<Client> MakeClient(const LlmConfig& config);
// For tests: a network client over the given transport.
std::unique_ptr<Client> MakeClient(const LlmConfig& config, std::unique_ptr<Transport> transport);

// Counts one use of a deterministic fallback in sre_llm_fallbacks_total{agent,purpose} and logs
// it at warn the first time for each (agent, purpose) in this process, unless the process runs
// without a provider (LLM_PROVIDER=none: MakeClient said so once at start-up). Thread-safe.
void CountFallback(const std::string& agent, const std::string& purpose);

}  // namespace sre::llm
