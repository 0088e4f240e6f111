#include "tests/support/fake_llm_server.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>

#include "tests/support/local_http_server.h"

namespace sre::testing {
namespace {

constexpr const char* kAnthropicPath = "/v1/messages";
constexpr const char* kOpenAiPath = "/v1/chat/completions";

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace

FakeReply FakeReply::Text(std::string text) {
  FakeReply r;
  r.text = std::move(text);
  return r;
}

FakeReply FakeReply::ToolUse(std::string name, Json input, std::string text) {
  return ToolUses({FakeToolCall{std::move(name), std::move(input), ""}}, std::move(text));
}

FakeReply FakeReply::ToolUses(std::vector<FakeToolCall> calls, std::string text) {
  FakeReply r;
  r.text = std::move(text);
  r.tool_calls = std::move(calls);
  return r;
}

FakeReply FakeReply::Raw(int status, std::string body) {
  FakeReply r;
  r.kind = Kind::kRaw;
  r.status = status;
  r.body = std::move(body);
  return r;
}

FakeReply FakeReply::Error(int status, std::string type, std::string message) {
  FakeReply r;
  r.kind = Kind::kError;
  r.status = status;
  r.error_type = std::move(type);
  r.text = std::move(message);
  return r;
}

FakeReply& FakeReply::WithHeader(std::string name, std::string value) {
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

FakeReply& FakeReply::WithDelay(std::chrono::milliseconds d) {
  delay = d;
  return *this;
}

FakeReply& FakeReply::WithUsage(int64_t input, int64_t output) {
  input_tokens = input;
  output_tokens = output;
  return *this;
}

std::string RecordedRequest::Header(const std::string& lower_case_name) const {
  auto it = headers.find(lower_case_name);
  return it == headers.end() ? "" : it->second;
}

FakeLlmServer::FakeLlmServer() : http_(std::make_unique<LocalHttpServer>("FakeLlmServer")) {
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    std::map<std::string, std::string> headers;
    for (const auto& [k, v] : req.headers) headers[Lower(k)] = v;
    Answer a = Serve(req.path, req.body, std::move(headers));
    res.status = a.status;
    std::string content_type = "application/json";
    for (const auto& [k, v] : a.headers) {
      if (Lower(k) == "content-type") {
        content_type = v;
      } else {
        res.set_header(k.c_str(), v);
      }
    }
    res.set_content(a.body, content_type.c_str());
  };
  http_->routes().Post(".*", handler);
  http_->Start();
}

FakeLlmServer::~FakeLlmServer() { Stop(); }

void FakeLlmServer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  http_->Stop();
}

int FakeLlmServer::port() const { return http_->port(); }

void FakeLlmServer::SetDefault(FakeReply reply) {
  std::lock_guard<std::mutex> lock(mu_);
  default_ = std::move(reply);
}

void FakeLlmServer::Push(FakeReply reply) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_.push_back(std::move(reply));
}

void FakeLlmServer::Push(std::vector<FakeReply> replies) {
  for (auto& r : replies) Push(std::move(r));
}

std::vector<RecordedRequest> FakeLlmServer::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

size_t FakeLlmServer::RequestCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_.size();
}

size_t FakeLlmServer::Pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

std::string FakeLlmServer::BaseUrl() const { return "http://127.0.0.1:" + std::to_string(port()); }

std::string FakeLlmServer::OpenAiBaseUrl() const { return BaseUrl() + "/v1"; }

