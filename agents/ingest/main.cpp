// sre-ingest: the telemetry and alerts a user already has, into the pipeline (ARCHITECTURE §4,
// ingest). Alertmanager and Grafana alerts become anomalies on the detector's path; Prometheus
// remote write and OTLP/HTTP become raw.metrics and raw.logs through the mapping file.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "agents/ingest/service.h"
#include "shared/log.h"
#include "shared/messages.h"
#include "shared/metrics.h"
#include "shared/runtime.h"

int main(int argc, char** argv) {
  using namespace sre;
  ExecutableSpec spec{
      "sre-ingest",
      "Ingest: receives Alertmanager (webhook v4) and Grafana alerts, Prometheus remote write and OTLP/HTTP\n"
      "(JSON) logs and metrics. A firing alert opens or joins the service's incident like a detected anomaly\n"
      "(anomalies.detected), a resolved one lets the incident resolve; series and log records become\n"
      "raw.metrics and raw.logs through the mapping file. Answers 2xx only once the broker has the data.\n"
      "POST /api/v1/alerts/alertmanager, /api/v1/alerts/grafana, /api/v1/write, /v1/logs, /v1/metrics.",
      0,  // sre-ingest starts the shared HttpServer itself once its routes are registered
      {"HTTP_PORT                the endpoints, /healthz and /metrics (8200)",
       "INGEST_TOKEN             optional bearer token every POST must carry (none)",
       "INGEST_MAPPING           which series become raw.metrics (infra/ingest/mapping.json,\n"
       "                           relative, else the source tree's)",
       "INGEST_SERVICE_LABELS    the alert labels naming the service, first present wins (service,job);\n"
       "                           telemetry uses service_labels of the mapping file",
       "INGEST_MAX_BODY_BYTES    larger bodies get 413, 1024-268435456 (8388608)",
       "INGEST_MAX_SERVICES      services not in the catalogue this process accepts, 0-100000 (1000)",
       "KNOWLEDGE_DIR            where knowledge/architecture/services.json lives (./knowledge)"}};
  return RunExecutable(argc, argv, spec, [](RunContext& ctx) -> Status {
    int port = ctx.config.Port("HTTP_PORT", 8200, true);
    ingest::IngestOptions options;
    options.token = ctx.config.SecretValue("INGEST_TOKEN");
    std::string mapping_path = ctx.config.String("INGEST_MAPPING", ingest::DefaultMappingPath());
    std::string labels = ctx.config.String("INGEST_SERVICE_LABELS", "service,job");
    options.max_body_bytes = static_cast<size_t>(ctx.config.Int("INGEST_MAX_BODY_BYTES", 8 << 20, 1024, 256 << 20));
    options.max_discovered_services = static_cast<size_t>(ctx.config.Int("INGEST_MAX_SERVICES", 1000, 0, 100000));
    options.service_labels.clear();
    for (size_t start = 0; start <= labels.size();) {
      size_t comma = std::min(labels.find(',', start), labels.size());
      std::string name = labels.substr(start, comma - start);
      name.erase(0, name.find_first_not_of(' '));
      name.erase(name.find_last_not_of(' ') + 1);
      if (!name.empty()) options.service_labels.push_back(name);
      start = comma + 1;
    }
    if (options.service_labels.empty()) throw ConfigError("INGEST_SERVICE_LABELS: no label names in '" + labels + "'");
    ctx.config.Validate();
    auto mapping = ingest::LoadMapping(mapping_path);
    if (!mapping.ok()) throw ConfigError("INGEST_MAPPING: " + mapping.status().message());
    auto catalog = ServiceCatalog::Load(KnowledgeDir() + "/architecture/services.json");
    if (!catalog.ok()) throw ConfigError("KNOWLEDGE_DIR: " + catalog.status().message());

    HttpServer http(Metrics());
    ctx.http = &http;
    std::atomic<ingest::IngestService*> service{nullptr};
    ingest::RegisterRoutes(http, options, service);
    if (http.Start("0.0.0.0", port) < 0) throw ConfigError("HTTP_PORT: cannot listen on " + std::to_string(port));
    std::atomic<bool> connected{false};
    http.AddHealthCheck("startup", [&connected] {
      return connected.load() ? std::string() : std::string("connecting to dependencies");
    });
    auto deps = ConnectDependencies(ctx, /*redis=*/true, /*db=*/true);
    if (!deps.ok()) {
      http.Stop();
      return deps.status();
    }
    // Best effort: the first request then does not wait for topic discovery.
    if (Status s = deps->producer->Prepare(
            {topics::kAnomaliesDetected, topics::kRawMetrics, topics::kRawLogs, topics::kDeadLetters},
            std::chrono::seconds(5));
        !s.ok())
      log::Get("ingest")->warn("topics not prepared: {}", s.message());
    ingest::IngestService ingest(*deps->redis, *deps->db, *deps->producer, *catalog, std::move(mapping).value(),
                                 options);
    service = &ingest;
    connected = true;
    log::Get("ingest")->info("receiving on port {} ({} mapping rules{})", http.port(), mapping_path,
                             options.token.empty() ? "" : ", bearer token required");
    while (!ctx.stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    http.Stop();  // waits for the requests in flight
    service = nullptr;
    return Status::Ok();
  });
}
