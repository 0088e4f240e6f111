#pragma once
// What the RCA model reads: the system prompt, the first user prompt and the terminal tool's
// schema. Pure functions; thread-safe.
//
// Every piece of outside text (service and metric names from telemetry, correlation evidence,
// deployments, log lines, the alert's name, labels and expression) is inside <untrusted_…>
// delimiters; the system prompt says such text is data, never instructions.
#include <optional>
#include <string>
#include <vector>

#include "agents/investigation/rca.h"
#include "shared/messages.h"
#include "shared/services.h"

namespace sre::investigation {

// Which optional tools the model has.
struct PromptOptions {
  bool prometheus = false;  // query_prometheus
  bool loki = false;        // query_logs
  std::string loki_service_label = "service";
  std::optional<AlertInfo> alert;  // an alert-triggered incident
};

std::string SystemPrompt(const PromptOptions& options = {});

// The RCA loop's first user prompt. With an alert, its name, labels and expression (untrusted);
// with Prometheus, the note that query_prometheus can re-run that expression.
std::string RcaPrompt(const IncidentOpened& o, const std::string& trigger_metric,
                      const PromptOptions& options = {});

// The services a candidate may name: the catalogue's, then the incident's service, its affected
// services and `origin` when they are not in it — those only when they are plain names
// ([A-Za-z0-9][A-Za-z0-9._:/-]*, at most 128 bytes), so a name from telemetry cannot carry prose
// into the schema. Unique, in that order.
std::vector<std::string> ServiceChoices(const ServiceCatalog& catalog, const IncidentOpened& o,
                                        const std::string& origin);

// The terminal tool's schema: everything bounded; the category enum is the taxonomy, the service
// enum `services` (ServiceChoices).
Json SubmitRcaSchema(const std::vector<std::string>& services);

}  // namespace sre::investigation
