#pragma once
// The enums of ARCHITECTURE §3 with their wire names. ParseEnum never guesses: an unknown name
// is std::nullopt and the caller reports it.
#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace sre {

template <typename E>
struct EnumNames;  // specialised below: kType and kList, in declaration order

// Enum values are written in wire spelling (UPPER_SNAKE) so the table stays readable.
enum class AnomalyType {
  LATENCY_SPIKE,
  ERROR_RATE_SPIKE,
  CPU_SATURATION,
  MEMORY_LEAK,
  DB_CONNECTION_EXHAUSTION,
  KAFKA_CONSUMER_LAG,
  DEPLOYMENT_FAILURE,
  DEPENDENCY_OUTAGE,
  TRAFFIC_ANOMALY,
  UNKNOWN
};
enum class Severity { CRITICAL, HIGH, MEDIUM, LOW };
enum class RootCauseCategory {
  DEPLOYMENT_REGRESSION,
  CONFIGURATION_ERROR,
  RESOURCE_LEAK,
  CPU_EXHAUSTION,
  DATABASE_BOTTLENECK,
  DEPENDENCY_FAILURE,
  TRAFFIC_SURGE,
  CONSUMER_STALL,
  APPLICATION_BUG,
  INFRASTRUCTURE_FAILURE,
  UNKNOWN
};
enum class LogLevel { DEBUG, INFO, WARN, ERROR, FATAL };
enum class ChangeType { CODE, CONFIG, INFRA };
enum class Priority { IMMEDIATE, WITHIN_15MIN, WITHIN_1HOUR };
enum class RiskLevel { LOW, MEDIUM, HIGH };
enum class Method { LLM, FALLBACK };
enum class Phase { START, END };
enum class IncidentStatus {
  DETECTING,
  CORRELATING,
  INVESTIGATING,
  RCA_COMPLETE,
  REMEDIATING,
  RESOLVED,
  CLOSED
};
// The remediation action vocabulary (issue 18; docs/architecture.md, Remediation actions). Wire
// names are lower_snake.
enum class RemediationAction {
  ROLLBACK,           // a deployment, to the previous version
  RESTART,            // the pods of a service
  SCALE_OUT,          // more replicas
  FAILOVER_DB,        // promote the database replica
  KILL_LONG_QUERIES,  // cancel the database's long-running queries
  PAUSE_CONSUMER,     // stop a Kafka consumer group
  RESET_CONSUMER,     // restart a stalled consumer (its group rejoins from the committed offsets)
  DISABLE_FLAG,       // switch a feature flag off
  REVERT_CONFIG,      // the previous configuration revision
  ESCALATE            // a person must act
};
// Where a remediation action stands (shared/remediation_actions.h has the moves).
enum class ActionStatus {
  AWAITING_APPROVAL,  // a person must approve or reject it (sre-api), before expires_at
  APPROVED,           // by a person or by the `auto` policy: the runner executes it next
  EXECUTING,          // handed to the executor; a crash here leaves it in doubt: escalated, never repeated
  EXECUTED,           // the executor answered success: verification watches the trigger metric
  VERIFIED,           // the trigger metric went back toward its baseline
  FAILED,             // execution or verification failed (undone where reversible, and escalated)
  DRY_RUN,            // recorded what would run; nothing ran
  BLOCKED,            // a guard refused it (the rule is the reason); escalated
  REJECTED,           // a person rejected it
  ESCALATED           // a person must act: the escalate action, an expired approval, an action in doubt
};
enum class NotificationType {
  INCIDENT_ALERT,
  RCA_COMPLETE,
  REMEDIATION_PLAN,
  INCIDENT_RESOLVED,
  POSTMORTEM
};

#define SRE_ENUM_NAMES(E, ...)                                 \
  template <>                                                  \
  struct EnumNames<E> {                                        \
    static constexpr std::string_view kType = #E;              \
    static constexpr std::string_view kList[] = {__VA_ARGS__}; \
  };

SRE_ENUM_NAMES(AnomalyType, "LATENCY_SPIKE", "ERROR_RATE_SPIKE", "CPU_SATURATION", "MEMORY_LEAK",
               "DB_CONNECTION_EXHAUSTION", "KAFKA_CONSUMER_LAG", "DEPLOYMENT_FAILURE",
               "DEPENDENCY_OUTAGE", "TRAFFIC_ANOMALY", "UNKNOWN")
SRE_ENUM_NAMES(Severity, "CRITICAL", "HIGH", "MEDIUM", "LOW")
SRE_ENUM_NAMES(RootCauseCategory, "DEPLOYMENT_REGRESSION", "CONFIGURATION_ERROR", "RESOURCE_LEAK",
               "CPU_EXHAUSTION", "DATABASE_BOTTLENECK", "DEPENDENCY_FAILURE", "TRAFFIC_SURGE",
               "CONSUMER_STALL", "APPLICATION_BUG", "INFRASTRUCTURE_FAILURE", "UNKNOWN")
SRE_ENUM_NAMES(LogLevel, "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
SRE_ENUM_NAMES(ChangeType, "CODE", "CONFIG", "INFRA")
SRE_ENUM_NAMES(Priority, "IMMEDIATE", "WITHIN_15MIN", "WITHIN_1HOUR")
SRE_ENUM_NAMES(RiskLevel, "LOW", "MEDIUM", "HIGH")
SRE_ENUM_NAMES(Method, "LLM", "FALLBACK")
SRE_ENUM_NAMES(Phase, "START", "END")
SRE_ENUM_NAMES(IncidentStatus, "DETECTING", "CORRELATING", "INVESTIGATING", "RCA_COMPLETE",
               "REMEDIATING", "RESOLVED", "CLOSED")
SRE_ENUM_NAMES(RemediationAction, "rollback", "restart", "scale_out", "failover_db", "kill_long_queries",
               "pause_consumer", "reset_consumer", "disable_flag", "revert_config", "escalate")
SRE_ENUM_NAMES(ActionStatus, "AWAITING_APPROVAL", "APPROVED", "EXECUTING", "EXECUTED", "VERIFIED", "FAILED",
               "DRY_RUN", "BLOCKED", "REJECTED", "ESCALATED")
SRE_ENUM_NAMES(NotificationType, "INCIDENT_ALERT", "RCA_COMPLETE", "REMEDIATION_PLAN",
               "INCIDENT_RESOLVED", "POSTMORTEM")
#undef SRE_ENUM_NAMES

template <typename E>
constexpr std::string_view ToString(E e) {
  return EnumNames<E>::kList[static_cast<size_t>(e)];
}

template <typename E>
constexpr size_t EnumCount() {
  return std::size(EnumNames<E>::kList);
}

template <typename E>
std::optional<E> ParseEnum(std::string_view s) {
  for (size_t i = 0; i < EnumCount<E>(); ++i)
    if (EnumNames<E>::kList[i] == s) return static_cast<E>(i);
  return std::nullopt;
}

// "A, B, C" — for error messages.
template <typename E>
std::string EnumChoices() {
  std::string out;
  for (auto n : EnumNames<E>::kList) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

// Incident states only move forward (ARCHITECTURE §2), in declaration order. The pure rule:
// AdvanceStatus (shared/incident.h) applies the same rule in SQL, built from kList's order.
inline bool StatusAdvances(IncidentStatus from, IncidentStatus to) {
  return static_cast<int>(to) > static_cast<int>(from);
}

}  // namespace sre
