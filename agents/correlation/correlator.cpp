#include "agents/correlation/correlator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

namespace sre::correlation {
namespace {

// `decimals` digits after the point.
std::string Fmt(double v, int decimals = 1) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

double Clamp01(double v) { return std::max(0.0, std::min(1.0, v)); }

// Strength of an elevation: 0.5 at the threshold, approaching 1 far beyond it.
double Strength(double z) { return Clamp01(1.0 - std::exp2(-std::fabs(z) / kElevated)); }

}  // namespace

std::optional<double> DeploymentConfidence(int64_t deployed_ms, int64_t detection_ms) {
  double minutes = static_cast<double>(detection_ms - deployed_ms) / 60000.0;
  if (minutes < 0 || minutes > 60) return std::nullopt;
  return std::max(0.1, 1.0 - minutes / 60.0);
}

std::optional<DeploymentMatch> MatchDeployment(const std::vector<RawDeployment>& deploys, int64_t detection_ms) {
  std::optional<DeploymentMatch> best;
  for (const auto& d : deploys) {
    auto c = DeploymentConfidence(d.timestamp, detection_ms);
    if (!c) continue;
    if (!best || d.timestamp > best->deployment.timestamp)
      best = DeploymentMatch{d, *c, static_cast<double>(detection_ms - d.timestamp) / 60000.0};
  }
  return best;
}

double Elevation(const SeriesSnapshot& s) {
  if (s.recent.empty()) return 0;
  double sum = 0;
  for (double v : s.recent) sum += v;
  double recent = sum / static_cast<double>(s.recent.size());
  double std = std::max({s.std, 0.05 * std::fabs(s.mean), 1e-9});
  return (recent - s.mean) / std;
}

std::vector<std::string> Reachable(const ServiceCatalog& catalog, const std::string& from, bool downstream, int depth) {
  std::vector<std::string> out;
  std::set<std::string> seen{from};
  std::vector<std::string> frontier{from};
  for (int d = 0; d < depth && !frontier.empty(); ++d) {
    std::vector<std::string> next;
    for (const auto& s : frontier) {
      const ServiceInfo* info = catalog.Find(s);
      if (!info) continue;
      for (const auto& n : downstream ? info->downstream : info->upstream)
        if (seen.insert(n).second) {
          out.push_back(n);
          next.push_back(n);
        }
    }
    frontier = std::move(next);
  }
  return out;
}

CorrelationResult Correlate(const CorrelationInput& in, const ServiceCatalog& catalog) {
  const AnomalyDetected& a = in.anomaly;
  CorrelationResult r;
  r.affected_services.push_back(a.service);
  std::vector<std::string> story;

  std::vector<RawDeployment> own;
  for (const auto& d : in.deployments)
    if (d.source_service == a.service) own.push_back(d);
  if (auto m = MatchDeployment(own, a.detection_time)) {
    const auto& d = m->deployment;
    CorrelationSignal s;
    s.signal_type = "DEPLOYMENT";
    s.strength = m->confidence;
    s.description = std::string(ToString(d.change_type)) + " deployment " + d.previous_version + " -> " + d.version +
                    " of " + d.source_service + " " + Fmt(m->minutes_before) + " min before detection";
    s.evidence = {"git_sha " + d.git_sha, d.description};
    for (const auto& risk : d.known_risks) s.evidence.push_back("known risk: " + risk);
    r.signals.push_back(s);
    DeploymentContext dc;
    dc.service = d.source_service;
    dc.version = d.version;
    dc.previous_version = d.previous_version;
    dc.change_type = d.change_type;
    dc.git_sha = d.git_sha;
    dc.description = d.description;
    dc.known_risks = d.known_risks;
    dc.deployed_at = d.timestamp;
    dc.minutes_before_detection = m->minutes_before;
    dc.confidence = m->confidence;
    r.deployment_context = std::move(dc);
    story.push_back(s.description + " (confidence " + Fmt(m->confidence, 2) + ")");
  }

  auto elevated = [&](const std::string& svc, std::string* what) {
    auto it = in.neighbours.find(svc);
    if (it == in.neighbours.end()) return 0.0;
    double best = 0;
    for (const auto& [metric, snap] : it->second) {
      double z = Elevation(snap);
      if (z > best) {
        best = z;
        if (what) *what = metric;
      }
    }
    return best;
  };

  // Cascade: a service this one depends on is degraded too — likely the origin. When several are
  // (api-gateway → order-service → payment-service), the origin is the deepest: a degraded
  // dependency none of whose own dependencies is degraded; the strongest of those.
  std::vector<std::string> degraded;
  for (const auto& down : Reachable(catalog, a.service, /*downstream=*/true, 2))
    if (elevated(down, nullptr) >= kElevated || in.open_incidents.count(down)) degraded.push_back(down);
  std::string deepest;
  double deepest_strength = -1;
  for (const auto& d : degraded) {
    bool follows_another = false;
    for (const auto& below : Reachable(catalog, d, /*downstream=*/true, 2))
      follows_another |= below != d && std::find(degraded.begin(), degraded.end(), below) != degraded.end();
    if (follows_another) continue;
    double z = elevated(d, nullptr);
    double strength = in.open_incidents.count(d) ? std::max(0.8, Strength(z)) : Strength(z);
    if (strength > deepest_strength) {
      deepest_strength = strength;
      deepest = d;
    }
  }
  if (!deepest.empty() && in.open_incidents.count(deepest))
    r.related_incident_id = in.open_incidents.at(deepest);
  for (const auto& down : degraded) {
    std::string metric;
    double z = elevated(down, &metric);
    auto open = in.open_incidents.find(down);
    CorrelationSignal s;
    s.signal_type = "CASCADE";
    s.strength = open != in.open_incidents.end() ? std::max(0.8, Strength(z)) : Strength(z);
    s.description = "downstream dependency " + down + " is degraded" +
                    (z >= kElevated ? " (" + metric + " " + Fmt(z) + " sigma above its baseline)" : "") +
                    (open != in.open_incidents.end() ? " and has an open incident" : "") +
                    "; " + a.service + " may be failing because of it";
    s.evidence = {"origin_candidate " + down};
    if (down == deepest) s.evidence.push_back("likely_origin");
    if (open != in.open_incidents.end()) s.evidence.push_back("open incident " + open->second);
    r.signals.push_back(s);
    r.affected_services.push_back(down);
    if (!r.related_incident_id && open != in.open_incidents.end()) r.related_incident_id = open->second;
    story.push_back(s.description);
  }
  // Upstream degradation: callers already feel it.
  std::vector<std::string> callers_open;
  for (const auto& up : Reachable(catalog, a.service, /*downstream=*/false, 2)) {
    std::string metric;
    double z = elevated(up, &metric);
    auto open = in.open_incidents.find(up);
    if (z < kElevated && open == in.open_incidents.end()) continue;
    CorrelationSignal s;
    s.signal_type = "UPSTREAM_DEGRADATION";
    s.strength = Strength(z);
    s.description = "caller " + up + " is degraded" +
                    (z >= kElevated ? " (" + metric + " " + Fmt(z) + " sigma above its baseline)" : "") +
                    (open != in.open_incidents.end() ? " and has an open incident" : "");
    s.evidence = {"caller " + up};
    r.signals.push_back(s);
    r.affected_services.push_back(up);
    if (open != in.open_incidents.end()) callers_open.push_back(open->second);
    story.push_back(s.description);
  }
  // A caller's incident points at its origin, never the other way round: when this service is
  // not itself following a dependency, it adopts its callers' open incidents.
  if (!r.related_incident_id) r.adopted_incident_ids = callers_open;
  if (r.related_incident_id) {
    CorrelationSignal s;
    s.signal_type = "RELATED_INCIDENT";
    s.strength = 0.9;
    s.description = "linked to open incident " + *r.related_incident_id + " on a related service";
    s.evidence = {*r.related_incident_id};
    r.signals.push_back(s);
  }

  // Blast radius: the affected services and every caller that can reach them.
  std::set<std::string> radius(r.affected_services.begin(), r.affected_services.end());
  for (const auto& svc : r.affected_services)
    for (const auto& up : Reachable(catalog, svc, false, 3)) radius.insert(up);
  int worst = 2;
  double traffic = 0;
  for (const auto& svc : radius) {
    r.blast_radius.services.push_back(svc);
    if (const auto* info = catalog.Find(svc)) {
      worst = std::min(worst, ServiceCatalog::CriticalityRank(info->criticality));
      if (info->upstream.empty()) traffic += info->baseline.count("request_rate") ? info->baseline.at("request_rate") : 0;
    }
  }
  const ServiceInfo* self = catalog.Find(a.service);
  double self_rate = self && self->baseline.count("request_rate") ? self->baseline.at("request_rate") : 0;
  std::string level = worst == 0 ? "HIGH" : worst == 1 ? "MEDIUM" : "LOW";
  r.blast_radius.estimated_user_impact =
      level + ": P" + std::to_string(worst) + " services in the path; about " + Fmt(self_rate, 0) +
      " req/s reach " + a.service + (traffic > 0 ? " out of " + Fmt(traffic, 0) + " req/s at the edge" : "");
  r.blast_radius.description = std::to_string(radius.size()) + " service(s) can be affected: ";
  bool first = true;
  for (const auto& svc : radius) {
    r.blast_radius.description += (first ? "" : ", ") + svc;
    first = false;
  }

  r.summary = std::string(ToString(a.anomaly_type)) + " on " + a.service + " (" + std::string(ToString(a.severity)) +
              ")";
  if (story.empty()) {
    r.summary += ": no recent deployment and no degraded neighbour; the cause is likely local to " + a.service + ".";
  } else {
    r.summary += ": ";
    for (size_t i = 0; i < story.size(); ++i) r.summary += (i ? "; " : "") + story[i];
    r.summary += ".";
  }
  return r;
}

IncidentOpened BuildOpened(const CorrelationInput& in, const CorrelationResult& r, const std::string& event_id) {
  IncidentOpened o;
  o.event_id = event_id;
  o.timestamp = in.anomaly.timestamp;
  o.incident_id = in.anomaly.incident_id;
  o.anomaly_type = in.anomaly.anomaly_type;
  o.severity = in.anomaly.severity;
  o.service = in.anomaly.service;
  o.affected_services = r.affected_services;
  o.blast_radius = r.blast_radius;
  o.correlation_signals = r.signals;
  if (r.deployment_context) o.deployment_context = ToJson(*r.deployment_context);
  o.recent_metrics = in.recent_metrics;
  o.recent_errors = in.recent_errors;
  o.related_incident_id = r.related_incident_id;
  o.detection_time = in.anomaly.detection_time;
  return o;
}

}  // namespace sre::correlation
