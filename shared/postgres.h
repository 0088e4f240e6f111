#pragma once
// PostgreSQL through libpqxx.
//   - Database holds one connection (opened lazily, reopened after a failure). Not thread-safe:
//     one Database per thread.
//   - Transact() runs a function in one transaction and maps failures to Status (ClassifySqlState):
//     connection loss, server resources, cancels, read-only after failover are Transient (retry);
//     data exceptions Invalid; lost credentials Fatal; other SQL errors and exceptions Internal.
//   - Migrate() applies infra/postgres/migrations/*.sql (embedded at build time) in order, once
//     each, under an advisory lock, so several executables may start at the same moment.
//   - ProcessOnce() is the idempotency helper of ARCHITECTURE §2.2.
#include <functional>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "shared/json_codec.h"
#include "shared/kafka.h"
#include "shared/status.h"

namespace sre {

class Database {
 public:
  explicit Database(std::string url);
  ~Database();

  // Runs `fn` in a transaction and commits. Exceptions from `fn` or libpqxx become a Status;
  // fn may also return a non-Ok Status to roll back.
  Status Transact(const std::function<Status(pqxx::work&)>& fn);
  // Empty when `SELECT 1` answers, else the problem.
  std::string Ping();
  // Applies pending migrations; returns how many were applied.
  Expected<int> Migrate();

 private:
  Status Connect();
  std::string url_;
  std::unique_ptr<pqxx::connection> conn_;
};

// The Status for an SQL error with SQLSTATE `state` (see Transact). Exposed for tests.
Status ClassifySqlState(const std::string& state, const std::string& what);

// The migrations compiled into the binary, as (version, sql), sorted by version.
const std::vector<std::pair<std::string, std::string>>& EmbeddedMigrations();

// Outcome of ProcessOnce: the outputs to publish, and whether they were computed now (false:
// this event was processed before and these are the stored outputs, to re-publish as they are).
struct ProcessResult {
  std::vector<OutboundMessage> outputs;
  bool fresh = true;
};

// Runs `fn` for (consumer, event_id) at most once. In one transaction it records the event in
// processed_events, runs fn (its writes), and stores the outputs fn returns. If the event was
// already processed, fn is not called and the stored outputs are returned. Publish the outputs
// after this returns, then commit the offset: a crash in between re-publishes the same outputs.
Expected<ProcessResult> ProcessOnce(
    Database& db, const std::string& consumer, const std::string& event_id,
    const std::function<Expected<std::vector<OutboundMessage>>(pqxx::work&)>& fn);

// A lifecycle message about an incident without a row: invalid input, dead-lettered. Every agent
// commits the row (or reads it) before it publishes about an incident, so a real message always
// finds it; waiting for a row that never comes would hold its partition forever.
inline Status UnknownIncident(const std::string& incident_id) {
  return Status::Invalid("unknown incident " + incident_id + ": no such row");
}

// One row of the audit trail (`agent_events`). `event_time_ms` is event time (Unix ms).
void RecordAgentEvent(pqxx::work& tx, const std::string& incident_id, const std::string& agent,
                      const std::string& event_type, const Json& payload, int64_t event_time_ms);

}  // namespace sre
