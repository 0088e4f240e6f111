#pragma once
// The service catalogue (knowledge/architecture/services.json): the single source of truth for the
// six services, their dependencies, owners and metric baselines. Read by the simulator,
// correlation, investigation, remediation and postmortem.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "shared/json_codec.h"

namespace sre {

struct ServiceOncall {
  std::string primary, secondary, slack;
  std::vector<std::string> escalation;
  template <class V>
  void Visit(V& v) {
    v("primary", primary, Check::NonEmpty());
    v("secondary", secondary);
    v("slack", slack);
    v("escalation", escalation);
  }
};

struct ServiceSla {
  double availability_pct = 99.9, latency_p99_ms = 1000, error_rate_pct = 1;
  template <class V>
  void Visit(V& v) {
    v("availability_pct", availability_pct, Check::Range(0, 100));
    v("latency_p99_ms", latency_p99_ms, Check::Min(0));
    v("error_rate_pct", error_rate_pct, Check::Range(0, 100));
  }
};

struct ServiceInfo {
  std::string name, team, criticality;  // criticality: P0, P1, P2
  ServiceSla sla;
  std::string language, description;
  std::vector<std::string> downstream;  // services this one calls
  std::vector<std::string> upstream;    // services that call this one
  std::vector<std::string> datastores;
  int64_t db_pool_size = 0;
  std::vector<std::string> consumes_topics, produces_topics, common_failure_modes;
  ServiceOncall oncall;
  std::string owner;
  std::vector<std::string> runbooks;
  std::map<std::string, double> baseline;  // metric name -> typical value
  std::map<std::string, double> noise;     // metric name -> relative standard deviation
  template <class V>
  void Visit(V& v) {
    v("name", name, Check::NonEmpty(128));
    v("team", team, Check::NonEmpty());
    v("criticality", criticality, Check::NonEmpty());
    v("sla", sla);
    v("language", language);
    v("description", description);
    v("downstream", downstream);
    v("upstream", upstream);
    v("datastores", datastores);
    v("db_pool_size", db_pool_size, Check::Min(1));
    v("consumes_topics", consumes_topics);
    v("produces_topics", produces_topics);
    v("common_failure_modes", common_failure_modes);
    v("oncall", oncall);
    v("owner", owner);
    v("runbooks", runbooks);
    v("baseline", baseline);
    v("noise", noise);
  }
};

class ServiceCatalog {
 public:
  // Parses and checks the file: every metric of ARCHITECTURE §3 has a baseline and a noise
  // value, criticality is P0–P2, dependencies name known services and upstream is the inverse of
  // downstream. Status::Invalid naming the problem otherwise.
  static Expected<ServiceCatalog> Parse(const std::string& json_text);
  static Expected<ServiceCatalog> Load(const std::string& path);

  const std::vector<ServiceInfo>& services() const { return services_; }
  const ServiceInfo* Find(const std::string& name) const;
  // 0 for P0, 1 for P1, 2 for P2.
  static int CriticalityRank(const std::string& criticality);

 private:
  std::vector<ServiceInfo> services_;
};

// Where knowledge/ lives: $KNOWLEDGE_DIR if set, else ./knowledge if it exists, else the source
// tree's knowledge/ (compiled in), so executables work from the repository, build/bin or an image.
std::string KnowledgeDir();

}  // namespace sre
