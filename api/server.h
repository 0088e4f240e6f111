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
class MetricsRegistry;
}

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

struct ApiOptions {
  std::string token;       // API_TOKEN; empty: no authentication
  std::string static_dir;  // API_STATIC_DIR
  std::chrono::milliseconds keepalive{15000};
};

// Registers every route of sre-api on `server` (besides /healthz and /metrics, which HttpServer
// owns; /metrics is token-protected too when a token is set). `store` and `hub` must outlive it.
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
