#include "agents/investigation/telemetry.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "shared/json_codec.h"
#include "shared/text.h"

namespace sre::investigation {
namespace {

// Far more than 10 series of 100 points or 100 log lines: past this the answer is not useful
// and reading it would only cost memory.
constexpr size_t kMaxBody = 16 * 1024 * 1024;
constexpr size_t kMaxErrorText = 500;
// Above this the query goes in a POST body (Prometheus's advice for long queries).
constexpr size_t kMaxGetUrl = 2000;

std::string Clean(std::string_view s, size_t max) { return TruncateUtf8(SanitizeUtf8(s), max); }

// ---- HTTP (libcurl) ----

struct HttpAnswer {
  bool transport_ok = false;
  std::string transport_error;  // curl's generic text; never the URL
  long status = 0;
  std::string body;
};

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<HttpAnswer*>(user);
  size_t len = size * n;
  if (out->body.size() + len > kMaxBody) return 0;  // aborts with CURLE_WRITE_ERROR
  out->body.append(data, len);
  return len;
}

std::string Encode(CURL* h, const std::string& s) {
  char* e = curl_easy_escape(h, s.data(), static_cast<int>(s.size()));
  std::string out = e ? e : "";
  curl_free(e);
  return out;
}

using Params = std::vector<std::pair<std::string, std::string>>;

// GET url?params, or POST url with the params form-encoded when `post`.
HttpAnswer Request(const std::string& url, const Params& params, bool allow_post,
                   std::chrono::milliseconds timeout) {
  GlobalInit();
  HttpAnswer out;
  std::unique_ptr<CURL, void (*)(CURL*)> h(curl_easy_init(), curl_easy_cleanup);
  if (!h) {
    out.transport_error = "cannot create a curl handle";
    return out;
  }
  std::string form;
  for (const auto& [k, v] : params)
    form += (form.empty() ? "" : "&") + k + "=" + Encode(h.get(), v);
  const bool post = allow_post && url.size() + 1 + form.size() > kMaxGetUrl;
  const std::string full = post ? url : url + "?" + form;
  curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
  if (post) headers = curl_slist_append(headers, "Content-Type: application/x-www-form-urlencoded");
  long timeout_ms = std::max<long>(1, static_cast<long>(timeout.count()));
  curl_easy_setopt(h.get(), CURLOPT_URL, full.c_str());
  curl_easy_setopt(h.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);
  if (post) {
    curl_easy_setopt(h.get(), CURLOPT_POST, 1L);
    curl_easy_setopt(h.get(), CURLOPT_POSTFIELDS, form.c_str());
    curl_easy_setopt(h.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(form.size()));
  } else {
    curl_easy_setopt(h.get(), CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(h.get(), CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h.get(), CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h.get(), CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h.get(), CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &out);
  CURLcode rc = curl_easy_perform(h.get());
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    out.transport_error = rc == CURLE_WRITE_ERROR ? "the answer is larger than 16 MiB"
                          : rc == CURLE_OPERATION_TIMEDOUT
                              ? "no answer within " + std::to_string(timeout.count() / 1000) + " s"
                              : curl_easy_strerror(rc);
    out.body.clear();
    return out;
  }
  curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &out.status);
  out.transport_ok = true;
  return out;
}

// ---- parsing ----

std::map<std::string, std::string> Labels(const Json& j) {
  std::map<std::string, std::string> out;
  if (!j.is_object()) return out;
  for (const auto& [k, v] : j.items())
    out[Clean(k, 200)] = Clean(v.is_string() ? v.get<std::string>() : Dump(v), 500);
  return out;
}

// A sample value: Prometheus sends strings ("1.5", "NaN", "+Inf", "-Inf"); a number is taken too.
std::optional<double> Value(const Json& j) {
  if (j.is_number()) return j.get<double>();
  if (!j.is_string()) return std::nullopt;
  const std::string s = j.get<std::string>();
  if (s.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0') return std::nullopt;
  return v;
}

// [<unix seconds>, "<value>"] → (ms, value).
std::optional<std::pair<int64_t, double>> Sample(const Json& j) {
  if (!j.is_array() || j.size() < 2 || !j[0].is_number()) return std::nullopt;
  double secs = j[0].get<double>();
  auto v = Value(j[1]);
  if (!v || !std::isfinite(secs) || std::fabs(secs) > 1e11) return std::nullopt;
  return std::pair{static_cast<int64_t>(std::llround(secs * 1000)), *v};
}

Status Malformed(const std::string& backend, const std::string& what) {
  return Status::Transient(
      backend + " answered a body that is not the documented query_range shape (" + what + ")");
}

// "matrix" (and, from proxies, "vector"/"scalar") results into series.
Expected<std::vector<Series>> ParseNumeric(const std::string& backend, const std::string& type,
                                           const Json& result) {
  std::vector<Series> out;
  if (type == "scalar") {
    auto s = Sample(result);
    if (!s) return Malformed(backend, "scalar result");
    out.push_back({{}, {*s}});
    return out;
  }
  if (!result.is_array()) return Malformed(backend, "result is not an array");
  for (const auto& r : result) {
    if (!r.is_object()) return Malformed(backend, "series is not an object");
    Series s;
    s.labels = Labels(r.value("metric", Json::object()));
    if (type == "vector") {
      auto p = r.contains("value") ? Sample(r["value"]) : std::nullopt;
      if (!p) return Malformed(backend, "vector sample");
      s.points.push_back(*p);
    } else if (r.contains("values")) {
      if (!r["values"].is_array()) return Malformed(backend, "values is not an array");
      for (const auto& v : r["values"]) {
        auto p = Sample(v);
        if (!p) return Malformed(backend, "sample is not [<unix seconds>, \"<value>\"]");
        s.points.push_back(*p);
      }
    } else if (!r.contains("histograms")) {
      return Malformed(backend, "series without values");
    }
    // Native-histogram samples ("histograms") have no single value: the series is kept without
    // them.
    std::sort(s.points.begin(), s.points.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::string> Warnings(const Json& j) {
  std::vector<std::string> out;
  if (j.contains("warnings") && j["warnings"].is_array())
    for (const auto& w : j["warnings"])
      if (w.is_string() && out.size() < 5) out.push_back(Clean(w.get<std::string>(), 300));
  return out;
}

// A non-2xx answer, or a JSON "status": "error". 400 and 422 mean the query is at fault.
Status ErrorStatus(const std::string& backend, long http, const std::string& type,
                   const std::string& message) {
  std::string text = backend + " rejected the query (HTTP " + std::to_string(http) +
                     (type.empty() ? "" : ", " + type) +
                     (message.empty() ? ")" : "): " + Clean(message, kMaxErrorText));
  bool query_fault = http == 400 || http == 422 || type == "bad_data" || type == "execution";
  if (query_fault && type != "timeout" && type != "canceled" && type != "unavailable")
    return Status::Invalid(text);
  return Status::Transient(text);
}

Expected<QueryResult> ParseEnvelope(const std::string& backend, long http, const std::string& body,
                                    bool loki) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  const bool success_status = http >= 200 && http < 300;
  if (!j.is_object()) {
    if (success_status) return Malformed(backend, "not a JSON object");
    // Loki's errors are plain text; anything else (a proxy's HTML page) is shown briefly.
    std::string text = body;
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    return ErrorStatus(backend, http, "", loki ? text : Clean(text, 200));
  }
  const std::string status = j.value("status", "");
  if (status == "error" || !success_status) {
    std::string type = j.contains("errorType") && j["errorType"].is_string()
                           ? j["errorType"].get<std::string>()
                           : "";
    std::string message =
        j.contains("error") && j["error"].is_string()       ? j["error"].get<std::string>()
        : j.contains("message") && j["message"].is_string() ? j["message"].get<std::string>()
                                                            : "";
    if (status != "error" && message.empty()) message = Clean(body, 200);
    return ErrorStatus(backend, http, Clean(type, 40), message);
  }
  if (status != "success") return Malformed(backend, "status is not \"success\"");
  if (!j.contains("data") || !j["data"].is_object()) return Malformed(backend, "no data object");
  const Json& data = j["data"];
  std::string type = data.value("resultType", "");
  if (!data.contains("result")) return Malformed(backend, "no result");
  const Json& result = data["result"];
  QueryResult out;
  out.warnings = Warnings(j);
  if (type == "matrix" || type == "vector" || type == "scalar") {
    auto series = ParseNumeric(backend, type, result);
    if (!series.ok()) return series.status();
    out.type = QueryResult::Type::kMatrix;
    out.series = std::move(*series);
    return out;
  }
  if (loki && type == "streams") {
    if (!result.is_array()) return Malformed(backend, "result is not an array");
    out.type = QueryResult::Type::kStreams;
    for (const auto& s : result) {
      if (!s.is_object() || !s.contains("values") || !s["values"].is_array())
        return Malformed(backend, "stream without values");
      out.streams.push_back(Labels(s.value("stream", Json::object())));
      for (const auto& v : s["values"]) {
        // ["<ns>", "<line>"] or, with structured metadata, ["<ns>", "<line>", {...}].
        if (!v.is_array() || v.size() < 2 || !v[0].is_string() || !v[1].is_string())
          return Malformed(backend, "entry is not [\"<ns>\", \"<line>\"]");
        const std::string ts = v[0].get<std::string>();
        errno = 0;
        char* end = nullptr;
        long long ns = std::strtoll(ts.c_str(), &end, 10);
        if (ts.empty() || *end != '\0' || errno != 0)
          return Malformed(backend, "timestamp is not nanoseconds");
        out.lines.push_back({ns, SanitizeUtf8(v[1].get<std::string>()), out.streams.size() - 1});
      }
    }
    std::stable_sort(out.lines.begin(), out.lines.end(),
                     [](const auto& a, const auto& b) { return a.ts_ns > b.ts_ns; });
    return out;
  }
  return Status::Invalid(backend + " answered resultType \"" + Clean(type, 40) +
                         "\", not a time series" + (loki ? " or log streams" : ""));
}

std::string Seconds(int64_t ms) {
  // Unix seconds with millisecond precision: Prometheus takes a float.
  std::string s = std::to_string(ms / 1000);
  int64_t frac = ms % 1000;
  if (frac < 0) frac += 1000;
  if (frac != 0) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), ".%03lld", static_cast<long long>(frac));
    s += buf;
  }
  return s;
}

Expected<QueryResult> FromAnswer(const std::string& backend, const HttpAnswer& a, bool loki) {
  if (!a.transport_ok) return Status::Transient(backend + " is unreachable: " + a.transport_error);
  return loki ? ParseLokiResponse(a.status, a.body) : ParsePrometheusResponse(a.status, a.body);
}

std::string StripSlashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

std::chrono::seconds StepFor(int64_t start_ms, int64_t end_ms, std::chrono::seconds requested) {
  int64_t step = requested.count() > 0 ? requested.count() : 15;
  int64_t range_s = std::max<int64_t>(0, (end_ms - start_ms + 999) / 1000);
  int64_t needed = (range_s + kMaxPointsPerSeries - 1) / kMaxPointsPerSeries;
  return std::chrono::seconds(std::max<int64_t>({step, needed, 1}));
}

Expected<QueryResult> ParsePrometheusResponse(long http_status, const std::string& body) {
  return ParseEnvelope("Prometheus", http_status, body, /*loki=*/false);
}

Expected<QueryResult> ParseLokiResponse(long http_status, const std::string& body) {
  return ParseEnvelope("Loki", http_status, body, /*loki=*/true);
}

std::string QuotedLabelValue(const std::string& value) {
  std::string out = "\"";
  for (unsigned char c : SanitizeUtf8(value)) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

bool IsLabelName(const std::string& name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

TelemetryConfig TelemetryConfig::FromConfig(Config& config) {
  TelemetryConfig c;
  if (auto url = config.OptionalString("PROMETHEUS_URL"))
    c.prometheus_url = StripSlashes(config.Url("PROMETHEUS_URL", *url, {"http", "https"}));
  if (auto url = config.OptionalString("LOKI_URL"))
    c.loki_url = StripSlashes(config.Url("LOKI_URL", *url, {"http", "https"}));
  c.timeout = std::chrono::seconds(config.Int("PROMETHEUS_TIMEOUT_S", 20, 1, 120));
  c.loki_service_label = config.String("LOKI_SERVICE_LABEL", "service");
  if (!IsLabelName(c.loki_service_label)) {
    std::string previous;
    try {
      config.Validate();
    } catch (const ConfigError& e) {
      previous = e.what();
    }
    std::string line = "LOKI_SERVICE_LABEL=\"" + Clean(c.loki_service_label, 100) +
                       "\": expected a label name ([a-zA-Z_][a-zA-Z0-9_]*)";
    throw ConfigError(previous.empty() ? "invalid configuration:\n  " + line
                                       : previous + "\n  " + line);
  }
  return c;
}

PrometheusClient::PrometheusClient(std::string base_url, std::chrono::milliseconds timeout)
    : base_url_(StripSlashes(std::move(base_url))), timeout_(timeout) {}

Expected<QueryResult> PrometheusClient::QueryRange(const RangeQuery& q) {
  const auto step = StepFor(q.start_ms, q.end_ms, q.step);
  Params params = {
      {"query", q.query},
      {"start", Seconds(q.start_ms)},
      {"end", Seconds(q.end_ms)},
      {"step", std::to_string(step.count())},
      {"timeout", std::to_string(std::max<int64_t>(1, timeout_.count() / 1000)) + "s"}};
  return FromAnswer(
      "Prometheus",
      Request(base_url_ + "/api/v1/query_range", params, /*allow_post=*/true, timeout_),
      /*loki=*/false);
}

LokiClient::LokiClient(std::string base_url, std::chrono::milliseconds timeout)
    : base_url_(StripSlashes(std::move(base_url))), timeout_(timeout) {}

Expected<QueryResult> LokiClient::QueryRange(const RangeQuery& q) {
  const auto step = StepFor(q.start_ms, q.end_ms, q.step);
  Params params = {{"query", q.query},
                   {"start", std::to_string(q.start_ms * 1000000)},
                   {"end", std::to_string(q.end_ms * 1000000)},
                   {"limit", std::to_string(std::clamp(q.limit, 1, 5000))},
                   {"direction", "backward"},
                   {"step", std::to_string(step.count()) + "s"}};
  return FromAnswer(
      "Loki",
      Request(base_url_ + "/loki/api/v1/query_range", params, /*allow_post=*/false, timeout_),
      /*loki=*/true);
}

}  // namespace sre::investigation
