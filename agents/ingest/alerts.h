#pragma once
// Alert notifications from Alertmanager (webhook version 4) and Grafana unified alerting, and the
// anomaly each firing alert becomes (ARCHITECTURE §4, ingest). Pure: no IO.
//
// A firing alert enters the pipeline exactly where the detector's anomalies do, so correlation,
// one incident per service and everything downstream work unchanged. Its identity is
// (fingerprint, startsAt): Alertmanager re-sends a group every group_interval, and both members
// of an HA pair send the same alert during a partition.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/enums.h"
#include "shared/incident.h"
#include "shared/json_codec.h"
#include "shared/messages.h"
#include "shared/status.h"

namespace sre::ingest {

enum class AlertSource { kAlertmanager, kGrafana };
const char* ToString(AlertSource s);

struct Alert {
  std::string status;  // "firing" or "resolved"
  Labels labels, annotations;
  int64_t starts_at_ms = 0;
  std::optional<int64_t> ends_at_ms;  // absent for Go's zero time (a firing alert)
  std::string generator_url, fingerprint;
  // Grafana only.
  std::map<std::string, double> values;
  std::string dashboard_url, panel_url, silence_url;
};

struct AlertNotification {
  AlertSource source = AlertSource::kAlertmanager;
  std::string version, status, receiver, group_key, external_url;
  Labels group_labels, common_labels, common_annotations;
  int64_t truncated_alerts = 0;
  std::vector<Alert> alerts;
  // Grafana only.
  int64_t org_id = 0;
  std::string title, state, message;
};

// Validates the documented shape; unknown fields are ignored. An error names the field
// ("alerts[2].startsAt: not an RFC 3339 time"). At most `max_alerts` alerts.
Expected<AlertNotification> ParseAlertNotification(const Json& body, AlertSource source, size_t max_alerts = 1000);

// RFC 3339 ("2026-12-05T01:02:03.456789Z", "…+01:00") to Unix milliseconds. Go's zero time
// ("0001-01-01T00:00:00Z") parses to nullopt-worthy negative values; callers check.
Expected<int64_t> ParseRfc3339Ms(std::string_view text);

// The PromQL of a Prometheus generatorURL (".../graph?g0.expr=rate%28x%5B5m%5D%29&g0.tab=1"):
// the g0.expr query parameter, URL-decoded. Empty when there is none.
std::string ExprFromGeneratorUrl(std::string_view url);

// The service an alert is about: the first of `service_labels` present and non-empty in its
// labels, else in the notification's common labels. Empty when none.
std::string AlertService(const Alert& alert, const AlertNotification& n, const std::vector<std::string>& service_labels);

// labels.severity → Severity: critical/page/emergency/p1/sev1 → CRITICAL, high/error/major/p2/sev2
// → HIGH, warning/warn/medium/p3/sev3 → MEDIUM, info/low/minor/none/p4/p5 → LOW; absent or other
// → MEDIUM.
Severity AlertSeverity(const Labels& labels);

// The anomaly type from an explicit `anomaly_type` label when it names one, else from words in
// the alert's name, then its expression (latency, error, cpu, memory, connections, lag, deploy,
// down/unreachable, traffic); UNKNOWN when nothing matches.
AnomalyType AlertAnomalyType(const Alert& alert, std::string_view expr);

// What a firing alert becomes.
struct AlertAnomaly {
  std::string service;
  std::string trigger;           // "alert:<alertname>", the incidents.baselines key
  std::string dedup_key;         // "<fingerprint>/<startsAt ms>"
  std::string candidate_id;      // the incident id if this alert opens one (name-based UUID)
  std::string expr;              // the alert's PromQL, may be empty
  AnomalyDetected anomaly;       // incident_id = candidate_id; event_id from dedup_key
  AlertBaseline baseline;        // the incidents.baselines entry (shared/incident.h)
};

// The fingerprint of an alert, or a stable one from its sorted labels when the sender sent none.
std::string AlertFingerprint(const Alert& alert);

Expected<AlertAnomaly> ToAnomaly(const Alert& alert, const AlertNotification& n,
                                 const std::vector<std::string>& service_labels);

}  // namespace sre::ingest
