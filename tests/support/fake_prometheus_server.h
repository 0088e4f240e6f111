#pragma once
// A Prometheus HTTP API double for tests: a cpp-httplib server on 127.0.0.1 (a free port) that
// answers GET and POST (form-encoded) /api/v1/query_range exactly as Prometheus documents it:
//
//   200 {"status":"success","data":{"resultType":"matrix","result":[
//          {"metric":{<labels>},"values":[[<unix seconds>,"<value>"],…]}, …]}}
//   400 {"status":"error","errorType":"bad_data","error":"…"}  missing/unparsable parameters,
//        end before start, more than 11,000 points per series
//
// Samples are evaluated at start, start+step, … ≤ end. A query with no series registered
// answers an empty matrix (as Prometheus does for an unknown metric). It can be told to fail
// (any status with a Prometheus error body, or a raw body) or to answer slowly. Every request is
// recorded. Thread-safe.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sre::testing {

class LocalHttpServer;

struct FakePromSeries {
  std::map<std::string, std::string> labels;
  // The sample value at a Unix time (seconds), as Prometheus prints it: "1.5", "NaN", "+Inf".
  // An empty string leaves the timestamp out (a gap).
  std::function<std::string(double unix_seconds)> value;
};

struct PromRequest {
  std::string method;  // "GET" or "POST"
  std::string path;
  std::map<std::string, std::string> params;  // from the URL or the form body
  std::string content_type;
};

class FakePrometheusServer {
 public:
  // Starts serving; aborts the test binary if it cannot bind.
  FakePrometheusServer();
  ~FakePrometheusServer();
  FakePrometheusServer(const FakePrometheusServer&) = delete;
  FakePrometheusServer& operator=(const FakePrometheusServer&) = delete;

  // The series a query (matched exactly) answers. Replaces earlier ones for that query.
  void SetSeries(const std::string& query, std::vector<FakePromSeries> series);
  // Every answer carries these "warnings".
  void SetWarnings(std::vector<std::string> warnings);
  // Every later request fails with `status` and {"status":"error","errorType":…,"error":…};
  // ClearFailure() restores normal answers.
  void FailWith(int status, std::string error_type, std::string error);
  // Every later request gets exactly this status and body (e.g. an HTML page from a proxy).
  void FailRaw(int status, std::string body, std::string content_type = "text/html");
  void ClearFailure();
  // Wait this long before answering (a slow Prometheus); cut short by Stop().
  void SetDelay(std::chrono::milliseconds delay);

  std::vector<PromRequest> Requests() const;
  size_t RequestCount() const;

  int port() const;
  std::string BaseUrl() const;  // http://127.0.0.1:PORT — for PROMETHEUS_URL
  void Stop();

 private:
  struct Answer {
    int status;
    std::string body;
    std::string content_type;
  };
  Answer Serve(PromRequest request);

  std::unique_ptr<LocalHttpServer> http_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::string, std::vector<FakePromSeries>> series_;
  std::vector<std::string> warnings_;
  std::optional<Answer> failure_;
  std::chrono::milliseconds delay_{0};
  std::vector<PromRequest> requests_;
};

// Helpers for FakePromSeries::value.
std::function<std::string(double)> ConstantValue(double v);
// `before` until `at_unix_seconds`, then `after`.
std::function<std::string(double)> StepValue(double at_unix_seconds, double before, double after);
// Rises linearly from `from` at `t0` to `to` at `t1` (flat outside).
std::function<std::string(double)> RampValue(double t0, double from, double t1, double to);

}  // namespace sre::testing
