#include "shared/llm/wire.h"

#include "shared/llm/text.h"

namespace sre::llm::wire {
namespace {

// Every string read from a provider's reply is outside text: NUL (from \u0000) becomes U+FFFD
// here, before it can reach an audit row (JSONB refuses NUL).
std::string StringField(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return "";
  std::string s = it->get<std::string>();
  codec::CleanString(s);
  return s;
}

int64_t IntField(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) return 0;
  double v = it->get<double>();
  return v > 0 && v < 1e15 ? static_cast<int64_t>(v) : 0;
}

Json AnthropicBlocks(const Message& m) {
  Json blocks = Json::array();
  if (m.role == Message::Role::kUser) {
    // Tool results must open the user turn that answers the tool calls.
    for (const auto& r : m.tool_results) {
      Json block = {
          {"type", "tool_result"}, {"tool_use_id", r.tool_call_id}, {"content", r.content}};
      if (r.is_error) block["is_error"] = true;
      blocks.push_back(std::move(block));
    }
    if (!m.text.empty()) blocks.push_back({{"type", "text"}, {"text", m.text}});
  } else {
    if (!m.text.empty()) blocks.push_back({{"type", "text"}, {"text", m.text}});
    for (const auto& c : m.tool_calls) {
      blocks.push_back({{"type", "tool_use"},
                        {"id", c.id},
                        {"name", c.name},
                        {"input", c.input.is_object() ? c.input : Json::object()}});
    }
  }
  return blocks;
}

Json AnthropicBody(const ChatRequest& request) {
  Json body = {{"model", request.model}, {"max_tokens", request.max_tokens}};
  if (!request.system.empty()) body["system"] = request.system;
  // The API wants alternating roles and no empty turns: drop empty turns, merge neighbours.
  std::vector<std::pair<std::string, Json>> turns;
  for (const auto& m : request.messages) {
    Json blocks = AnthropicBlocks(m);
    if (blocks.empty()) continue;
    std::string role = m.role == Message::Role::kUser ? "user" : "assistant";
    if (!turns.empty() && turns.back().first == role) {
      for (auto& b : blocks) turns.back().second.push_back(std::move(b));
    } else {
      turns.emplace_back(role, std::move(blocks));
    }
  }
  Json messages = Json::array();
  for (auto& [role, blocks] : turns) {
    bool plain = blocks.size() == 1 && blocks[0]["type"] == "text";
    messages.push_back({{"role", role}, {"content", plain ? blocks[0]["text"] : blocks}});
  }
  body["messages"] = std::move(messages);
  if (!request.tools.empty()) {
    Json tools = Json::array();
    for (const auto& t : request.tools) {
      tools.push_back(
          {{"name", t.name}, {"description", t.description}, {"input_schema", t.input_schema}});
    }
    body["tools"] = std::move(tools);
  }
  return body;
}

Json OpenAiBody(const ChatRequest& request) {
  Json body = {{"model", request.model}, {"max_tokens", request.max_tokens}};
  Json messages = Json::array();
  if (!request.system.empty())
    messages.push_back({{"role", "system"}, {"content", request.system}});
  for (const auto& m : request.messages) {
    if (m.role == Message::Role::kUser) {
      for (const auto& r : m.tool_results) {
        // No is_error flag in this format: say it in the content.
        messages.push_back({{"role", "tool"},
                            {"tool_call_id", r.tool_call_id},
                            {"content", r.is_error ? "ERROR: " + r.content : r.content}});
      }
      if (!m.text.empty()) messages.push_back({{"role", "user"}, {"content", m.text}});
      continue;
    }
    Json msg = {{"role", "assistant"}, {"content", m.text.empty() ? Json(nullptr) : Json(m.text)}};
    if (!m.tool_calls.empty()) {
      Json calls = Json::array();
      for (const auto& c : m.tool_calls) {
        std::string arguments = c.input.is_string() ? c.input.get<std::string>() : Dump(c.input);
        calls.push_back({{"id", c.id},
                         {"type", "function"},
                         {"function", {{"name", c.name}, {"arguments", arguments}}}});
      }
      msg["tool_calls"] = std::move(calls);
    }
    messages.push_back(std::move(msg));
  }
  body["messages"] = std::move(messages);
  if (!request.tools.empty()) {
    Json tools = Json::array();
    for (const auto& t : request.tools) {
      tools.push_back(
          {{"type", "function"},
           {"function",
            {{"name", t.name}, {"description", t.description}, {"parameters", t.input_schema}}}});
    }
    body["tools"] = std::move(tools);
  }
  if (request.json_output) body["response_format"] = {{"type", "json_object"}};
  return body;
}

Expected<Json> ParseObjectBody(std::string_view body) {
  Json j = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Invalid("response body is not JSON");
  if (!j.is_object()) return Status::Invalid("response body is not a JSON object");
  if (auto err = j.find("error"); err != j.end() && !err->is_null())
    return Status::Invalid("response is an error: " + ErrorSummary(body));
  return j;
}

Expected<ChatResponse> ParseAnthropic(std::string_view body) {
  auto parsed = ParseObjectBody(body);
  if (!parsed.ok()) return parsed.status();
  const Json& j = *parsed;
  auto content = j.find("content");
  if (content == j.end() || !content->is_array())
    return Status::Invalid("response has no content array");
  ChatResponse out;
  for (const auto& block : *content) {
    if (!block.is_object()) return Status::Invalid("content block is not an object");
    std::string type = StringField(block, "type");
    if (type == "text") {
      std::string text = StringField(block, "text");
      if (!text.empty()) out.text += (out.text.empty() ? "" : "\n") + text;
    } else if (type == "tool_use") {
      ToolCall call;
      call.id = StringField(block, "id");
      call.name = StringField(block, "name");
      if (call.id.empty() || call.name.empty())
        return Status::Invalid("tool_use block without id or name");
      auto input = block.find("input");
      if (input != block.end() && input->is_object()) {
        call.input = *input;
      } else {
        call.input = Json::object();
        call.parse_error = "the tool input is not a JSON object";
      }
      out.tool_calls.push_back(std::move(call));
    }
    // Other block types (thinking, ...) carry nothing the caller uses.
  }
  out.stop_reason = StringField(j, "stop_reason");
  if (auto usage = j.find("usage"); usage != j.end() && usage->is_object()) {
    out.input_tokens = IntField(*usage, "input_tokens") +
                       IntField(*usage, "cache_creation_input_tokens") +
                       IntField(*usage, "cache_read_input_tokens");
    out.output_tokens = IntField(*usage, "output_tokens");
  }
  return out;
}

Expected<ChatResponse> ParseOpenAi(std::string_view body) {
  auto parsed = ParseObjectBody(body);
  if (!parsed.ok()) return parsed.status();
  const Json& j = *parsed;
  auto choices = j.find("choices");
  if (choices == j.end() || !choices->is_array() || choices->empty() || !(*choices)[0].is_object())
    return Status::Invalid("response has no choices");
  const Json& choice = (*choices)[0];
  auto message = choice.find("message");
  if (message == choice.end() || !message->is_object())
    return Status::Invalid("response choice has no message");
  ChatResponse out;
  if (auto content = message->find("content"); content != message->end()) {
    if (content->is_string()) {
      out.text = content->get<std::string>();
    } else if (content->is_array()) {
      for (const auto& part : *content) {
        if (part.is_object() && StringField(part, "type") == "text")
          out.text += (out.text.empty() ? "" : "\n") + StringField(part, "text");
      }
    }
  }
  if (auto calls = message->find("tool_calls"); calls != message->end() && calls->is_array()) {
    for (size_t i = 0; i < calls->size(); ++i) {
      const Json& c = (*calls)[i];
      if (!c.is_object()) return Status::Invalid("tool call is not an object");
      auto fn = c.find("function");
      if (fn == c.end() || !fn->is_object()) return Status::Invalid("tool call has no function");
      ToolCall call;
      call.id = StringField(c, "id");
      // Some local servers omit ids; the conversation still needs one per call.
      if (call.id.empty()) call.id = "sre_call_" + std::to_string(i);
      call.name = StringField(*fn, "name");
      if (call.name.empty()) return Status::Invalid("tool call without a function name");
      auto args = fn->find("arguments");
      if (args == fn->end() || args->is_null()) {
        call.input = Json::object();
      } else if (args->is_object()) {
        call.input = *args;  // some servers send an object instead of a string
      } else if (args->is_string()) {
        const auto& raw = args->get_ref<const std::string&>();
        Json input =
            raw.empty() ? Json::object() : Json::parse(raw, nullptr, /*allow_exceptions=*/false);
        if (input.is_discarded() || !input.is_object()) {
          call.input = raw;
          call.parse_error = "the arguments are not a JSON object";
        } else {
          call.input = std::move(input);
        }
      } else {
        call.input = Json::object();
        call.parse_error = "the arguments are not a JSON object";
      }
      out.tool_calls.push_back(std::move(call));
    }
  }
  out.stop_reason = StringField(choice, "finish_reason");
  if (auto usage = j.find("usage"); usage != j.end() && usage->is_object()) {
    out.input_tokens = IntField(*usage, "prompt_tokens");
    out.output_tokens = IntField(*usage, "completion_tokens");
  }
  return out;
}

}  // namespace

