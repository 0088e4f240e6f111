#include "shared/llm/transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <vector>

namespace sre::llm {
namespace {

// A response larger than this is not a chat completion; stop reading rather than exhaust memory.
constexpr size_t kMaxBody = 16 * 1024 * 1024;
constexpr size_t kMaxIdleHandles = 8;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<HttpResult*>(user);
  size_t len = size * n;
  if (out->body.size() + len > kMaxBody) return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  out->body.append(data, len);
  return len;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<HttpResult*>(user);
  size_t len = size * n;
  std::string line(data, len);
  auto colon = line.find(':');
  if (colon == std::string::npos) return len;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string value = line.substr(colon + 1);
  auto first = value.find_first_not_of(" \t");
  auto last = value.find_last_not_of(" \t\r\n");
  value = first == std::string::npos ? "" : value.substr(first, last - first + 1);
  if (name == "retry-after") out->retry_after = value;
  if (name == "retry-after-ms") out->retry_after_ms = value;
  return len;
}

class CurlTransport final : public Transport {
 public:
  CurlTransport() { GlobalInit(); }
  ~CurlTransport() override {
    for (CURL* h : idle_) curl_easy_cleanup(h);
  }

  HttpResult Post(const std::string& url, const wire::Headers& headers, const std::string& body,
                  std::chrono::milliseconds timeout) override {
    HttpResult result;
    CURL* h = Acquire();
    if (h == nullptr) {
      result.error = HttpResult::Error::kOther;
      result.error_text = "cannot create a curl handle";
      return result;
    }
    curl_slist* list = nullptr;
    for (const auto& [name, value] : headers)
      list = curl_slist_append(list, (name + ": " + value).c_str());
    list = curl_slist_append(list, "Expect:");  // no 100-continue round trip for large bodies

    long timeout_ms = std::max<long>(1, static_cast<long>(timeout.count()));
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, std::min<long>(timeout_ms, 10000));
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &result);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &result);

    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK) {
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &result.status);
    } else {
      result.error = rc == CURLE_OPERATION_TIMEDOUT ? HttpResult::Error::kTimeout
                     : rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
                             rc == CURLE_COULDNT_RESOLVE_PROXY
                         ? HttpResult::Error::kConnect
                         : HttpResult::Error::kOther;
      result.error_text = curl_easy_strerror(rc);
      result.body.clear();
    }
    curl_slist_free_all(list);
    Release(h);
    return result;
  }

 private:
  CURL* Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        CURL* h = idle_.back();
        idle_.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }

  // Reset keeps the handle's live connections, so the next call skips the TLS handshake.
  void Release(CURL* h) {
    curl_easy_reset(h);
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.size() < kMaxIdleHandles) {
      idle_.push_back(h);
    } else {
      curl_easy_cleanup(h);
    }
  }

  std::mutex mu_;
  std::vector<CURL*> idle_;
};

}  // namespace

std::unique_ptr<Transport> MakeCurlTransport() { return std::make_unique<CurlTransport>(); }

}  // namespace sre::llm
