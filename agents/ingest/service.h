#pragma once
// sre-ingest's IO shell (ARCHITECTURE §4, ingest): HTTP in, the pipeline's topics out.
//   Alerts (Alertmanager webhook v4, Grafana unified alerting): each firing alert takes the
//     service's open-incident lock like the detector's raise does, writes the incident row and
//     publishes anomalies.detected (or attaches to the open incident); a resolved alert marks its
//     trigger resolved on the incident row, which the resolution monitor reads.
//   Telemetry (Prometheus remote write, OTLP/HTTP JSON): series and log records pass the mapping
//     (infra/ingest/mapping.json) and become raw.metrics / raw.logs; the rest is counted and dropped.
// Every answer is given after the broker acknowledged what the request produced: 2xx means it is in
// the pipeline, 5xx means nothing is known to be (senders retry 5xx), 4xx means it never will be.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "agents/ingest/alerts.h"
#include "agents/ingest/mapping.h"
#include "shared/config.h"
#include "shared/http_server.h"
#include "shared/kafka.h"
#include "shared/postgres.h"
#include "shared/redis.h"
#include "shared/services.h"

namespace sre::ingest {

struct IngestOptions {
  Secret token;                                          // INGEST_TOKEN
  size_t max_body_bytes = 8 << 20;                       // INGEST_MAX_BODY_BYTES
  std::vector<std::string> service_labels{"service", "job"};  // INGEST_SERVICE_LABELS
  size_t max_discovered_services = 1000;                 // INGEST_MAX_SERVICES
  int64_t dedup_ttl_s = 7 * 86400;
};

struct Reply {
  int status = 200;
  std::string body;  // JSON, or empty (204)
  std::vector<std::pair<std::string, std::string>> headers;
};

// The request as the handlers judge it.
struct Request {
  std::string path, authorization, content_type, content_encoding;
  std::string body;
  bool too_large = false;
};

class IngestService {
 public:
  // Borrowed: `redis` and `db` are used under one mutex (the HTTP server runs handlers on several
  // threads); the producer is thread-safe.
  IngestService(RedisClient& redis, Database& db, Producer& producer, const ServiceCatalog& catalog,
                IngestMapping mapping, IngestOptions options);
  ~IngestService();

  Reply Alerts(AlertSource source, const Request& r);
  Reply RemoteWrite(const Request& r);
  Reply OtlpLogs(const Request& r);
  Reply OtlpMetrics(const Request& r);

 private:
  struct AlertOutcome;
  std::optional<Reply> Screen(const Request& r, const char* want_type);
  Status OnFiring(const AlertAnomaly& aa, const Alert& alert, AlertSource source, std::string& outcome);
  Status OnResolved(const Alert& alert, const AlertNotification& n, std::string& outcome);
  // False when the service is new and the cap on discovered services is reached.
  bool KnowService(const std::string& service, const std::string& source, int64_t ts);
  Status PublishForwarded(const std::vector<OutboundMessage>& out);
  // Telemetry of one request: what goes to the broker, and what was dropped, by reason.
  struct Forwarding {
    std::vector<OutboundMessage> out;
    std::map<std::string, size_t> dropped;
  };
  // False (the reason counted) when the record's time or its (new) service is refused.
  bool Admit(Forwarding& f, const std::string& service, int64_t ts, const char* source);
  // Publishes, counts, and answers: 204 (remote write, `rejected_field` null) or OTLP's 200 with
  // a partialSuccess naming `rejected_field` when something was dropped.
  Reply Forward(const std::string& endpoint, const Forwarding& f, const char* rejected_field);
  Reply DeadLetter(const Request& r, const std::string& error);

  RedisClient& redis_;
  Database& db_;
  Producer& producer_;
  const ServiceCatalog& catalog_;
  std::unique_ptr<SeriesMapper> mapper_;
  IngestOptions options_;
  std::mutex store_mu_;                // redis_, db_, discovered_
  std::set<std::string> discovered_;   // services recorded in discovered_services by this process
};

// The POST routes on the executable's HTTP server (next to /healthz and /metrics). Requests are
// answered 503 until `service` is set (the stores and the broker connect after the server starts).
void RegisterRoutes(HttpServer& http, const IngestOptions& options, const std::atomic<IngestService*>& service);

}  // namespace sre::ingest
