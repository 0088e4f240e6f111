#pragma once
// A Loki HTTP API double for tests: a cpp-httplib server on 127.0.0.1 (a free port) answering
// GET /loki/api/v1/query_range as Loki documents it:
//
//   200 {"status":"success","data":{"resultType":"streams","result":[
//          {"stream":{<labels>},"values":[["<unix ns>","<line>"],…]}, …],"stats":{…}}}
//   200 {"status":"success","data":{"resultType":"matrix","result":[
//          {"metric":{<labels>},"values":[[<unix seconds>,"<value>"],…]}],"stats":{…}}}
//   400 text/plain "parse error at line 1, col 1: syntax error: …"  (and other bad requests)
//
// Log queries understand a small LogQL subset: a selector of `label="value"` matchers (with \"
// and \\ escapes) and line filters |= != |~ !~ (a "(?i)" prefix makes a regex case-insensitive).
// Entries are kept when start ≤ ts < end (ns), ordered by `direction` (backward: newest first),
// at most `limit` (default 100, at most 5000) over all streams. A metric query answers what
// SetMatrix registered for it (matched exactly). It can be told to fail (any status and body) or
// to answer slowly. Every request is recorded. Thread-safe.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sre::testing {

class LocalHttpServer;

struct FakeLogStream {
  std::map<std::string, std::string> labels;
  std::vector<std::pair<int64_t, std::string>> entries;  // (Unix ns, line), any order
};

struct FakeLokiSeries {
  std::map<std::string, std::string> labels;
  std::vector<std::pair<double, std::string>> values;  // (Unix seconds, "value")
};

struct LokiRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> params;
};

class FakeLokiServer {
 public:
  FakeLokiServer();  // aborts the test binary if it cannot bind
  ~FakeLokiServer();
  FakeLokiServer(const FakeLokiServer&) = delete;
  FakeLokiServer& operator=(const FakeLokiServer&) = delete;

  void AddStream(FakeLogStream stream);
  // What a metric query (matched exactly) answers: resultType "matrix".
  void SetMatrix(const std::string& query, std::vector<FakeLokiSeries> series);
  // Every later request gets this status and body (e.g. 503 "too many outstanding requests").
  void FailWith(int status, std::string body,
                std::string content_type = "text/plain; charset=utf-8");
  void ClearFailure();
  void SetDelay(std::chrono::milliseconds delay);  // cut short by Stop()

  std::vector<LokiRequest> Requests() const;
  size_t RequestCount() const;

  int port() const;
  std::string BaseUrl() const;  // http://127.0.0.1:PORT — for LOKI_URL
  void Stop();

 private:
  struct Answer {
    int status;
    std::string body;
    std::string content_type;
  };
  Answer Serve(LokiRequest request);

  std::unique_ptr<LocalHttpServer> http_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<FakeLogStream> streams_;
  std::map<std::string, std::vector<FakeLokiSeries>> matrices_;
  std::optional<Answer> failure_;
  std::chrono::milliseconds delay_{0};
  std::vector<LokiRequest> requests_;
};

}  // namespace sre::testing
