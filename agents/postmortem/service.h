#pragma once
// The postmortem agent's IO shell: incidents.resolved → wait (bounded) for the RCA and plan →
// timeline from agent_events → Markdown postmortem (the reasoning model for the narrative, or the
// deterministic one) → stored on the incident (CLOSED), added to the knowledge base (the learning
// loop) → postmortems.generated.
#include <chrono>
#include <map>

#include "agents/postmortem/writer.h"
#include "shared/kafka.h"
#include "shared/llm/client.h"
#include "shared/postgres.h"

namespace sre::postmortem {

class PostmortemService : public MessageHandler {
 public:
  PostmortemService(Database& db, Producer& producer, const ServiceCatalog& catalog, llm::Client& llm,
                    std::chrono::milliseconds max_wait);
  Status Handle(const InboundMessage& message) override;

 private:
  Status OnResolved(const IncidentResolved& r);
  std::optional<Narrative> AskModel(const IncidentRecord& r, const std::vector<TimelineEntry>& timeline, Json& audit);

  Database& db_;
  Producer& producer_;
  const ServiceCatalog& catalog_;
  llm::Client& llm_;
  std::chrono::milliseconds max_wait_;
  std::map<std::string, std::chrono::steady_clock::time_point> first_seen_;  // timeouts use the wall clock
};

// Reads the incident and its timeline (ordered by event time) inside a transaction: the writer's
// view of sre::LoadIncident and sre::LoadTimeline (shared/incident.h). A column that does not
// decode is an Internal error naming it (retried, then dead-lettered), not a silent gap.
Expected<IncidentRecord> LoadRecord(pqxx::work& tx, const std::string& incident_id);
std::vector<TimelineEntry> LoadTimeline(pqxx::work& tx, const std::string& incident_id);
// The cascade the incident belongs to (see IncidentRecord::cascade); empty when it stands alone.
std::vector<CascadeMember> LoadCascade(pqxx::work& tx, const std::string& incident_id);

}  // namespace sre::postmortem
