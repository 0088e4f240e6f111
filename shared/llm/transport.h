#pragma once
// HTTP POST for the LLM client. The interface keeps libcurl out of every other file; tests of
// the retry logic can substitute their own.
#include <chrono>
#include <memory>
#include <string>

#include "shared/llm/wire.h"

namespace sre::llm {

struct HttpResult {
  enum class Error { kNone, kTimeout, kConnect, kOther };
  Error error = Error::kNone;  // kNone: `status` and the rest are the server's answer
  std::string error_text;      // what failed when error != kNone (never contains headers)
  long status = 0;
  std::string body;
  std::string retry_after, retry_after_ms;  // the response headers, when present
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends one request and waits at most `timeout` for the whole exchange. Thread-safe.
  virtual HttpResult Post(const std::string& url, const wire::Headers& headers,
                          const std::string& body, std::chrono::milliseconds timeout) = 0;
};

// libcurl, reusing connections across calls (a small pool of easy handles).
std::unique_ptr<Transport> MakeCurlTransport();

}  // namespace sre::llm