FakeLlmServer::Answer FakeLlmServer::Serve(const std::string& path, const std::string& body,
                                           std::map<std::string, std::string> headers) {
  RecordedRequest rec;
  rec.path = path;
  rec.headers = std::move(headers);
  rec.body = body;
  rec.json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  rec.received = std::chrono::steady_clock::now();
  const bool anthropic = path == kAnthropicPath;
  const bool openai = path == kOpenAiPath;
  std::string model =
      rec.json.is_object() && rec.json.contains("model") && rec.json["model"].is_string()
          ? rec.json["model"].get<std::string>()
          : "fake-model";

  std::unique_lock<std::mutex> lock(mu_);
  requests_.push_back(std::move(rec));
  if (!anthropic && !openai) {
    return {404, Dump({{"error", {{"type", "not_found_error"}, {"message", "unknown path"}}}}), {}};
  }
  if (queue_.empty() && default_) queue_.push_back(*default_);
  if (queue_.empty()) {
    return {400,
            Dump({{"error",
                   {{"type", "fake_exhausted"},
                    {"message", "fake LLM server: no scripted reply left"}}}}),
            {}};
  }
  FakeReply reply = std::move(queue_.front());
  queue_.pop_front();
  int64_t id = next_id_++;
  if (reply.delay.count() > 0) {
    cv_.wait_for(lock, reply.delay, [this] { return stopping_; });
  }
  lock.unlock();

  if (reply.kind == FakeReply::Kind::kRaw) return {reply.status, reply.body, reply.headers};
  if (reply.kind == FakeReply::Kind::kError) {
    Json error = {{"type", reply.error_type}, {"message", reply.text}};
    Json err = anthropic ? Json{{"type", "error"}, {"error", error}}
                         : Json{{"error",
                                 {{"message", reply.text},
                                  {"type", reply.error_type},
                                  {"param", nullptr},
                                  {"code", nullptr}}}};
    return {reply.status, Dump(err), reply.headers};
  }

  // Tool call ids: Anthropic's toolu_..., OpenAI's call_...
  std::vector<std::string> ids;
  for (size_t i = 0; i < reply.tool_calls.size(); ++i) {
    const auto& c = reply.tool_calls[i];
    ids.push_back(!c.id.empty() ? c.id
                                : std::string(anthropic ? "toolu_" : "call_") + std::to_string(id) +
                                      "_" + std::to_string(i));
  }
  Json out;
  if (anthropic) {
    Json content = Json::array();
    if (!reply.text.empty()) content.push_back({{"type", "text"}, {"text", reply.text}});
    for (size_t i = 0; i < reply.tool_calls.size(); ++i) {
      content.push_back({{"type", "tool_use"},
                         {"id", ids[i]},
                         {"name", reply.tool_calls[i].name},
                         {"input", reply.tool_calls[i].input}});
    }
    out = {
        {"id", "msg_fake_" + std::to_string(id)},
        {"type", "message"},
        {"role", "assistant"},
        {"model", model},
        {"content", content},
        {"stop_reason", reply.tool_calls.empty() ? "end_turn" : "tool_use"},
        {"stop_sequence", nullptr},
        {"usage", {{"input_tokens", reply.input_tokens}, {"output_tokens", reply.output_tokens}}}};
  } else {
    Json message = {{"role", "assistant"},
                    {"content", reply.text.empty() ? Json(nullptr) : Json(reply.text)}};
    if (!reply.tool_calls.empty()) {
      Json calls = Json::array();
      for (size_t i = 0; i < reply.tool_calls.size(); ++i) {
        // A string input is sent verbatim as the arguments (to script malformed arguments).
        const Json& input = reply.tool_calls[i].input;
        calls.push_back(
            {{"id", ids[i]},
             {"type", "function"},
             {"function",
              {{"name", reply.tool_calls[i].name},
               {"arguments", input.is_string() ? input.get<std::string>() : Dump(input)}}}});
      }
      message["tool_calls"] = std::move(calls);
    }
    out = {{"id", "chatcmpl-fake-" + std::to_string(id)},
           {"object", "chat.completion"},
           {"created", 1700000000},
           {"model", model},
           {"choices",
            Json::array({{{"index", 0},
                          {"message", message},
                          {"finish_reason", reply.tool_calls.empty() ? "stop" : "tool_calls"}}})},
           {"usage",
            {{"prompt_tokens", reply.input_tokens},
             {"completion_tokens", reply.output_tokens},
             {"total_tokens", reply.input_tokens + reply.output_tokens}}}};
  }
  return {200, Dump(out), reply.headers};
}

}  // namespace sre::testing
