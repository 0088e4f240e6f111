#pragma once
// A fake LLM provider for tests: a cpp-httplib server on 127.0.0.1 (a free port) that speaks both
// wire formats — POST /v1/messages (Anthropic) and POST /v1/chat/completions (OpenAI) — and
// plays a scripted FIFO queue of replies, whichever endpoint asks. A message reply (text and/or
// tool calls) is rendered in the format of the endpoint that was called, so one script serves
// both providers. Every request is recorded (path, headers, body) for assertions.
//
// When the queue is empty the server answers 400 {"error": ...} "no scripted reply left" — a
// status the client does not retry, so an under-scripted test fails fast and clearly.
// Thread-safe.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "shared/json_codec.h"

namespace sre::testing {

class LocalHttpServer;

struct FakeToolCall {
  std::string name;
  // An object; a string is sent verbatim as OpenAI "arguments" (to script malformed ones).
  Json input = Json::object();
  std::string id;  // generated when empty
};

struct FakeReply {
  enum class Kind { kMessage, kError, kRaw };
  Kind kind = Kind::kMessage;
  // kMessage: rendered per endpoint with stop_reason end_turn/tool_use (stop/tool_calls).
  std::string text;
  std::vector<FakeToolCall> tool_calls;
  int64_t input_tokens = 10, output_tokens = 5;
  // kError: `status` with {"error": {"type": error_type, "message": text}} shaped like the
  // called endpoint's provider. kRaw: `status` and `body` exactly as given.
  int status = 200;
  std::string error_type;
  std::string body;
  // Extra response headers (both kinds), e.g. {"retry-after", "1"}.
  std::vector<std::pair<std::string, std::string>> headers;
  // Wait this long before answering (a slow provider).
  std::chrono::milliseconds delay{0};

  static FakeReply Text(std::string text);
  static FakeReply ToolUse(std::string name, Json input, std::string text = "");
  static FakeReply ToolUses(std::vector<FakeToolCall> calls, std::string text = "");
  static FakeReply Raw(int status, std::string body);
  // An error status with a JSON error body shaped like the endpoint's provider.
  static FakeReply Error(int status, std::string type, std::string message);

  FakeReply& WithHeader(std::string name, std::string value);
  FakeReply& WithDelay(std::chrono::milliseconds d);
  FakeReply& WithUsage(int64_t input, int64_t output);
};

struct RecordedRequest {
  std::string path;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  Json json;  // the parsed body; discarded() when it was not JSON
  std::chrono::steady_clock::time_point received;
  // "" when absent.
  std::string Header(const std::string& lower_case_name) const;
};

class FakeLlmServer {
 public:
  // Starts serving; aborts the test binary if it cannot bind.
  FakeLlmServer();
  ~FakeLlmServer();
  FakeLlmServer(const FakeLlmServer&) = delete;
  FakeLlmServer& operator=(const FakeLlmServer&) = delete;

  void Push(FakeReply reply);
  void Push(std::vector<FakeReply> replies);
  // The reply given whenever the queue is empty (instead of the 400 "no scripted reply left"):
  // a provider that is always down, slow or broken, for end-to-end runs.
  void SetDefault(FakeReply reply);

  std::vector<RecordedRequest> Requests() const;
  size_t RequestCount() const;
  // Replies still queued.
  size_t Pending() const;

  int port() const;
  // http://127.0.0.1:PORT — for ANTHROPIC_BASE_URL.
  std::string BaseUrl() const;
  // BaseUrl() + "/v1" — for OPENAI_BASE_URL.
  std::string OpenAiBaseUrl() const;

  // Stops serving (also on destruction); replies being delayed are cut short.
  void Stop();

 private:
  struct Answer {
    int status;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
  };
  Answer Serve(const std::string& path, const std::string& body,
               std::map<std::string, std::string> headers);

  std::unique_ptr<LocalHttpServer> http_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::deque<FakeReply> queue_;
  std::optional<FakeReply> default_;
  std::vector<RecordedRequest> requests_;
  int64_t next_id_ = 1;
};

}  // namespace sre::testing
