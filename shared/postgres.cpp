#include "shared/postgres.h"

#include "shared/log.h"
#include "shared/text.h"

namespace sre {
namespace {

constexpr long long kMigrationLockId = 0x5352450001LL;  // "SRE" 0001

// A libpq connection failure that no retry cures: the credentials or the database are wrong.
bool IsCredentialFailure(std::string_view what) {
  for (const char* needle : {"password authentication failed", "no pg_hba.conf entry", "role \"",
                             "authentication failed for user"})
    if (what.find(needle) != std::string_view::npos) return true;
  return what.find("database \"") != std::string_view::npos && what.find("does not exist") != std::string_view::npos;
}

}  // namespace

Status ClassifySqlState(const std::string& state, const std::string& what) {
  std::string msg = "postgres (" + state + "): " + TruncateUtf8(SanitizeUtf8(what), 1000);
  auto cls = state.substr(0, 2);
  // Worth a retry, the server or its resources are the problem: connection (08), transaction
  // rollback: serialization failure and deadlock (40), insufficient resources: disk full, out of
  // memory, too many connections (53), operator intervention: query cancelled, admin shutdown,
  // cannot connect now (57), system I/O errors (58), lock not available (55P03), and a read-only
  // transaction after a failover (25006).
  if (cls == "08" || cls == "40" || cls == "53" || cls == "57" || cls == "58" || state == "55P03" ||
      state == "25006")
    return Status::Transient(msg);
  // Lost credentials or grants, a missing database: the process cannot work (docs: "Only
  // process-level conditions stop a process").
  if (cls == "28" || state == "3D000" || state == "42501") return Status::Fatal(msg);
  // Data exceptions: the value (an input's) is unacceptable to the store; retrying cannot help.
  if (cls == "22") return Status::Invalid(msg);
  return Status::Internal(msg);
}

namespace {

Status FromSqlError(const pqxx::sql_error& e) { return ClassifySqlState(e.sqlstate(), e.what()); }

}  // namespace

Database::Database(std::string url) : url_(std::move(url)) {}
Database::~Database() = default;

Status Database::Connect() {
  if (conn_ && conn_->is_open()) return Status::Ok();
  conn_.reset();
  try {
    conn_ = std::make_unique<pqxx::connection>(url_);
    return Status::Ok();
  } catch (const std::exception& e) {
    conn_.reset();
    if (IsCredentialFailure(e.what())) return Status::Fatal(std::string("postgres connect: ") + e.what());
    return Status::Transient(std::string("postgres connect: ") + e.what());
  }
}

Status Database::Transact(const std::function<Status(pqxx::work&)>& fn) {
  if (auto s = Connect(); !s.ok()) return s;
  try {
    pqxx::work tx(*conn_);
    Status s = fn(tx);
    if (!s.ok()) return s;  // pqxx::work rolls back on destruction
    tx.commit();
    return Status::Ok();
  } catch (const pqxx::broken_connection& e) {
    conn_.reset();
    return Status::Transient(std::string("postgres connection lost: ") + e.what());
  } catch (const pqxx::in_doubt_error& e) {
    conn_.reset();
    return Status::Transient(std::string("postgres commit in doubt: ") + e.what());
  } catch (const pqxx::sql_error& e) {
    return FromSqlError(e);
  } catch (const DecodeError& e) {
    return Status::Invalid(e.what());
  } catch (const std::exception& e) {
    if (conn_ && !conn_->is_open()) {
      conn_.reset();
      return Status::Transient(std::string("postgres: ") + e.what());
    }
    return Status::Internal(std::string("handler exception: ") + e.what());
  } catch (...) {
    return Status::Internal("handler exception of unknown type");
  }
}

std::string Database::Ping() {
  Status s = Transact([](pqxx::work& tx) {
    tx.exec1("SELECT 1");
    return Status::Ok();
  });
  return s.ok() ? "" : s.message();
}

Expected<int> Database::Migrate() {
  int applied = 0;
  Status s = Transact([&](pqxx::work& tx) {
    tx.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLockId);
    tx.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
    for (const auto& [version, sql] : EmbeddedMigrations()) {
      auto r = tx.exec_params("SELECT 1 FROM schema_migrations WHERE version = $1", version);
      if (!r.empty()) continue;
      tx.exec(sql);
      tx.exec_params("INSERT INTO schema_migrations (version) VALUES ($1)", version);
      ++applied;
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (applied > 0) log::Get("postgres")->info("applied {} migration(s)", applied);
  return applied;
}

Expected<ProcessResult> ProcessOnce(
    Database& db, const std::string& consumer, const std::string& event_id,
    const std::function<Expected<std::vector<OutboundMessage>>(pqxx::work&)>& fn) {
  ProcessResult result;
  Status s = db.Transact([&](pqxx::work& tx) -> Status {
    result = ProcessResult{};
    // Claim the event first: a concurrent duplicate blocks on the primary key until this
    // transaction ends, then sees the row (and its outputs) instead of redoing the work.
    auto claimed = tx.exec_params(
        "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) "
        "ON CONFLICT (consumer, event_id) DO NOTHING",
        consumer, event_id);
    if (claimed.affected_rows() == 0) {
      auto row = tx.exec_params1(
          "SELECT COALESCE(outputs, '[]'::jsonb)::text FROM processed_events "
          "WHERE consumer = $1 AND event_id = $2",
          consumer, event_id);
      Json stored = Json::parse(row[0].as<std::string>());
      for (const auto& o : stored)
        result.outputs.push_back({o.at("topic").get<std::string>(), o.at("key").get<std::string>(),
                                  o.at("payload").get<std::string>()});
      result.fresh = false;
      return Status::Ok();
    }
    auto outputs = fn(tx);
    if (!outputs.ok()) return outputs.status();
    Json stored = Json::array();
    for (const auto& o : *outputs)
      stored.push_back({{"topic", o.topic}, {"key", o.key}, {"payload", o.payload}});
    tx.exec_params(
        "UPDATE processed_events SET outputs = $3::jsonb WHERE consumer = $1 AND event_id = $2",
        consumer, event_id, Dump(stored));
    result.outputs = std::move(outputs).value();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return result;
}

void RecordAgentEvent(pqxx::work& tx, const std::string& incident_id, const std::string& agent,
                      const std::string& event_type, const Json& payload, int64_t event_time_ms) {
  tx.exec_params(
      "INSERT INTO agent_events (incident_id, agent_name, event_type, payload, event_time) "
      "VALUES ($1::uuid, $2, $3, $4::jsonb, to_timestamp($5::double precision / 1000.0))",
      incident_id, agent, event_type, Dump(payload), event_time_ms);
}

}  // namespace sre
