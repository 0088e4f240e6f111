#pragma once
// The IO shell of sre-api: routes on the shared HttpServer's httplib::Server (REST, the SSE live
// stream, the dashboard's static files), the bearer-token check, and the consumer handler that
// feeds the stream from the lifecycle topics.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "api/api_core.h"
#include "api/store.h"
#include "shared/kafka.h"

namespace httplib {
class Server;
}

namespace sre {
class Config;
class MetricsRegistry;
}  // namespace sre

namespace sre::api {

// How many lifecycle events /api/stream keeps for replay: a client that reconnects with a
// Last-Event-ID at most this many events old misses nothing; older ones get a `resync` event.
inline constexpr size_t kStreamRingCapacity = 4096;

// The ring plus a wake-up for the stream connections waiting on it. Thread-safe.
class EventHub {
 public:
  explicit EventHub(uint64_t first_id) : ring_(kStreamRingCapacity, first_id) {}
  uint64_t Publish(StreamEvent e);
  // Waits until an event newer than `after` exists, `timeout` passes or Shutdown(); true if newer.
  bool WaitNewer(uint64_t after, std::chrono::milliseconds timeout);
  void Shutdown();
  bool shut_down() const { return shutdown_.load(); }
  const EventRing& ring() const { return ring_; }

 private:
  EventRing ring_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> shutdown_{false};
};

// Consumes the lifecycle topics into the hub (group sre-api). Malformed payloads are Invalid
// (dead-lettered by the runner). Its only effect is the in-memory ring; a redelivered event_id
// (among the last kStreamRingCapacity seen) is dropped, so a redelivery is not streamed twice.
// Thread-safe.
class StreamHandler : public MessageHandler {
 public:
  explicit StreamHandler(EventHub& hub) : hub_(hub) {}
  Status Handle(const InboundMessage& message) override;

 private:
  EventHub& hub_;
  std::mutex mu_;
  std::deque<std::string> recent_ids_;
};

inline constexpr int kDefaultMaxStreams = 16;
inline constexpr int kMaxMaxStreams = 1000;
// HTTP workers beyond the stream cap: however many streams are open, these serve REST, the
// dashboard's files, /healthz and /metrics.
inline constexpr size_t kReservedWorkers = 32;
// httplib holds a worker for an idle keep-alive connection until the client sends its next request
// or this many seconds pass; kept short so idle browsers cannot starve the reserved workers.
inline constexpr int kKeepAliveTimeoutS = 2;
// Requests per keep-alive connection before the server closes it: a client sending without pause
// gives its worker up to queued connections this often.
inline constexpr size_t kKeepAliveMaxCount = 5;
// Largest request body accepted (413 beyond); the only bodies the API reads are the small JSON
// decisions on remediation actions.
inline constexpr size_t kMaxPayloadBytes = 64 * 1024;
// Retry-After (seconds) of the 503 answering a stream request beyond the cap.
inline constexpr int kStreamRetryAfterS = 5;

struct ApiOptions {
  std::string token;       // API_TOKEN; empty: no authentication
  std::string static_dir;  // API_STATIC_DIR
  std::chrono::milliseconds keepalive{15000};
  // API_MAX_STREAMS: open /api/stream connections at most; further ones get 503 + Retry-After.
  size_t max_streams = kDefaultMaxStreams;
};

// API_TOKEN and API_MAX_STREAMS (1..kMaxMaxStreams) from `config`, whose Validate() reports a bad
// value; static_dir from StaticDir().
ApiOptions ReadApiOptions(Config& config);

// Registers every route of sre-api on `server` (besides /healthz and /metrics, which HttpServer
// owns; /metrics is token-protected too when a token is set), among them the one write:
// POST /api/incidents/{id}/actions/{action_id}/approve|reject (ScreenPost, ParseDecisionBody,
// ApiStore::Decide, AnswerDecision) and sizes its worker pool
// (max_streams + kReservedWorkers), keep-alive and payload limits; call before the server starts.
// `store` and `hub` must outlive it.
void RegisterRoutes(httplib::Server& server, ApiStore& store, EventHub& hub,
                    const ApiOptions& options);

// Sets sre_api_mttr_seconds{stat="mean"|"p90"} and sre_api_incidents{status} (plus status="open")
// from a GET /api/stats answer, so Prometheus and Grafana can chart MTTR and incident counts.
void PublishStatsGauges(const Json& stats, MetricsRegistry& registry);

// Refreshes those gauges from the store every `every` on a thread of its own, until destroyed.
class StatsRefresher {
 public:
  StatsRefresher(ApiStore& store, std::chrono::milliseconds every);
  ~StatsRefresher();
  StatsRefresher(const StatsRefresher&) = delete;
  StatsRefresher& operator=(const StatsRefresher&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// API_STATIC_DIR if set, else ./api/static when it exists, else the source tree's api/static.
std::string StaticDir();

}  // namespace sre::api