std::string RequestUrl(Provider provider, const std::string& base_url) {
  return provider == Provider::kAnthropic ? base_url + "/v1/messages"
                                          : base_url + "/chat/completions";
}

Headers RequestHeaders(Provider provider, const Secret& api_key) {
  Headers h = {{"content-type", "application/json"}};
  if (provider == Provider::kAnthropic) {
    h.emplace_back("x-api-key", api_key.reveal());
    h.emplace_back("anthropic-version", kAnthropicVersion);
  } else if (!api_key.empty()) {
    h.emplace_back("authorization", "Bearer " + api_key.reveal());
  }
  return h;
}

Json RequestBody(Provider provider, const ChatRequest& request) {
  return provider == Provider::kAnthropic ? AnthropicBody(request) : OpenAiBody(request);
}

Expected<ChatResponse> ParseResponse(Provider provider, std::string_view body) {
  try {
    return provider == Provider::kAnthropic ? ParseAnthropic(body) : ParseOpenAi(body);
  } catch (const Json::exception& e) {
    return Status::Invalid(std::string("malformed response: ") + e.what());
  }
}

std::string ErrorSummary(std::string_view body) {
  Json j = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  std::string summary;
  if (j.is_object()) {
    auto err = j.find("error");
    if (err != j.end() && err->is_object()) {
      std::string type = StringField(*err, "type");
      std::string message = StringField(*err, "message");
      summary = type.empty() ? message : message.empty() ? type : type + ": " + message;
    } else if (err != j.end() && err->is_string()) {
      summary = err->get<std::string>();  // cleaned below; Ollama: {"error":"model not found"}
    } else {
      summary = StringField(j, "message");
    }
  } else {
    summary = std::string(body);
  }
  codec::CleanString(summary);  // a raw body may hold NUL or ill-formed UTF-8
  for (char& c : summary) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return Truncate(summary, 300);
}

}  // namespace sre::llm::wire
