#pragma once
// The pure core of sre-api: request validation, JSON shaping, statistics, service health, SSE
// framing and the replay ring of the live stream. No sockets, SQL, Redis or clock here; the IO
// shell (server.cpp, store.cpp) calls these and unit tests cover them (api_core_test.cpp).
#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "shared/json_codec.h"

namespace sre::api {

// A 400/404 answer: {"error": message}, plus "field" when `field` is set (the body member at
// fault). `message` is valid UTF-8 and short (a value from the request or a payload is quoted at
// most 64 bytes long, NUL and ill-formed bytes as U+FFFD).
struct ApiError {
  int status = 400;
  std::string message;
  std::string field;
};

// The functions that take request bytes (CheckQueryParameters, ParseIncidentQuery, ResumePoint,
// StaticRelativePath, RouteTemplate) and Kafka bytes (MakeStreamEvent) are pure and never throw,
// whatever the input (short of std::bad_alloc): fuzz targets call them directly.

// A 400 naming the first parameter whose name or value contains NUL or is not valid UTF-8
// (PostgreSQL rejects NUL in text parameters; the JSON writer rejects ill-formed UTF-8); nullopt
// when all are clean. Never throws.
std::optional<ApiError> CheckQueryParameters(const std::multimap<std::string, std::string>& params);

// GET /api/incidents parameters, validated. Empty strings mean "no filter".
struct IncidentQuery {
  std::string status;    // one of the incident statuses, or "OPEN" (neither RESOLVED nor CLOSED)
  std::string severity;  // CRITICAL, HIGH, MEDIUM, LOW
  std::string service;   // [a-z0-9-], at most 128 characters
  int limit = 50;        // 1..200
  // Pagination: rows strictly older (detection_time, id) than the incident `before_id`, or
  // detected before `before_ms` (Unix ms). At most one of them is set.
  std::string before_id;
  int64_t before_ms = 0;
  // group=cascade: the page is reordered by GroupCascades (linked incidents under their origin).
  bool group_cascades = false;
};

inline constexpr int kDefaultLimit = 50;
inline constexpr int kMaxLimit = 200;

// Parses the query parameters of GET /api/incidents (case-insensitive enum values, upper-cased).
// Unknown parameters are an error so a typo is not silently ignored; so is anything
// CheckQueryParameters rejects. Never throws.
std::variant<IncidentQuery, ApiError> ParseIncidentQuery(
    const std::multimap<std::string, std::string>& params);

// A canonical lower-case UUID string (8-4-4-4-12 hex digits).
bool IsUuid(const std::string& s);

// ---- remediation actions: a person's approval or rejection (issue 18) ----

// The headers a POST is judged by (httplib has read its body, at most kMaxPayloadBytes).
struct PostHeaders {
  std::string origin, host, authorization, content_type;
};

// True when `origin` (an Origin header: "scheme://host[:port]") names the same host and port as
// `host` (a Host header: "host[:port]", the port defaulting to the origin scheme's). An empty
// origin (curl, scripts) passes; "null" and anything unparsable do not. The same rule as the
// simulator's POST routes (simulator/api.h SameOrigin). Never throws.
bool SameOrigin(const std::string& origin, const std::string& host);

// Judges a POST of the API before its body is parsed; the first that applies:
//   403 an Origin whose host:port is not the Host's (a browser posting from another site);
//   401 a token is set and "Authorization: Bearer <token>" is missing or wrong: a mutating
//       request must carry the header (the access_token parameter, which EventSource needs and
//       which ends up in logs and browser history, is not enough) (WWW-Authenticate: Bearer);
//   415 a non-empty body (`body_bytes`) whose Content-Type is not application/json (parameters
//       allowed): an HTML form cannot send one.
// nullopt: go on. Never throws.
std::optional<ApiError> ScreenPost(const PostHeaders& h, size_t body_bytes,
                                   const std::string& token);

// The longest `by` (characters) and `note` accepted by a decision.
inline constexpr size_t kMaxDecidedByChars = 100;
inline constexpr size_t kMaxDecisionNoteChars = 500;

// The body of POST /api/incidents/{id}/actions/{action_id}/approve|reject: {"by": who (required),
// "note": why (optional)}. Both trimmed; `by` 1..kMaxDecidedByChars printable characters, `note`
// at most kMaxDecisionNoteChars printable characters (no control characters, valid UTF-8). An
// empty body is {} (so a 400 naming "by"). Unknown members are an error naming them. Never
// throws.
struct DecisionRequest {
  std::string by, note;
};
std::variant<DecisionRequest, ApiError> ParseDecisionBody(const std::string& body);

// What DecideAction (shared/remediation_actions.h) came to, as the answer of the route.
enum class DecisionOutcome { kDecided, kNotFound, kConflict, kExpired };
struct DecisionAnswer {
  int status = 200;
  Json body;
};
// 200 the action (ShapeAction); 404 {"error"}; 409 {"error": "action is <STATUS>", "status",
// "action"} (a replayed decision changes nothing); 410 {"error": "approval expired; escalated",
// "status": "ESCALATED", "action"}. `action`: the action after the decision (null when none).
DecisionAnswer AnswerDecision(DecisionOutcome outcome, const Json& action,
                              const std::string& incident_id, const std::string& action_id);

// One remediation_actions row (ToJson(ActionRecord)) as the API shows it: unchanged, plus
// "summary" ("rollback on user-service via simulator") and "awaiting_approval". Never throws.
Json ShapeAction(Json action);
// GET /api/incidents/{id}/actions: {"incident_id", "actions": [ShapeAction...]}.
Json ShapeActions(const std::string& incident_id, Json actions);

// The list answer: {"incidents": [...], "next_before": id or null}. `rows` holds limit + 1 rows
// at most (the extra one tells whether another page exists), newest first; each row gets
// "incident_number", and "related_incident_number" when it has a related_incident_id.
// `next_before` is the oldest row of the page whatever `group_cascades` does to the order; with
// `group_cascades` the page goes through GroupCascades.
Json ShapeIncidentList(Json rows, int limit, bool group_cascades = false);

// Groups the cascades of one page of incidents (newest first, as listed): an incident whose
// related_incident_id names another incident of the page follows it, directly below the
// origin, and gets "cascade_depth" 1 (2 for an incident linked to a linked one, and so on);
// every other row gets 0. A group takes the place of its newest member; within a group the
// origin comes first, then its linked incidents newest first, each followed by its own. An
// incident whose origin is not on the page keeps its place (depth 0; its
// related_incident_number still says where it belongs). Cycles and odd rows (no id, not an
// object) never lose or duplicate a row. Never throws.
Json GroupCascades(Json incidents);

// One incident record (row_to_json of the row) with its emails: adds incident_number and
// *_ms fields, and groups remediation_plan.action_steps by priority as "plan_by_priority".
// Cascades: `related` is the origin's row ({id, service, status, severity, ...}, null when none
// or unknown) and `linked` the rows of the incidents whose related_incident_id is this one; the
// answer gets "related_incident_number", "related_incident" (the origin with its
// incident_number, or null) and "linked_incidents" (each with its incident_number).
// "pipeline_delay_seconds": PipelineDelaySeconds of detection_time_ms and created_at_ms (null
// when either is missing or the event time is ahead of the wall clock).
// "actions": its remediation actions in proposal order (each through ShapeAction).
Json ShapeIncidentDetail(Json incident, Json emails, Json related = nullptr,
                         Json linked = Json::array(), Json actions = Json::array());

// Wall-clock seconds from the triggering sample's timestamp (`detection_ms`, event time: the
// telemetry's clock) to the incident row being written (`recorded_ms`, created_at: the
// database's wall clock). nullopt when the event time is ahead of the wall clock (accelerated
// simulator, replayed data with future timestamps, clock skew): no honest delay exists then.
// Only meaningful when the telemetry's timestamps are wall-clock times.
std::optional<double> PipelineDelaySeconds(int64_t detection_ms, int64_t recorded_ms);

// One incident as GET /api/stats needs it.
struct StatsRow {
  std::string status, anomaly_type, severity;
  std::optional<double> mttr_seconds;
  int64_t detection_ms = 0;  // detection_time: event time of the triggering sample (Unix ms)
  int64_t recorded_ms = 0;   // created_at: wall clock when the row was written (Unix ms)
};

// The incidents-over-time chart, by detection time (event time), ending at max(now_ms, newest
// detection): 24 hourly buckets when every incident lies in them (also with no incidents), else 48
// hourly buckets when every incident lies in those, else the last 7 UTC days. Empty buckets are
// included. {"bucket": "hour"|"day", "bucket_ms", "from_ms", "to_ms", "clock": "event",
// "buckets": [{"start_ms", "count"}] oldest first, "earlier": incidents before from_ms}.
Json IncidentActivity(const std::vector<int64_t>& detection_ms, int64_t now_ms);

// {"total", "open", "by_status", "by_type", "by_severity",
//  "mttr_seconds": {"mean", "p90", "count"} (event time),
//  "pipeline_delay_seconds": {"mean", "p90", "count", "skipped_event_time_ahead"} (over the rows
//  with a PipelineDelaySeconds; the others are counted as skipped, never negative),
//  "detection_delay_seconds": the same object (the field's old name, kept for compatibility),
//  "per_day": [{"day_ms", "count", "mttr_mean"}] (UTC days of detection time, days with
//  incidents only), "incident_activity": IncidentActivity(detection times, now_ms)}.
// `now_ms` is the wall clock of the database.
Json ComputeStats(const std::vector<StatsRow>& rows, int64_t now_ms);

// ---- agent events (timeline and recent events) ----

// A one-line, human-readable account of an agent_events row from its event_type and payload,
// e.g. "INCIDENT_ALERT email sent to 3 recipients — <subject>", or for the ACTION_* events of the
// remediation actions "rollback on user-service via simulator: executed — HTTP 200: matched";
// "" for an unknown type whose payload says nothing readable. At most 400 bytes, valid UTF-8. Never
// throws.
std::string DescribeAgentEvent(const std::string& event_type, const Json& payload);

// The lifecycle topic whose message announces an agent event of this type (ANOMALY_DETECTED:
// anomalies.detected, CORRELATION_COMPLETE: incidents.opened, RCA_COMPLETED: rca.completed,
// PLAN_CREATED: remediation.plans, INCIDENT_RESOLVED: incidents.resolved,
// POSTMORTEM_GENERATED: postmortems.generated); "" for the others. The inverse of
// AgentEventTypeOf.
std::string TopicOfAgentEvent(const std::string& event_type);
// The agent_events type recorded with a lifecycle topic's message; "" for any other topic.
std::string AgentEventTypeOf(const std::string& topic);

// GET /api/incidents/{id}/timeline: {"incident_id", "events"}; every event gets "summary"
// (DescribeAgentEvent).
Json ShapeTimeline(const std::string& incident_id, Json events);

// GET /api/events parameters: limit 1..kMaxEventsLimit (kDefaultEventsLimit). Unknown or repeated
// parameters are an error. Never throws.
struct EventsQuery {
  int limit = 20;
};
inline constexpr int kDefaultEventsLimit = 20;
inline constexpr int kMaxEventsLimit = 100;
std::variant<EventsQuery, ApiError> ParseEventsQuery(
    const std::multimap<std::string, std::string>& params);
// GET /api/events: {"events": [...]} from agent_events rows ({id, incident_id, agent,
// event_type, payload, event_time_ms, created_at_ms}, most recently recorded first); each event
// gets "incident_number", "summary", "topic" (TopicOfAgentEvent, null when none) and loses its
// payload.
Json ShapeRecentEvents(Json rows);

// Health of a service tile: "incident" when an incident is open on it, "degraded" when its latest
// p99 latency or error rate exceeds its SLA, "ok" with data, "unknown" without.
std::string ServiceHealth(bool open_incident, const std::map<std::string, double>& latest,
                          double sla_latency_p99_ms, double sla_error_rate_pct);

// ---- live stream ----

// The lifecycle topics the stream carries, in pipeline order.
const std::vector<std::string>& LifecycleTopics();

// One lifecycle event as pushed on /api/stream.
struct StreamEvent {
  uint64_t id = 0;   // assigned by EventRing::Push, strictly increasing
  std::string type;  // the topic, e.g. "incidents.opened"
  // JSON: {"id","topic","incident_id","incident_number","event_id","timestamp","summary",
  // "event_type" (AgentEventTypeOf the topic), "text" (a one-line account)}
  std::string data;
};

// A lifecycle message as the stream carries it.
struct LifecycleEvent {
  std::string event_id;  // the envelope's event_id, to drop redeliveries
  StreamEvent event;     // id 0 until EventRing::Push
};

// Builds the stream event for a message from `topic`. An error when the payload is not a valid
// payload of that topic by the agents' own decoder (shared/messages.h: every field, the event-time
// window, nesting, text cleaned), or the topic is not a lifecycle topic; so the stream shows what
// the pipeline accepts. The incident id is lower-cased (the REST endpoints take lower-case ids).
// Never throws.
std::variant<LifecycleEvent, ApiError> MakeStreamEvent(const std::string& topic,
                                                       const std::string& payload);

// A bounded ring of the most recent events, for replay to reconnecting clients. Thread-safe.
// Ids start at `first_id` (the server passes its start time in ms * 1000 so that ids keep
// increasing across restarts of sre-api and a client's Last-Event-ID from an earlier process is
// older than every new id).
class EventRing {
 public:
  explicit EventRing(size_t capacity, uint64_t first_id = 1);
  // Assigns the next id, stores the event (dropping the oldest beyond capacity), returns the id.
  uint64_t Push(StreamEvent event);
  struct Replay {
    std::vector<StreamEvent> events;  // every stored event with id > since, oldest first
    bool gap = false;                 // events after `since` were dropped: the client must resync
    uint64_t last_id = 0;             // id of the newest event known (0: none yet)
  };
  // Events newer than `since` (0: none; a client connecting afresh gets only new events).
  Replay Since(uint64_t since) const;
  uint64_t last_id() const;
  size_t size() const;
  size_t capacity() const { return capacity_; }

