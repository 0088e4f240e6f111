// LLM replies (shared/llm/wire.h, shared/llm/text.h): every input goes through the response
// parsers of both providers, the error summary and the JSON extractor, as a provider's body
// would. Properties: nothing throws; a parsed tool call has an id and a name, and arguments that
// are an object unless the parse error says why not; an error summary is at most 300 bytes and
// valid UTF-8 when the body is; an extracted value is a JSON object.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/llm/text.h"
#include "shared/llm/wire.h"
#include "tools/fuzz/fuzz_check.h"

namespace sre::fuzz {
namespace {

void CheckResponse(llm::Provider provider, std::string_view body) {
  const std::string name = provider == llm::Provider::kAnthropic ? "anthropic" : "openai";
  auto r = llm::wire::ParseResponse(provider, body);
  if (!r.ok()) {
    Require(!r.status().message().empty(), name + ": a rejection without a reason");
    return;
  }
  Require(r->input_tokens >= 0 && r->output_tokens >= 0, name + ": negative token counts");
  for (const auto& call : r->tool_calls) {
    Require(!call.id.empty() && !call.name.empty(), name + ": a tool call without id or name");
    Require(call.input.is_object() || !call.parse_error.empty(),
            name + ": tool input is not an object and no parse error says so");
    Require(call.input.is_object() || call.input.is_string(), name + ": tool input type");
  }
}

void Check(std::string_view body) {
  try {
    CheckResponse(llm::Provider::kAnthropic, body);
    CheckResponse(llm::Provider::kOpenAi, body);

    std::string summary = llm::wire::ErrorSummary(body);
    Require(summary.size() <= 300, "ErrorSummary longer than 300 bytes");
    Require(!IsValidUtf8(body) || IsValidUtf8(summary), "ErrorSummary made ill-formed UTF-8");
    Require(summary.find_first_of("\n\r\t") == std::string::npos, "ErrorSummary has a line break");

    if (auto j = llm::ExtractJsonObject(body)) Require(j->is_object(), "extracted a non-object");
  } catch (const std::exception& e) {
    Broken(std::string("threw ") + e.what());
  }
}

}  // namespace
}  // namespace sre::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sre::fuzz::Check(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
