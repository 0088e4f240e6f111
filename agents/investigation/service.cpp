#include "agents/investigation/service.h"

#include <algorithm>
#include <cctype>

#include "agents/investigation/prompt.h"
#include "agents/investigation/ranking.h"
#include "agents/investigation/tools.h"
#include "knowledge/knowledge_base.h"
#include "shared/ids.h"
#include "shared/incident.h"
#include "shared/llm/text.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/redis_keys.h"

namespace sre::investigation {
namespace {

constexpr const char* kAgent = "investigation";
constexpr size_t kMaxErrorLines = 120;

std::string AnomalyWords(AnomalyType t) {
  std::string s(ToString(t));
  for (auto& c : s) c = c == '_' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<SimilarIncident> ToSimilar(const std::vector<knowledge::Hit>& hits) {
  std::vector<SimilarIncident> out;
  for (const auto& h : hits) {
    SimilarIncident s;
    s.incident_id = h.metadata.value("incident_id", h.document_id);
    s.title = llm::Truncate(h.title, 300);
    if (h.root_cause_category) s.root_cause_category = ParseEnum<RootCauseCategory>(*h.root_cause_category);
    s.score = h.score;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

InvestigationService::InvestigationService(RedisClient& redis, Database& db, Producer& producer,
                                           const ServiceCatalog& catalog, llm::Client& llm, TelemetryBackends telemetry)
    : redis_(redis), db_(db), producer_(producer), catalog_(catalog), llm_(llm), telemetry_(std::move(telemetry)) {}

Status InvestigationService::Handle(const InboundMessage& m) {
  if (m.topic != topics::kIncidentsOpened) return Status::Invalid("investigation does not consume topic " + m.topic);
  auto o = Decode<IncidentOpened>(m.payload);
  return o.ok() ? OnOpened(*o) : o.status();
}

Status InvestigationService::OnOpened(const IncidentOpened& o) {
  log::LogScope scope("incident_id", o.incident_id);
  const std::string event_id = UuidFromName("rca/" + o.incident_id);
  auto processed = ProcessOnce(db_, "sre-investigation", o.event_id, [&](pqxx::work& tx) -> Expected<std::vector<OutboundMessage>> {
    auto incident = LoadIncident(tx, o.incident_id);
    if (!incident.ok()) return incident.status();
    RcaEvidence ev;
    ev.opened = o;
    ev.trigger_metric = incident->trigger_metric;
    ev.alert = ParseAlertInfo(ev.trigger_metric, incident->baselines);
    const std::string origin = OriginService(o);
    // Evidence from Redis: error lines of the service and the origin, metrics of the origin.
    std::vector<std::string> services = {o.service};
    if (origin != o.service) services.push_back(origin);
    std::vector<std::vector<std::string>> cmds;
    for (const auto& s : services) cmds.push_back({"LRANGE", keys::RecentErrors(s), "0", "199"});
    for (const char* metric : metrics::kAll)
      cmds.push_back({"ZREVRANGEBYSCORE", keys::SeriesHistory(origin, metric), std::to_string(o.detection_time + 60000),
                      "-inf", "LIMIT", "0", "30"});
    auto replies = redis_.Pipeline(cmds);
    if (!replies.ok()) return replies.status();
    size_t i = 0;
    for (const auto& s : services) ev.errors_by_service[s] = ErrorLines((*replies)[i++], 60, o.detection_time);
    for (const char* metric : metrics::kAll) {
      auto samples = SeriesSamples((*replies)[i++]);
      std::vector<double> values;
      for (auto it = samples.rbegin(); it != samples.rend(); ++it) values.push_back(it->second);
      if (!values.empty()) ev.metrics_by_service[origin][metric] = values;
    }
    if (const auto* info = catalog_.Find(origin)) ev.db_pool_size = info->db_pool_size;
    // Similar past incidents and postmortems (the learning loop) from the knowledge base.
    std::string query = AnomalyWords(o.anomaly_type) + " " + origin + " " + ev.trigger_metric;
    for (size_t k = 0; k < ev.errors_by_service[origin].size() && k < 5; ++k) query += " " + ev.errors_by_service[origin][k];
    auto incidents = knowledge::Search(tx, {query, "incident", std::nullopt, std::nullopt, 3});
    auto postmortems = knowledge::Search(tx, {query, "postmortem", std::nullopt, std::nullopt, 2});
    for (auto& h : postmortems) incidents.push_back(h);
    std::sort(incidents.begin(), incidents.end(), [](const auto& a, const auto& b) { return a.score > b.score; });
    ev.similar = ToSimilar(incidents);

    RcaCompleted rca;
    rca.event_id = event_id;
    rca.timestamp = o.detection_time;
    rca.incident_id = o.incident_id;
    rca.similar_incidents = ev.similar;
    Json audit = nullptr;
    Json telemetry_audit = nullptr;
    Json ranking_notes = nullptr;
    TelemetryTools telemetry(telemetry_.prometheus, telemetry_.loki, o.detection_time);
    const std::vector<std::string> service_choices = ServiceChoices(catalog_, o, origin);

    if (llm_.enabled()) {
      PromptOptions options;
      options.prometheus = telemetry.has_prometheus();
      options.loki = telemetry.has_loki();
      options.loki_service_label = telemetry_.loki_service_label;
      options.alert = ev.alert;
      StoreTools store(redis_, tx, catalog_, o.detection_time, service_choices);
      ToolChain tools({&store, &telemetry});
      llm::ToolLoopRequest req;
      req.tier = llm::Tier::kReasoning;
      req.system = SystemPrompt(options);
      req.prompt = RcaPrompt(o, ev.trigger_metric, options);
      req.tools = ToLlmTools(tools, {"submit_rca", "Submit the ranked root-cause candidates. Ends the investigation.",
                                     SubmitRcaSchema(service_choices)});
      req.terminal_tool = "submit_rca";
      req.max_rounds = 12;
      req.token_budget = 60000;
      req.deadline = std::chrono::seconds(90);
      auto result = llm_.RunToolLoop(req);
      audit = result.audit.ToJson();
      rca.tool_calls = result.transcript;
      if (result.ok) {
        std::vector<std::string> affected = o.affected_services;
        affected.push_back(origin);
        auto ranked = RankSubmission(result.terminal_input, {o.service, affected, &catalog_});
        if (ranked.ok()) {
          rca.root_cause_candidates = std::move(ranked->candidates);
          rca.method = Method::LLM;
          if (!ranked->rejected.empty()) ranking_notes = ranked->rejected;
        } else {
          log::Get(kAgent)->warn("the model's submit_rca was unusable ({}); using the deterministic ranking",
                                 ranked.status().message());
          ranking_notes = Json::array({ranked.status().message()});
        }
      }
    }
    if (rca.root_cause_candidates.empty()) {
      llm::CountFallback(kAgent, "rca");
      if (telemetry.has_prometheus() || telemetry.has_loki()) {
        auto gathered = GatherFallbackTelemetry(telemetry, ev.alert, services, telemetry_.loki_service_label);
        ev.alert_series = std::move(gathered.alert_series);
        for (auto& [svc, lines] : gathered.error_lines) {
          auto& known = ev.errors_by_service[svc];
          for (auto& l : lines)
            if (known.size() < kMaxErrorLines && std::find(known.begin(), known.end(), l) == known.end())
              known.push_back(std::move(l));
        }
        for (auto& c : gathered.calls) rca.tool_calls.push_back(std::move(c));
        telemetry_audit = std::move(gathered.queries);
      }
      rca.root_cause_candidates = RankRootCauses(ev);
      rca.method = Method::FALLBACK;
    }
    const auto& top = rca.root_cause_candidates.front();
    rca.root_cause_service = top.service;
    rca.root_cause_category = top.category;
    rca.top_root_cause = top.hypothesis;
    rca.top_confidence = top.confidence;
    tx.exec_params(
        "UPDATE incidents SET rca_candidates = $2::jsonb, root_cause_service = $3, root_cause_category = $4, "
        " top_root_cause = $5, rca_confidence = $6, rca_method = $7, similar_incidents = $8::jsonb, "
        " updated_at = now() WHERE id = $1::uuid",
        o.incident_id, Dump(ToJson(rca.root_cause_candidates)), rca.root_cause_service,
        std::string(ToString(rca.root_cause_category)), rca.top_root_cause, rca.top_confidence,
        std::string(ToString(rca.method)), Dump(ToJson(rca.similar_incidents)));
    // RCA_COMPLETE from DETECTING..INVESTIGATING; a later status (a plan, a resolution) stays.
    if (auto moved = AdvanceStatus(tx, o.incident_id, IncidentStatus::RCA_COMPLETE); !moved.ok()) return moved.status();
    Json payload = {{"root_cause_service", rca.root_cause_service},
                    {"root_cause_category", ToString(rca.root_cause_category)},
                    {"confidence", rca.top_confidence}, {"method", ToString(rca.method)},
                    {"tool_calls", ToJson(rca.tool_calls)}, {"llm", audit}};
    if (!telemetry_audit.is_null()) payload["fallback_queries"] = telemetry_audit;
    if (!ranking_notes.is_null()) payload["submission_notes"] = ranking_notes;
    RecordAgentEvent(tx, o.incident_id, kAgent, "RCA_COMPLETED", payload, o.detection_time);
    return std::vector<OutboundMessage>{{topics::kRcaCompleted, o.incident_id, Encode(rca)}};
  });
  if (!processed.ok()) return processed.status();
  if (Status s = producer_.PublishBatch(processed->outputs); !s.ok()) return s;
  if (processed->fresh) log::Get(kAgent)->info("root cause analysis complete");
  return Status::Ok();
}

}  // namespace sre::investigation
