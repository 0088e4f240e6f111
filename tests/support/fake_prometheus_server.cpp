#include "tests/support/fake_prometheus_server.h"

#include <httplib.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "shared/json_codec.h"
#include "tests/support/local_http_server.h"

namespace sre::testing {
namespace {

std::string Error(const std::string& type, const std::string& message) {
  return Dump(Json{{"status", "error"}, {"errorType", type}, {"error", message}});
}

// A float of seconds ("1435781430.781"). RFC 3339 is accepted by Prometheus too; the client
// under test never sends it, so it is reported as unparsable here.
std::optional<double> ParseTime(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (*end != '\0' || !std::isfinite(v)) return std::nullopt;
  return v;
}

// Float seconds ("15", "0.5") or a duration ("15s", "1m", "1h30m", "500ms").
std::optional<double> ParseStep(const std::string& s) {
  if (auto v = ParseTime(s)) return v;
  double total = 0;
  size_t i = 0;
  bool any = false;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (j == i) return std::nullopt;
    double n = std::stod(s.substr(i, j - i));
    size_t k = j;
    while (k < s.size() && std::isalpha(static_cast<unsigned char>(s[k]))) ++k;
    std::string unit = s.substr(j, k - j);
    static const std::map<std::string, double> units = {{"ms", 0.001},  {"s", 1},     {"m", 60},
                                                        {"h", 3600},    {"d", 86400}, {"w", 604800},
                                                        {"y", 31536000}};
    auto u = units.find(unit);
    if (u == units.end()) return std::nullopt;
    total += n * u->second;
    any = true;
    i = k;
  }
  if (!any) return std::nullopt;
  return total;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

}  // namespace

std::function<std::string(double)> ConstantValue(double v) {
  return [v](double) { return FormatValue(v); };
}

std::function<std::string(double)> StepValue(double at, double before, double after) {
  return [=](double t) { return FormatValue(t < at ? before : after); };
}

std::function<std::string(double)> RampValue(double t0, double from, double t1, double to) {
  return [=](double t) {
    if (t <= t0) return FormatValue(from);
    if (t >= t1) return FormatValue(to);
    return FormatValue(from + (to - from) * (t - t0) / (t1 - t0));
  };
}

FakePrometheusServer::FakePrometheusServer()
    : http_(std::make_unique<LocalHttpServer>("FakePrometheusServer")) {
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    PromRequest r;
    r.method = req.method;
    r.path = req.path;
    r.content_type = req.get_header_value("Content-Type");
    for (const auto& [k, v] : req.params) r.params[k] = v;
    Answer a = Serve(std::move(r));
    res.status = a.status;
    res.set_content(a.body, a.content_type.c_str());
  };
  http_->routes().Get(".*", handler);
  http_->routes().Post(".*", handler);
  http_->Start();
}

FakePrometheusServer::~FakePrometheusServer() { Stop(); }

void FakePrometheusServer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  http_->Stop();
}

int FakePrometheusServer::port() const { return http_->port(); }

void FakePrometheusServer::SetSeries(const std::string& query, std::vector<FakePromSeries> series) {
  std::lock_guard<std::mutex> lock(mu_);
  series_[query] = std::move(series);
}

void FakePrometheusServer::SetWarnings(std::vector<std::string> warnings) {
  std::lock_guard<std::mutex> lock(mu_);
  warnings_ = std::move(warnings);
}

void FakePrometheusServer::FailWith(int status, std::string error_type, std::string error) {
  std::lock_guard<std::mutex> lock(mu_);
  failure_ = Answer{status, Error(error_type, error), "application/json"};
}

void FakePrometheusServer::FailRaw(int status, std::string body, std::string content_type) {
  std::lock_guard<std::mutex> lock(mu_);
  failure_ = Answer{status, std::move(body), std::move(content_type)};
}

void FakePrometheusServer::ClearFailure() {
  std::lock_guard<std::mutex> lock(mu_);
  failure_.reset();
}

void FakePrometheusServer::SetDelay(std::chrono::milliseconds delay) {
  std::lock_guard<std::mutex> lock(mu_);
  delay_ = delay;
}

std::vector<PromRequest> FakePrometheusServer::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

size_t FakePrometheusServer::RequestCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_.size();
}

std::string FakePrometheusServer::BaseUrl() const {
  return "http://127.0.0.1:" + std::to_string(port());
}

FakePrometheusServer::Answer FakePrometheusServer::Serve(PromRequest request) {
  std::unique_lock<std::mutex> lock(mu_);
  requests_.push_back(request);
  if (delay_.count() > 0) cv_.wait_for(lock, delay_, [this] { return stopping_; });
  if (failure_) return *failure_;
  if (request.path != "/api/v1/query_range")
    return {404, "404 page not found\n", "text/plain; charset=utf-8"};
  const auto& p = request.params;
  auto param = [&](const char* name) {
    auto it = p.find(name);
    return it == p.end() ? std::string() : it->second;
  };
  const std::string query = param("query");
  auto start = ParseTime(param("start"));
  auto end = ParseTime(param("end"));
  auto step = ParseStep(param("step"));
  const char* json = "application/json";
  if (!start)
    return {400,
            Error("bad_data", "invalid parameter \"start\": cannot parse \"" + param("start") +
                                  "\" to a valid timestamp"),
            json};
  if (!end)
    return {400,
            Error("bad_data", "invalid parameter \"end\": cannot parse \"" + param("end") +
                                  "\" to a valid timestamp"),
            json};
  if (*end < *start)
    return {
        400,
        Error("bad_data", "invalid parameter \"end\": end timestamp must not be before start time"),
        json};
  if (!step)
    return {400,
            Error("bad_data", "invalid parameter \"step\": cannot parse \"" + param("step") +
                                  "\" to a valid duration"),
            json};
  if (*step <= 0)
    return {400,
            Error("bad_data",
                  "zero or negative query resolution step widths are not accepted. Try a positive "
                  "integer"),
            json};
  if ((*end - *start) / *step > 11000)
    return {400,
            Error("bad_data",
                  "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the "
                  "query resolution (?step=XX)"),
            json};
  if (query.empty())
    return {400,
            Error("bad_data",
                  "invalid parameter \"query\": 1:1: parse error: no expression found in input"),
            json};

  Json result = Json::array();
  auto it = series_.find(query);
  if (it != series_.end()) {
    for (const auto& s : it->second) {
      Json values = Json::array();
      // Prometheus evaluates at start + k*step (milliseconds precision).
      for (int64_t k = 0;; ++k) {
        double t = std::round((*start + static_cast<double>(k) * *step) * 1000) / 1000;
        if (t > *end) break;
        std::string v = s.value(t);
        if (!v.empty()) values.push_back(Json::array({t, v}));
      }
      if (values.empty()) continue;
      Json metric = Json::object();
      for (const auto& [k, v] : s.labels) metric[k] = v;
      result.push_back({{"metric", metric}, {"values", values}});
    }
  }
  Json out = {{"status", "success"}, {"data", {{"resultType", "matrix"}, {"result", result}}}};
  if (!warnings_.empty()) out["warnings"] = warnings_;
  return {200, Dump(out), json};
}

}  // namespace sre::testing
