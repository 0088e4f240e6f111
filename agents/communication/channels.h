#pragma once
// What the chat, paging and webhook channels send: one Notice per incident and lifecycle stage,
// rendered into each receiver's documented body. Pure: no IO, time passed in.
//   - Slack: Block Kit (incoming webhook body; chat.postMessage / chat.update bodies for a bot token)
//   - Microsoft Teams: a Workflows webhook message carrying an Adaptive Card (version 1.4)
//   - PagerDuty: Events API v2 (trigger / resolve with a dedup_key derived from the incident)
//   - generic webhook: the sre-pipeline notification body (docs/architecture.md), HMAC-SHA256 signed
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "shared/enums.h"
#include "shared/json_codec.h"

namespace sre::communication {

// One stage of one incident, as every channel shows it.
struct Notice {
  NotificationType stage = NotificationType::INCIDENT_ALERT;
  std::string incident_id;      // uuid
  std::string incident_number;  // "INC-8161D517"
  std::string service;
  std::string team, owner;  // from services.json; empty when the service is not in the catalogue
  Severity severity = Severity::LOW;
  std::string anomaly_type;  // AnomalyType name
  std::string title;         // one line (the email's subject)
  std::string summary;       // a few sentences: what happened at this stage (plain text, untrusted)
  // Ordered label → value pairs (plain text, untrusted): trigger metric, root cause, confidence,
  // plan steps, MTTR, ... whatever the stage has.
  std::vector<std::pair<std::string, std::string>> facts;
  std::string link;    // the incident's page on the dashboard (absolute URL)
  int64_t ts = 0;      // event time of the stage, ms since the epoch
  std::string status;  // the incident's lifecycle status now (OPEN ... CLOSED), for Slack's chat.update
};

// A stage's display name: "Incident alert", "Root cause identified", "Remediation plan",
// "Incident resolved", "Postmortem".
std::string StageLabel(NotificationType stage);

// ---- Slack (Block Kit) ----
// Incoming-webhook body: {"text": <fallback>, "blocks": [...]}: a header (stage + incident
// number), a section with severity / service / team fields, the summary, the facts, a context
// line with the event time, and a button-less link to the incident page. Every text is within
// Slack's limits (header 150 chars, section text 3000, at most 10 fields, at most 50 blocks) and
// the characters Slack's mrkdwn gives meaning to (& < >) are escaped.
Json SlackMessage(const Notice& n);
// The same for chat.postMessage with a bot token: adds "channel" and, when given, "thread_ts"
// (later stages reply in the first message's thread).
Json SlackPostMessage(const Notice& n, const std::string& channel, const std::optional<std::string>& thread_ts);
// chat.update of the incident's first message: "channel", "ts" and the first message's blocks with
// a status line saying where the incident is now (`now`: the latest stage's notice).
Json SlackUpdate(const Notice& first, const Notice& now, const std::string& channel, const std::string& ts);
// One message listing several incidents opened in one burst (INCIDENT_ALERT of each).
Json SlackGroupMessage(const std::vector<Notice>& notices);

// ---- Microsoft Teams (Workflows webhook, Adaptive Card 1.4) ----
// {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
//   "contentUrl": null, "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
//   "type": "AdaptiveCard", "version": "1.4", "body": [...], "actions": [Action.OpenUrl]}}]}
Json TeamsMessage(const Notice& n);
Json TeamsGroupMessage(const std::vector<Notice>& notices);

// ---- PagerDuty Events API v2 ----
// "sre-pipeline/<incident uuid>": the same for the trigger and the resolve of an incident.
std::string PagerDutyDedupKey(const std::string& incident_id);
// CRITICAL → "critical", HIGH → "error", MEDIUM → "warning", LOW → "info".
std::string PagerDutySeverity(Severity s);
// INCIDENT_ALERT → a "trigger" event: routing_key, event_action, dedup_key, payload {summary
// (≤ 1024 chars), source (the service), severity, timestamp (ISO 8601), component, group (team),
// class (anomaly type), custom_details (the facts)}, links [{href, text}], client, client_url.
// INCIDENT_RESOLVED → a "resolve" event (routing_key, event_action, dedup_key only).
// Other stages: nullopt (PagerDuty pages and resolves; the rest goes to the other channels).
std::optional<Json> PagerDutyEvent(const Notice& n, const std::string& routing_key, const std::string& dedup_key);
// A trigger for a burst: one page listing every incident (custom_details.incidents), with
// `dedup_key` (the first incident's key).
Json PagerDutyGroupTrigger(const std::vector<Notice>& notices, const std::string& routing_key,
                           const std::string& dedup_key);

// ---- Generic webhook ----
// {"version": 1, "delivery_id", "stage", "incident": {id, number, service, team, owner, severity,
//  anomaly_type, status, link}, "title", "summary", "facts": [{"label", "value"}], "ts" (ms),
//  "time" (ISO 8601)}. A burst: {"version": 1, "delivery_id", "stage": "INCIDENT_ALERT",
//  "group": true, "incidents": [<the same incident object + title> ...], "ts", "time"}.
Json WebhookBody(const Notice& n, const std::string& delivery_id);
Json WebhookGroupBody(const std::vector<Notice>& notices, const std::string& delivery_id);
// Lower-case hex HMAC-SHA256 of `message` under `secret`.
std::string HmacSha256Hex(const std::string& secret, const std::string& message);
// The X-SRE-Signature header's value: "t=<unix seconds>,v1=<HmacSha256Hex(secret, "<t>.<body>")>"
// (the timestamp bound in, so a captured request cannot be replayed later unnoticed).
std::string WebhookSignature(const std::string& secret, int64_t unix_seconds, const std::string& body);

}  // namespace sre::communication
