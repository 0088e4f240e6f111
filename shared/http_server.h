#pragma once
// The HTTP endpoint every executable serves: GET /healthz (200 only when every registered
// dependency check passes, else 503, JSON body naming each check) and GET /metrics (the process
// MetricsRegistry in Prometheus text format). Executables with an API of their own (the
// simulator, sre-api) add routes through Routes() before Start().
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace sre {

class MetricsRegistry;

class HttpServer {
 public:
  // A dependency check: returns an empty string when healthy, else what is wrong.
  using HealthCheck = std::function<std::string()>;

  explicit HttpServer(MetricsRegistry& metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Thread-safe: checks may be added while the server runs (dependencies connect after start-up).
  void AddHealthCheck(std::string name, HealthCheck check);
  // For additional routes; valid until destruction.
  httplib::Server& Routes();
  // Binds host:port (port 0 picks a free one) and serves on a background thread. Returns the
  // bound port, or -1 when it cannot bind.
  int Start(const std::string& host, int port);
  void Stop();
  int port() const { return port_; }

 private:
  MetricsRegistry& metrics_;
  std::unique_ptr<httplib::Server> server_;
  std::mutex checks_mu_;
  std::vector<std::pair<std::string, HealthCheck>> checks_;
  std::thread thread_;
  int port_ = -1;
};

}  // namespace sre
