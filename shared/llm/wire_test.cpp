#include "shared/llm/wire.h"

#include <gtest/gtest.h>

namespace sre::llm::wire {
namespace {

using Role = Message::Role;

ChatRequest Conversation() {
  ChatRequest r;
  r.model = "m";
  r.system = "sys";
  r.max_tokens = 100;
  r.tools = {{"get_logs", "Recent logs", {{"type", "object"}}}};
  r.messages = {
      {Role::kUser, "hello", {}, {}},
      {Role::kAssistant, "looking", {{"t1", "get_logs", {{"n", 3}}, ""}}, {}},
      {Role::kUser, "", {}, {{"t1", "boom", true}}},
      {Role::kUser, "last round", {}, {}},  // a neighbouring user turn: merged for Anthropic
      {Role::kAssistant, "", {}, {}},       // an empty turn: dropped for Anthropic
  };
  return r;
}

TEST(WireTest, AnthropicBodyMergesTurnsAndOrdersToolResultsFirst) {
  Json want = Json::parse(R"({
    "model": "m", "max_tokens": 100, "system": "sys",
    "tools": [{"name": "get_logs", "description": "Recent logs", "input_schema": {"type": "object"}}],
    "messages": [
      {"role": "user", "content": "hello"},
      {"role": "assistant", "content": [
        {"type": "text", "text": "looking"},
        {"type": "tool_use", "id": "t1", "name": "get_logs", "input": {"n": 3}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "t1", "content": "boom", "is_error": true},
        {"type": "text", "text": "last round"}]}
    ]})");
  EXPECT_EQ(RequestBody(Provider::kAnthropic, Conversation()), want);
}

TEST(WireTest, OpenAiBodyUsesToolMessages) {
  ChatRequest r = Conversation();
  r.json_output = true;
  Json want = Json::parse(R"({
    "model": "m", "max_tokens": 100,
    "tools": [{"type": "function", "function": {"name": "get_logs", "description": "Recent logs",
               "parameters": {"type": "object"}}}],
    "response_format": {"type": "json_object"},
    "messages": [
      {"role": "system", "content": "sys"},
      {"role": "user", "content": "hello"},
      {"role": "assistant", "content": "looking", "tool_calls": [
        {"id": "t1", "type": "function", "function": {"name": "get_logs", "arguments": "{\"n\":3}"}}]},
      {"role": "tool", "tool_call_id": "t1", "content": "ERROR: boom"},
      {"role": "user", "content": "last round"},
      {"role": "assistant", "content": null}
    ]})");
  EXPECT_EQ(RequestBody(Provider::kOpenAi, r), want);
}

TEST(WireTest, HeadersAndUrls) {
  Secret key("sk-test");
  EXPECT_EQ(RequestUrl(Provider::kAnthropic, "https://api.anthropic.com"),
            "https://api.anthropic.com/v1/messages");
  EXPECT_EQ(RequestUrl(Provider::kOpenAi, "http://localhost:11434/v1"),
            "http://localhost:11434/v1/chat/completions");
  EXPECT_EQ(RequestHeaders(Provider::kAnthropic, key),
            (Headers{{"content-type", "application/json"},
                     {"x-api-key", "sk-test"},
                     {"anthropic-version", "2023-06-01"}}));
  EXPECT_EQ(RequestHeaders(Provider::kOpenAi, key),
            (Headers{{"content-type", "application/json"}, {"authorization", "Bearer sk-test"}}));
  EXPECT_EQ(RequestHeaders(Provider::kOpenAi, Secret()),
            (Headers{{"content-type", "application/json"}}));
}

