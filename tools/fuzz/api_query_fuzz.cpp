// sre-api's request parsing (api/api_core.h), fed a request target "PATH?QUERY" as raw bytes
// (what cpp-httplib hands over after percent-decoding, NUL and ill-formed UTF-8 included):
// QUERY splits on '&' and each pair at its first '='. Properties: nothing throws; every error is
// a 400 with a short, valid UTF-8 message; accepted values are within their documented ranges.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "api/api_core.h"
#include "tools/fuzz/fuzz_check.h"

namespace sre::fuzz {
namespace {

// An error message quotes at most 64 bytes of a request value; the fixed text is shorter than this.
constexpr size_t kMaxErrorBytes = 256;

void RequireGoodError(const api::ApiError& e, const std::string& what) {
  Require(e.status == 400, what + ": status " + std::to_string(e.status));
  Require(!e.message.empty() && e.message.size() <= kMaxErrorBytes, what + ": message length");
  Require(CleanText(e.message), what + ": message is not clean UTF-8");
}

bool Clean(const std::multimap<std::string, std::string>& params) {
  return std::all_of(params.begin(), params.end(),
                     [](const auto& kv) { return CleanText(kv.first) && CleanText(kv.second); });
}

void CheckParams(const std::multimap<std::string, std::string>& params) {
  auto bad = api::CheckQueryParameters(params);
  Require(bad.has_value() == !Clean(params), "CheckQueryParameters disagrees with CleanText");
  if (bad) RequireGoodError(*bad, "CheckQueryParameters");

  auto parsed = api::ParseIncidentQuery(params);
  if (auto* e = std::get_if<api::ApiError>(&parsed)) {
    RequireGoodError(*e, "ParseIncidentQuery");
  } else {
    Require(!bad, "ParseIncidentQuery accepted what CheckQueryParameters rejects");
    const auto& q = std::get<api::IncidentQuery>(parsed);
    static const std::set<std::string> kStatuses = {"",         "DETECTING",     "CORRELATING",
                                                    "OPEN",     "INVESTIGATING", "RCA_COMPLETE",
                                                    "RESOLVED", "REMEDIATING",   "CLOSED"};
    static const std::set<std::string> kSeverities = {"", "CRITICAL", "HIGH", "MEDIUM", "LOW"};
    Require(kStatuses.count(q.status), "status accepted: " + q.status);
    Require(kSeverities.count(q.severity), "severity accepted: " + q.severity);
    Require(q.limit >= 1 && q.limit <= api::kMaxLimit, "limit out of range");
    Require(q.service.size() <= 128, "service too long");
    Require(q.before_id.empty() || api::IsUuid(q.before_id), "before_id is not a UUID");
    Require(q.before_ms >= 0, "negative before_ms");
    Require(q.before_id.empty() || q.before_ms == 0, "both before_id and before_ms");
  }

  auto value = [&](const char* key) {
    auto it = params.find(key);
    return it == params.end() ? std::string() : it->second;
  };
  const std::string header = value("Last-Event-ID"), since = value("since");
  auto resume = api::ResumePoint(header, since);
  if (auto* e = std::get_if<api::ApiError>(&resume)) {
    RequireGoodError(*e, "ResumePoint");
  } else if (auto id = std::get<std::optional<uint64_t>>(resume)) {
    const std::string& given = header.empty() ? since : header;
    Require(std::to_string(*id) == given.substr(given.find_first_not_of('0') == std::string::npos
                                                    ? given.size() - 1
                                                    : given.find_first_not_of('0')),
            "ResumePoint changed the id " + given);
  } else {
    Require(header.empty() && since.empty(), "ResumePoint ignored a value");
  }
}

void CheckPath(const std::string& path) {
  if (auto rel = api::StaticRelativePath(path)) {
    Require(!rel->empty() && rel->front() != '/', "StaticRelativePath: absolute or empty");
    Require(rel->find('\0') == std::string::npos && rel->find('\\') == std::string::npos,
            "StaticRelativePath: NUL or backslash");
    size_t start = 0;
    for (;;) {
      size_t slash = rel->find('/', start);
      std::string part = rel->substr(start, slash == std::string::npos ? slash : slash - start);
      Require(!part.empty() && part != "." && part != "..", "StaticRelativePath: " + *rel);
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
  }
  static const std::set<std::string> kRoutes = {"/api/incidents",
                                                "/api/incidents/{id}",
                                                "/api/incidents/{id}/timeline",
                                                "/api/incidents/{id}/postmortem",
                                                "/api/stats",
                                                "/api/services",
                                                "/api/stream",
                                                "/api/events",
                                                "/api/unknown",
                                                "/healthz",
                                                "/metrics",
                                                "static"};
  std::string route = api::RouteTemplate(path);
  Require(kRoutes.count(route), "RouteTemplate made a new label: " + route);
}

void Check(std::string_view input) {
  size_t q = input.find('?');
  std::string path(input.substr(0, q));
  std::multimap<std::string, std::string> params;
  if (q != std::string_view::npos) {
    std::string_view query = input.substr(q + 1);
    for (size_t start = 0; start <= query.size();) {
      size_t amp = std::min(query.find('&', start), query.size());
      std::string_view pair = query.substr(start, amp - start);
      size_t eq = pair.find('=');
      if (!pair.empty())
        params.emplace(std::string(pair.substr(0, eq)),
                       eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1)));
      start = amp + 1;
    }
  }
  try {
    CheckPath(path);
    CheckParams(params);
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
