#pragma once
// The two wire formats, as pure functions from a provider-neutral conversation to a request body
// and from a response body back. No IO; the Client adds transport, retries and accounting.
//
//   Anthropic Messages API       POST <base>/v1/messages
//   OpenAI chat completions      POST <base>/chat/completions (base usually ends in /v1)
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shared/config.h"
#include "shared/json_codec.h"
#include "shared/llm/config.h"
#include "shared/status.h"

namespace sre::llm::wire {

struct ToolSpec {
  std::string name, description;
  Json input_schema = Json::object();
};

// A tool call the model made. `input` is the parsed arguments; when they could not be parsed
// (OpenAI sends them as a JSON string) `input` holds the raw text and `parse_error` says why.
struct ToolCall {
  std::string id, name;
  Json input = Json::object();
  std::string parse_error;
};

struct ToolResult {
  std::string tool_call_id;
  std::string content;
  bool is_error = false;
};

// One turn. A user turn carries text and/or the results of the previous turn's tool calls; an
// assistant turn carries text and/or tool calls, exactly as the model produced them.
struct Message {
  enum class Role { kUser, kAssistant };
  Role role = Role::kUser;
  std::string text;
  std::vector<ToolCall> tool_calls;
  std::vector<ToolResult> tool_results;
};

struct ChatRequest {
  std::string model;
  std::string system;
  std::vector<Message> messages;
  std::vector<ToolSpec> tools;
  int max_tokens = 1024;
  // OpenAI only: ask for {"type":"json_object"} output.
  bool json_output = false;
};

struct ChatResponse {
  std::string text;  // text blocks joined by newlines
  std::vector<ToolCall> tool_calls;
  std::string stop_reason;  // as sent: end_turn, tool_use, max_tokens / stop, tool_calls, length
  int64_t input_tokens = 0, output_tokens = 0;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

std::string RequestUrl(Provider provider, const std::string& base_url);
// Content-Type plus authentication: x-api-key and anthropic-version for Anthropic;
// Authorization: Bearer for OpenAI when a key is set.
Headers RequestHeaders(Provider provider, const Secret& api_key);
Json RequestBody(Provider provider, const ChatRequest& request);
// Status::Invalid when the body is not a well-formed response of that provider.
Expected<ChatResponse> ParseResponse(Provider provider, std::string_view body);
// A short description of an error response body ({"error":{"type","message"}} in both
// formats), for logs and audit; empty when the body says nothing useful.
std::string ErrorSummary(std::string_view body);

inline constexpr const char* kAnthropicVersion = "2023-06-01";

}  // namespace sre::llm::wire
