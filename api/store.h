#pragma once
// The store of sre-api: incidents, timelines, emails, remediation actions and statistics from
// PostgreSQL (SQL only parameterised) and service series from Redis (the keys of
// shared/redis_keys.h). Its one write is a person's decision on a remediation action (Decide).
// Thread-safe: each call borrows a connection from a small pool, so HTTP worker threads never
// share one.
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/api_core.h"
#include "shared/postgres.h"
#include "shared/redis.h"
#include "shared/services.h"

namespace sre::api {

// Up to `max` lazily created clients of type T; Borrow() blocks while all are in use.
template <typename T>
class Pool {
 public:
  Pool(std::function<std::unique_ptr<T>()> make, size_t max) : make_(std::move(make)), max_(max) {}
  template <typename Fn>
  auto With(Fn&& fn) {
    std::unique_ptr<T> client;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return !idle_.empty() || created_ < max_; });
      if (!idle_.empty()) {
        client = std::move(idle_.back());
        idle_.pop_back();
      } else {
        ++created_;
      }
    }
    if (!client) client = make_();
    struct Return {
      Pool* pool;
      std::unique_ptr<T>* client;
      ~Return() {
        std::lock_guard<std::mutex> lock(pool->mu_);
        pool->idle_.push_back(std::move(*client));
        pool->cv_.notify_one();
      }
    } give_back{this, &client};
    return fn(*client);
  }

 private:
  std::function<std::unique_ptr<T>()> make_;
  size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<T>> idle_;
  size_t created_ = 0;
};

// The most incidents GET /api/incidents/{id} lists as linked to an origin (oldest first).
inline constexpr int kMaxLinkedIncidents = 200;

class ApiStore {
 public:
  ApiStore(std::string database_url, RedisOptions redis, ServiceCatalog catalog);

  // {"incidents": [...], "next_before": ...}; nullopt when before_id names no incident.
  Expected<std::optional<Json>> ListIncidents(const IncidentQuery& q);
  // The whole record with emails, remediation actions and its cascade (origin, and at most
  // kMaxLinkedIncidents linked incidents); nullopt when there is no such incident.
  Expected<std::optional<Json>> Incident(const std::string& id);
  // agent_events of the incident in event-time order, each with a readable "summary"; nullopt
  // when there is no such incident.
  Expected<std::optional<Json>> Timeline(const std::string& id);
  // The `limit` most recently recorded agent_events across incidents, newest first
  // (ShapeRecentEvents).
  Expected<Json> RecentEvents(const EventsQuery& q);
  // The incident's remediation actions in proposal order (ShapeActions); nullopt when there is no
  // such incident.
  Expected<std::optional<Json>> Actions(const std::string& id);
  // Approves or rejects an action AWAITING_APPROVAL of the incident (DecideAction, in one
  // transaction with its ACTION_* event, `who.by` recorded as decided_by). kNotFound also when
  // the incident does not exist; an expired approval is escalated and committed (kExpired).
  struct Decided {
    DecisionOutcome outcome = DecisionOutcome::kNotFound;
    Json action;  // ToJson(ActionRecord) after the decision, null when not found
  };
  Expected<Decided> Decide(const std::string& incident_id, const std::string& action_id,
                           bool approve, const DecisionRequest& who);
  // The postmortem Markdown; nullopt when there is no such incident; "" when none yet.
  Expected<std::optional<std::string>> Postmortem(const std::string& id);
  Expected<Json> Stats();
  // Per catalogue service: health, latest value and the last `points` samples of every metric.
  Expected<Json> Services(int points = 30);

 private:
  ServiceCatalog catalog_;
  Pool<Database> db_;
  Pool<RedisClient> redis_;
};

}  // namespace sre::api