TEST(WireTest, ParsesAnthropicResponse) {
  auto r = ParseResponse(Provider::kAnthropic, R"({
    "id": "msg_1", "type": "message", "role": "assistant",
    "content": [{"type": "text", "text": "Let me check."},
                {"type": "thinking", "thinking": "..."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_logs", "input": {"n": 2}}],
    "stop_reason": "tool_use",
    "usage": {"input_tokens": 100, "cache_read_input_tokens": 20, "output_tokens": 7}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->text, "Let me check.");
  ASSERT_EQ(r->tool_calls.size(), 1u);
  EXPECT_EQ(r->tool_calls[0].id, "toolu_1");
  EXPECT_EQ(r->tool_calls[0].name, "get_logs");
  EXPECT_EQ(r->tool_calls[0].input, (Json{{"n", 2}}));
  EXPECT_EQ(r->stop_reason, "tool_use");
  EXPECT_EQ(r->input_tokens, 120);
  EXPECT_EQ(r->output_tokens, 7);
}

TEST(WireTest, ParsesOpenAiResponseWithStringArguments) {
  auto r = ParseResponse(Provider::kOpenAi, R"({
    "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant",
      "content": null, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "a", "arguments": "{\"x\": 1}"}},
        {"type": "function", "function": {"name": "b", "arguments": {"y": 2}}},
        {"id": "call_3", "type": "function", "function": {"name": "c", "arguments": "{oops"}},
        {"id": "call_4", "type": "function", "function": {"name": "d", "arguments": ""}}]}}],
    "usage": {"prompt_tokens": 50, "completion_tokens": 9}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->tool_calls.size(), 4u);
  EXPECT_EQ(r->tool_calls[0].input, (Json{{"x", 1}}));
  EXPECT_EQ(r->tool_calls[1].id, "sre_call_1");  // generated: the server sent none
  EXPECT_EQ(r->tool_calls[1].input, (Json{{"y", 2}}));
  EXPECT_EQ(r->tool_calls[2].input, Json("{oops"));
  EXPECT_FALSE(r->tool_calls[2].parse_error.empty());
  EXPECT_EQ(r->tool_calls[3].input, Json::object());
  EXPECT_TRUE(r->tool_calls[3].parse_error.empty());
  EXPECT_EQ(r->stop_reason, "tool_calls");
  EXPECT_EQ(r->input_tokens, 50);
  EXPECT_EQ(r->output_tokens, 9);
}

TEST(WireTest, RejectsMalformedBodies) {
  const std::string bodies[] = {
      "",
      "not json",
      "[1,2]",
      "{}",
      R"({"content": "text"})",
      R"({"content": [1]})",
      R"({"content": [{"type": "tool_use", "input": {}}]})",
      R"({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})",
      R"({"choices": []})",
      R"({"choices": [{"message": "hi"}]})",
      R"({"choices": [{"message": {"tool_calls": [{"function": {"arguments": "{}"}}]}}]})",
  };
  for (const auto& body : bodies) {
    SCOPED_TRACE(body);
    EXPECT_FALSE(ParseResponse(Provider::kAnthropic, body).ok());
    EXPECT_FALSE(ParseResponse(Provider::kOpenAi, body).ok());
  }
}

TEST(WireTest, SummarisesErrorBodies) {
  EXPECT_EQ(ErrorSummary(
                R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"),
            "overloaded_error: Overloaded");
  EXPECT_EQ(ErrorSummary(R"({"error":{"message":"Rate limit","type":"requests","code":null}})"),
            "requests: Rate limit");
  EXPECT_EQ(ErrorSummary(R"({"error":"model 'x' not found"})"), "model 'x' not found");
  EXPECT_EQ(ErrorSummary("<html>\nBad Gateway</html>"), "<html> Bad Gateway</html>");
  EXPECT_LE(ErrorSummary(std::string(5000, 'x')).size(), 300u);
}

}  // namespace
}  // namespace sre::llm::wire

namespace sre::llm::wire {
namespace {

// Found by mutation: NUL from a provider reached the audit row (JSONB refuses it).
TEST(WireTest, NulInRepliesAndErrorBodiesIsReplaced) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(ErrorSummary(R"({"error":{"type":"x","message":"bad\u0000byte"}})"), "x: bad" + fffd + "byte");
  std::string raw = ErrorSummary(std::string("<html>\0\xFF</html>", 15));
  EXPECT_TRUE(IsValidUtf8(raw));
  EXPECT_EQ(raw.find('\0'), std::string::npos);
  auto r = ParseResponse(Provider::kAnthropic,
                         R"({"content":[{"type":"tool_use","id":"toolu_1","name":"get_runbooks\u0000","input":{}}]})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->tool_calls.size(), 1u);
  EXPECT_EQ(r->tool_calls[0].name, "get_runbooks" + fffd);
}

}  // namespace
}  // namespace sre::llm::wire
