// sre-api: REST over PostgreSQL and Redis, the live lifecycle stream (consumer group sre-api) and
// the web dashboard, on one port with /healthz and /metrics (ARCHITECTURE §1, issue 8).
#include <atomic>
#include <chrono>
#include <string>

#include "api/server.h"
#include "shared/log.h"
#include "shared/messages.h"
#include "shared/metrics.h"
#include "shared/runtime.h"

int main(int argc, char** argv) {
  using namespace sre;
  ExecutableSpec spec{
      "sre-api",
      "HTTP API and dashboard: incidents (with their cascades), timelines, recent agent "
      "events,\n"
      "postmortems, statistics, service health and remediation actions (approve or reject with\n"
      "POST /api/incidents/{id}/actions/{action_id}/approve|reject)\n"
      "(REST, JSON), a Server-Sent Events stream of every lifecycle event (GET /api/stream, "
      "resumable with\n"
      "Last-Event-ID or ?since=), and the on-call dashboard at /.",
      0,  // sre-api starts the shared HttpServer itself once its routes are registered
      {"HTTP_PORT                REST, stream, dashboard, /healthz and /metrics (8000)",
       "API_TOKEN                optional bearer token for /api/* and /metrics (none)",
       "API_MAX_STREAMS          open /api/stream connections at most, 1-1000; more get 503 (16)",
       "API_STATIC_DIR           the dashboard's files (./api/static, else the source tree)",
       "KNOWLEDGE_DIR            where knowledge/architecture/services.json lives (./knowledge)"}};
  return RunExecutable(argc, argv, spec, [](RunContext& ctx) -> Status {
    int port = ctx.config.Port("HTTP_PORT", 8000, true);
    api::ApiOptions options = api::ReadApiOptions(ctx.config);
    ctx.config.Validate();
    auto catalog = ServiceCatalog::Load(KnowledgeDir() + "/architecture/services.json");
    if (!catalog.ok()) throw ConfigError("KNOWLEDGE_DIR: " + catalog.status().message());
    auto redis = ParseRedisUrl(ctx.common.redis_url);
    if (!redis.ok()) throw ConfigError("REDIS_URL: " + redis.status().message());

    HttpServer http(Metrics());
    ctx.http = &http;
    api::ApiStore store(ctx.common.database_url, *redis, std::move(catalog).value());
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    api::EventHub hub(static_cast<uint64_t>(now_ms) * 1000);
    api::RegisterRoutes(http.Routes(), store, hub, options);
    if (http.Start("0.0.0.0", port) < 0)
      throw ConfigError("HTTP_PORT: cannot listen on " + std::to_string(port));
    log::Get("api")->info(
        "serving the API and dashboard on port {} (static files from {}, at most {} streams{})",
        http.port(), options.static_dir, options.max_streams,
        options.token.empty() ? "" : ", bearer token required");

    // Unhealthy until the stores and the broker are connected (their own checks take over then).
    std::atomic<bool> connected{false};
    http.AddHealthCheck("startup", [&connected] {
      return connected.load() ? std::string() : std::string("connecting to dependencies");
    });
    auto deps = ConnectDependencies(ctx, /*redis=*/true, /*db=*/true);
    connected = deps.ok();
    Status s = deps.ok() ? Status::Ok() : deps.status();
    if (s.ok()) {
      api::StatsRefresher gauges(store, std::chrono::seconds(15));
      api::StreamHandler handler(hub);
      s = RunConsumer(ctx, *deps, "api", api::LifecycleTopics(), handler, 200);
    }
    hub.Shutdown();
    http.Stop();
    return s;
  });
}