 private:
  mutable std::mutex mu_;
  size_t capacity_;
  uint64_t next_id_;
  std::deque<StreamEvent> events_;
};

// Where a client resumes: the Last-Event-ID header wins over ?since=; nullopt when neither is
// given, ApiError when a value is not a non-negative integer of at most 19 digits. Never throws.
std::variant<std::optional<uint64_t>, ApiError> ResumePoint(const std::string& last_event_id_header,
                                                            const std::string& since_param);

// One SSE frame: "id: <id>\nevent: <type>\ndata: <line>\n...\n\n" (data split on newlines).
std::string SseFrame(const StreamEvent& e);
// A comment frame (keep-alive): ": <text>\n\n".
std::string SseComment(const std::string& text);

// ---- HTTP helpers ----

// True when the request may proceed: no token configured, or "Authorization: Bearer <token>"
// matches, or (for EventSource, which cannot set headers) access_token equals the token.
// Compares in constant time.
bool Authorized(const std::string& token, const std::string& authorization_header,
                const std::string& access_token_param);

// Maps a request path under the static root to a relative file path ("/" is "index.html");
// nullopt for anything that could escape the root ("..", backslashes, NUL, absolute). Never throws.
std::optional<std::string> StaticRelativePath(const std::string& request_path);
// Content type by extension (html, css, js, svg, png, json, ico; else application/octet-stream).
std::string ContentTypeFor(const std::string& path);

// The `route` label of sre_api_requests_total for a request path: always one of a fixed set, so
// that no request can create a new time series. "/api/incidents", "/api/incidents/{id}",
// "/api/incidents/{id}/timeline", "/api/incidents/{id}/postmortem",
// "/api/incidents/{id}/actions", "/api/incidents/{id}/actions/{action_id}/{decision}" (approve
// and reject), "/api/stats",
// "/api/services", "/api/stream", "/api/events"; "/api/unknown" for any other path under /api/;
// "/healthz", "/metrics"; "static" for everything else (the dashboard's files). {id} is any
// non-empty segment, as the routes match it (a bad id is a 400 of that route). Never throws.
std::string RouteTemplate(const std::string& path);

// ---- stream admission ----

// Counts the open /api/stream connections against a cap: each holds an HTTP worker thread for as
// long as it is open. Thread-safe; must outlive the slots it hands out.
class StreamSlots {
 public:
  // One open stream, from TryAcquire() until Release() or destruction. Move-only.
  class Slot {
   public:
    Slot(Slot&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    Slot& operator=(Slot&&) = delete;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { Release(); }
    // Gives the slot back (idempotent).
    void Release();

   private:
    friend class StreamSlots;
    explicit Slot(StreamSlots* owner) : owner_(owner) {}
    StreamSlots* owner_;
  };

  explicit StreamSlots(size_t max) : max_(max) {}
  // A slot, or nullopt when `max` are taken.
  std::optional<Slot> TryAcquire();
  size_t in_use() const { return used_.load(); }
  size_t max() const { return max_; }

 private:
  const size_t max_;
  std::atomic<size_t> used_{0};
};

}  // namespace sre::api
