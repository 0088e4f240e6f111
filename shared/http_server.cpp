#include "shared/http_server.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "shared/metrics.h"

namespace sre {

HttpServer::HttpServer(MetricsRegistry& metrics)
    : metrics_(metrics), server_(std::make_unique<httplib::Server>()) {
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    nlohmann::json checks = nlohmann::json::object();
    bool healthy = true;
    std::vector<std::pair<std::string, HealthCheck>> current;
    {
      std::lock_guard<std::mutex> lock(checks_mu_);
      current = checks_;
    }
    for (const auto& [name, check] : current) {
      std::string problem;
      try {
        problem = check();
      } catch (const std::exception& e) {
        problem = e.what();
      }
      checks[name] = problem.empty() ? "ok" : problem;
      healthy = healthy && problem.empty();
    }
    res.status = healthy ? 200 : 503;
    res.set_content(
        nlohmann::json{{"status", healthy ? "ok" : "unhealthy"}, {"checks", checks}}.dump(),
        "application/json");
  });
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::AddHealthCheck(std::string name, HealthCheck check) {
  std::lock_guard<std::mutex> lock(checks_mu_);
  checks_.emplace_back(std::move(name), std::move(check));
}

httplib::Server& HttpServer::Routes() { return *server_; }

int HttpServer::Start(const std::string& host, int port) {
  if (port == 0) {
    port_ = server_->bind_to_any_port(host.c_str());
  } else {
    port_ = server_->bind_to_port(host.c_str(), port) ? port : -1;
  }
  if (port_ < 0) return -1;
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return port_;
}

void HttpServer::Stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

}  // namespace sre
