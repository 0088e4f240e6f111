#include "agents/remediation/actions.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agents/remediation/executor.h"
#include "shared/files.h"

namespace sre::remediation {
namespace {

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool Contains(const std::string& haystack, std::initializer_list<const char*> needles) {
  for (const char* n : needles)
    if (haystack.find(n) != std::string::npos) return true;
  return false;
}

std::string Truncated(const std::string& s, size_t n = 80) { return s.size() <= n ? s : s.substr(0, n) + "…"; }

Status FieldError(const std::string& path, const std::string& what) { return Status::Invalid(path + ": " + what); }

// The defaults of infra/remediation/policy.json, so a policy file may name only what it changes.
std::map<RemediationAction, ActionPolicy> DefaultActions() {
  using A = RemediationAction;
  return {{A::ROLLBACK, {"simulator", RiskLevel::LOW, true}},
          {A::RESTART, {"simulator", RiskLevel::LOW, true}},
          {A::SCALE_OUT, {"simulator", RiskLevel::LOW, true}},
          {A::FAILOVER_DB, {"simulator", RiskLevel::HIGH, true}},
          {A::KILL_LONG_QUERIES, {"simulator", RiskLevel::MEDIUM, false}},
          {A::PAUSE_CONSUMER, {"simulator", RiskLevel::MEDIUM, true}},
          {A::RESET_CONSUMER, {"simulator", RiskLevel::MEDIUM, false}},
          {A::DISABLE_FLAG, {"simulator", RiskLevel::MEDIUM, true}},
          {A::REVERT_CONFIG, {"simulator", RiskLevel::LOW, true}},
          {A::ESCALATE, {"none", RiskLevel::LOW, false}}};
}

// Reads an optional number member within [lo, hi].
Status ReadNumber(const Json& j, const char* name, const std::string& path, double lo, double hi, double& out) {
  if (!j.contains(name)) return Status::Ok();
  const Json& v = j[name];
  if (!v.is_number()) return FieldError(path + "." + name, "expected a number");
  double d = v.get<double>();
  if (!std::isfinite(d) || d < lo || d > hi)
    return FieldError(path + "." + name, "must be between " + Dump(Json(lo)) + " and " + Dump(Json(hi)));
  out = d;
  return Status::Ok();
}

// Which anomaly types confirm a root-cause category independently of the RCA (detection saw it).
bool AnomalyConfirms(RootCauseCategory c, AnomalyType t, const std::string& trigger) {
  using R = RootCauseCategory;
  using T = AnomalyType;
  const std::string m = Lower(trigger);
  switch (c) {
    case R::RESOURCE_LEAK:
      return t == T::MEMORY_LEAK || Contains(m, {"memory", "heap", "rss"});
    case R::CPU_EXHAUSTION:
      return t == T::CPU_SATURATION || Contains(m, {"cpu"});
    case R::TRAFFIC_SURGE:
      return t == T::TRAFFIC_ANOMALY || t == T::CPU_SATURATION || Contains(m, {"request", "rps", "cpu"});
    case R::DATABASE_BOTTLENECK:
      return t == T::DB_CONNECTION_EXHAUSTION || t == T::LATENCY_SPIKE || Contains(m, {"db_", "database", "pool"});
    case R::CONSUMER_STALL:
      return t == T::KAFKA_CONSUMER_LAG || Contains(m, {"lag", "consumer"});
    case R::APPLICATION_BUG:
      return t == T::ERROR_RATE_SPIKE || Contains(m, {"error"});
    default:
      return false;
  }
}

}  // namespace

std::optional<Mode> ParseMode(std::string_view s) {
  if (s == "off") return Mode::kOff;
  if (s == "dry-run") return Mode::kDryRun;
  if (s == "approve") return Mode::kApprove;
  if (s == "auto") return Mode::kAuto;
  return std::nullopt;
}

std::string ModeName(Mode m) {
  switch (m) {
    case Mode::kOff:
      return "off";
    case Mode::kDryRun:
      return "dry-run";
    case Mode::kApprove:
      return "approve";
    case Mode::kAuto:
      return "auto";
  }
  return "off";
}

const ActionPolicy& Policy::For(RemediationAction a) const {
  static const ActionPolicy kNone{"none", RiskLevel::HIGH, false};
  auto it = actions.find(a);
  return it == actions.end() ? kNone : it->second;
}

Expected<Policy> ParsePolicy(const Json& j) {
  const std::string root = "policy";
  if (!j.is_object()) return FieldError(root, "expected a JSON object");
  Policy p;
  p.actions = DefaultActions();
  p.executors["simulator"] = ExecutorPolicy{"simulator", Mode::kAuto, Json::object()};
  double v = p.confidence_min;
  if (Status s = ReadNumber(j, "confidence_min", root, 0, 1, v); !s.ok()) return s;
  p.confidence_min = v;
  struct Ms {
    const char* name;
    int64_t* out;
    double lo, hi;
  };
  for (Ms f : {Ms{"cooldown_s", &p.cooldown_ms, 0, 7 * 86400.0}, Ms{"approval_ttl_s", &p.approval_ttl_ms, 10, 7 * 86400.0},
               Ms{"verify_timeout_s", &p.verify_timeout_ms, 10, 86400.0}}) {
    double s = static_cast<double>(*f.out) / 1000.0;
    if (Status st = ReadNumber(j, f.name, root, f.lo, f.hi, s); !st.ok()) return st;
    *f.out = std::llround(s * 1000.0);
  }
  struct Int {
    const char* name;
    int* out;
    double lo, hi;
  };
  for (Int f : {Int{"max_concurrent_per_service", &p.max_concurrent_per_service, 1, 100},
                Int{"max_concurrent", &p.max_concurrent, 1, 1000}, Int{"max_per_hour", &p.max_per_hour, 1, 10000},
                Int{"verify_samples", &p.verify_samples, 1, 1000}}) {
    double d = *f.out;
    if (Status st = ReadNumber(j, f.name, root, f.lo, f.hi, d); !st.ok()) return st;
    *f.out = static_cast<int>(d);
  }
  if (j.contains("breaker")) {
    const Json& b = j["breaker"];
    if (!b.is_object()) return FieldError(root + ".breaker", "expected an object {failures, reset_s}");
    double failures = p.breaker_failures, reset = static_cast<double>(p.breaker_reset_ms) / 1000.0;
    if (Status s = ReadNumber(b, "failures", root + ".breaker", 1, 100, failures); !s.ok()) return s;
    if (Status s = ReadNumber(b, "reset_s", root + ".breaker", 1, 7 * 86400.0, reset); !s.ok()) return s;
    p.breaker_failures = static_cast<int>(failures);
    p.breaker_reset_ms = std::llround(reset * 1000.0);
  }
  if (j.contains("executors")) {
    const Json& ex = j["executors"];
    if (!ex.is_object()) return FieldError(root + ".executors", "expected an object of executors by name");
    for (const auto& [name, e] : ex.items()) {
      const std::string path = root + ".executors." + name;
      if (name == "none" || !IsSafeParam(name)) return FieldError(path, "not a usable executor name");
      if (!e.is_object() || !e.contains("type") || !e["type"].is_string())
        return FieldError(path + ".type", "expected one of simulator, webhook, command");
      ExecutorPolicy ep;
      ep.type = e["type"].get<std::string>();
      if (ep.type != "simulator" && ep.type != "webhook" && ep.type != "command")
        return FieldError(path + ".type", "expected one of simulator, webhook, command, got '" + Truncated(ep.type) + "'");
      // Real-world executors start in dry-run unless the policy says otherwise.
      ep.max_mode = ep.type == "simulator" ? Mode::kAuto : Mode::kDryRun;
      if (e.contains("mode")) {
        auto m = e["mode"].is_string() ? ParseMode(e["mode"].get<std::string>()) : std::nullopt;
        if (!m) return FieldError(path + ".mode", "expected one of off, dry-run, approve, auto");
        ep.max_mode = *m;
      }
      ep.config = e;
      ep.config.erase("mode");  // the policy's; the executor's parser knows only its own fields
      p.executors[name] = std::move(ep);
    }
  }
  if (j.contains("actions")) {
    const Json& acts = j["actions"];
    if (!acts.is_object()) return FieldError(root + ".actions", "expected an object of actions by name");
    for (const auto& [name, a] : acts.items()) {
      const std::string path = root + ".actions." + name;
      auto kind = ParseEnum<RemediationAction>(name);
      if (!kind) return FieldError(path, "not an action of the vocabulary (" + EnumChoices<RemediationAction>() + ")");
      if (!a.is_object()) return FieldError(path, "expected an object {executor, risk, reversible}");
      ActionPolicy ap = p.actions[*kind];
      if (a.contains("executor")) {
        if (!a["executor"].is_string()) return FieldError(path + ".executor", "expected an executor name");
        ap.executor = a["executor"].get<std::string>();
      }
      if (a.contains("risk")) {
        auto r = a["risk"].is_string() ? ParseEnum<RiskLevel>(a["risk"].get<std::string>()) : std::nullopt;
        if (!r) return FieldError(path + ".risk", "expected one of LOW, MEDIUM, HIGH");
        ap.risk = *r;
      }
      if (a.contains("reversible")) {
        if (!a["reversible"].is_boolean()) return FieldError(path + ".reversible", "expected true or false");
        ap.reversible = a["reversible"].get<bool>();
      }
      p.actions[*kind] = ap;
    }
  }
  for (const auto& [kind, ap] : p.actions) {
    const std::string path = root + ".actions." + std::string(ToString(kind)) + ".executor";
    if (kind == RemediationAction::ESCALATE) {
      if (ap.executor != "none") return FieldError(path, "escalate is done by a person: its executor is \"none\"");
      continue;
    }
    if (ap.executor != "none" && !p.executors.count(ap.executor))
      return FieldError(path, "names no executor of policy.executors ('" + Truncated(ap.executor) + "')");
  }
  return p;
}

Expected<Policy> LoadPolicy(const std::string& path) {
  auto j = ReadJsonFile(path);
  if (!j.ok()) return j.status();
  auto p = ParsePolicy(*j);
  if (!p.ok()) return Status::Invalid(path + ": " + p.status().message());
  return p;
}

std::string DefaultPolicyPath() { return RepoFile("infra/remediation/policy.json"); }

Mode EffectiveMode(Mode global, const Policy& policy, RemediationAction action) {
  const ActionPolicy& ap = policy.For(action);
  auto it = policy.executors.find(ap.executor);
  if (it == policy.executors.end()) return global;
  return static_cast<int>(it->second.max_mode) < static_cast<int>(global) ? it->second.max_mode : global;
}

std::optional<RemediationAction> ClassifyStep(const std::string& text) {
  using A = RemediationAction;
  const std::string t = Lower(text);
  if (Contains(t, {"rollout undo", "roll back", "rollback to", "roll back to", "revert the deploy", "revert deployment",
                   "helm rollback"}))
    return A::ROLLBACK;
  if (Contains(t, {"revert the config", "revert config", "previous config", "configmap", "config revision"}))
    return A::REVERT_CONFIG;
  if (Contains(t, {"failover", "fail over", "promote the replica", "promote replica"})) return A::FAILOVER_DB;
  if (Contains(t, {"pg_terminate_backend", "pg_cancel_backend", "kill long", "terminate long", "cancel long",
                   "long-running quer", "long running quer"}))
    return A::KILL_LONG_QUERIES;
  if (Contains(t, {"pause the consumer", "pause consumer", "pause consumption"})) return A::PAUSE_CONSUMER;
  if (Contains(t, {"reset the consumer", "reset consumer", "restart the consumer", "restart consumer",
                   "reset-offsets", "rejoin the consumer group"}))
    return A::RESET_CONSUMER;
  if (Contains(t, {"rollout restart", "restart the pod", "restart pods", "restart the service", "rolling restart",
                   "restart the deployment"}))
    return A::RESTART;
  if (Contains(t, {"scale out", "scale up", "kubectl scale", "add replicas", "more replicas", "increase replicas",
                   "autoscal"}))
    return A::SCALE_OUT;
  if (Contains(t, {"disable the flag", "disable the feature", "feature flag", "kill switch", "turn off the flag"}))
    return A::DISABLE_FLAG;
  if (Contains(t, {"page the", "escalate to", "escalate"})) return A::ESCALATE;
  return std::nullopt;
}

Proposal Propose(const IncidentFacts& f, const RemediationPlan& plan, const std::vector<StepRequest>& requests) {
  using A = RemediationAction;
  using R = RootCauseCategory;
  Proposal out;
  auto in_incident = [&](const std::string& s) {
    return std::find(f.incident_services.begin(), f.incident_services.end(), s) != f.incident_services.end();
  };
  // A model may ask for actions on its plan's steps: it never chooses one, but what it asked
  // for is checked and a hostile request recorded.
  for (const auto& r : requests) {
    auto kind = ParseEnum<RemediationAction>(r.action);
    std::string reason;
    if (!IsSafeParam(r.action) || (!r.service.empty() && !IsSafeParam(r.service)))
      reason = "shell text or unsafe characters in the requested action";
    else if (!kind)
      reason = "unknown action (not in the vocabulary)";
    else if (!r.service.empty() && !in_incident(r.service))
      reason = "service outside the incident";
    if (!reason.empty()) out.rejected.push_back({Truncated(r.action), Truncated(r.service), reason});
  }

  Candidate c;
  c.service = f.rca.root_cause_service;
  const bool deployed_here = f.deployment && f.deployment->service == c.service;
  if (!in_incident(c.service) || !IsSafeParam(c.service)) {
    out.rejected.push_back({std::string(ToString(A::ESCALATE)), Truncated(c.service),
                            "service outside the incident: the RCA blamed a service this incident does not involve"});
    c.service = f.service;
    c.action = A::ESCALATE;
    c.why = "the root cause names a service outside the incident";
  } else {
    switch (f.rca.root_cause_category) {
      case R::DEPLOYMENT_REGRESSION:
      case R::CONFIGURATION_ERROR:
        if (deployed_here) {
          const bool config = f.deployment->change_type == ChangeType::CONFIG;
          c.action = config ? A::REVERT_CONFIG : A::ROLLBACK;
          c.corroborated = true;
          c.why = std::string(config ? "configuration change " : "deployment ") + f.deployment->version + " of " +
                  c.service + " correlated with the incident";
        } else {
          c.action = A::ESCALATE;
          c.why = "no deployment of " + c.service + " is correlated: nothing to roll back";
        }
        break;
      case R::RESOURCE_LEAK:
        c.action = A::RESTART;
        break;
      case R::CPU_EXHAUSTION:
      case R::TRAFFIC_SURGE:
        c.action = A::SCALE_OUT;
        break;
      case R::DATABASE_BOTTLENECK:
        c.action = A::KILL_LONG_QUERIES;
        break;
      case R::CONSUMER_STALL:
        c.action = A::RESET_CONSUMER;
        break;
      case R::APPLICATION_BUG:
        c.action = A::DISABLE_FLAG;
        break;
      default:
        c.action = A::ESCALATE;
        c.why = "no automated action fits " + std::string(ToString(f.rca.root_cause_category));
    }
    if (c.why.empty()) {
      // Not a deployment: the detector's own view must agree, and a deployment of the service
      // speaks against (a CPU rise after a bad deploy wants a rollback, not more replicas).
      c.corroborated = AnomalyConfirms(f.rca.root_cause_category, f.anomaly_type, f.trigger_metric) && !deployed_here;
      c.why = std::string(ToString(f.rca.root_cause_category)) + (c.corroborated ? ", confirmed by the " : ", not confirmed by the ") +
              std::string(ToString(f.anomaly_type)) + " anomaly" + (deployed_here ? " (a deployment of the service is correlated)" : "");
    }
  }
  if (c.action == A::ROLLBACK || c.action == A::REVERT_CONFIG) {
    bool safe = true;
    for (const auto& [k, v] : {std::pair<std::string, std::string>{"deployment_version", f.deployment->version},
                               {"previous_version", f.deployment->previous_version}}) {
      if (v.empty()) continue;
      if (!IsSafeParam(v)) {
        out.rejected.push_back({std::string(ToString(c.action)), Truncated(c.service), "unsafe " + k + " '" + Truncated(v, 40) + "'"});
        safe = false;
      } else {
        c.params[k] = v;
      }
    }
    if (!safe) {
      c.action = A::ESCALATE;
      c.corroborated = false;
      c.params.clear();
      c.why = "the deployment's version is not a safe value";
    }
  }
  if (!f.team.empty() && IsSafeParam(f.team)) c.params["team"] = f.team;
  for (const auto& step : plan.action_steps)
    if (ClassifyStep(step.action) == c.action) {
      c.step_id = step.step_id;
      break;
    }
  out.actions.push_back(std::move(c));
  return out;
}

ProposalVerdict DecideProposal(const Candidate& c, const ActionPolicy& ap, Mode mode, const Policy& policy,
                               double confidence) {
  if (c.action == RemediationAction::ESCALATE) return {ActionStatus::ESCALATED, c.why.empty() ? "a person must act" : c.why};
  switch (mode) {
    case Mode::kOff:
      return {ActionStatus::ESCALATED, "remediation mode is off"};
    case Mode::kDryRun:
      return {ActionStatus::APPROVED, "dry-run mode: the dry-run form runs, nothing changes"};
    case Mode::kApprove:
      return {ActionStatus::AWAITING_APPROVAL, "approve mode: every action waits for a person"};
    case Mode::kAuto:
      break;
  }
  std::vector<std::string> unmet;
  if (ap.risk != RiskLevel::LOW) unmet.push_back("risk " + std::string(ToString(ap.risk)));
  if (!ap.reversible) unmet.push_back("not reversible");
  if (confidence < policy.confidence_min) {
    std::ostringstream s;
    s.precision(2);
    s << "RCA confidence " << confidence << " < " << policy.confidence_min;
    unmet.push_back(s.str());
  }
  if (!c.corroborated) unmet.push_back("cause not corroborated");
  if (unmet.empty()) return {ActionStatus::APPROVED, "auto: low risk, reversible, confident and corroborated (" + c.why + ")"};
  std::string reason = "auto mode runs only low-risk, reversible, corroborated actions at confidence >= 0.7: ";
  for (size_t i = 0; i < unmet.size(); ++i) reason += (i ? ", " : "") + unmet[i];
  return {ActionStatus::AWAITING_APPROVAL, reason};
}

std::optional<Block> CheckGuards(const GuardState& s, const Policy& p, int64_t now_ms) {
  if (s.failures_in_row >= p.breaker_failures && s.last_failure_ms && now_ms - *s.last_failure_ms < p.breaker_reset_ms)
    return Block{"circuit_breaker", "circuit breaker open: " + std::to_string(s.failures_in_row) +
                                        " failed actions in a row on this service, the last " +
                                        std::to_string((now_ms - *s.last_failure_ms) / 1000) + " s ago (resets after " +
                                        std::to_string(p.breaker_reset_ms / 1000) + " s or a success)"};
  if (s.last_same_target_ms && now_ms - *s.last_same_target_ms < p.cooldown_ms)
    return Block{"cooldown", "cooldown: the same action ran on this service " +
                                 std::to_string((now_ms - *s.last_same_target_ms) / 1000) + " s ago (cooldown " +
                                 std::to_string(p.cooldown_ms / 1000) + " s)"};
  if (s.in_flight_service >= p.max_concurrent_per_service)
    return Block{"concurrency_service", std::to_string(s.in_flight_service) +
                                            " action(s) already running or being verified on this service (cap " +
                                            std::to_string(p.max_concurrent_per_service) + ")"};
  if (s.in_flight_total >= p.max_concurrent)
    return Block{"concurrency_total", std::to_string(s.in_flight_total) + " actions already running or being verified (cap " +
                                          std::to_string(p.max_concurrent) + ")"};
  if (s.executed_last_hour >= p.max_per_hour)
    return Block{"rate_limit", std::to_string(s.executed_last_hour) + " actions executed in the last hour (cap " +
                                   std::to_string(p.max_per_hour) + ")"};
  return std::nullopt;
}

VerifyVerdict Verify(const VerifyInput& in, const Policy& p) {
  const bool timed_out =
      in.now_ms - in.executed_ms >= p.verify_timeout_ms || in.wall_elapsed_ms >= 2 * p.verify_timeout_ms;
  if (!in.baseline) {
    if (in.incident_resolved) return {VerifyState::kVerified, "the incident resolved after the action"};
    if (timed_out)
      return {VerifyState::kFailed, "the incident did not resolve within " + std::to_string(p.verify_timeout_ms / 1000) +
                                        " s of the action"};
    return {VerifyState::kPending, ""};
  }
  if (static_cast<int>(in.after.size()) < p.verify_samples) {
    if (timed_out)
      return {VerifyState::kFailed, "only " + std::to_string(in.after.size()) + " of " +
                                        std::to_string(p.verify_samples) + " samples of the trigger metric within " +
                                        std::to_string(p.verify_timeout_ms / 1000) + " s"};
    return {VerifyState::kPending, ""};
  }
  const SeriesBaselineFact& b = *in.baseline;
  // Excess on the bad side of the baseline, in standard deviations.
  auto excess = [&](double v) {
    const double sd = b.std > 0 ? b.std : 1e-9;
    const double z = (v - b.mean) / sd;
    if (b.direction == "down") return std::max(0.0, -z);
    if (b.direction == "both") return std::abs(z);
    return std::max(0.0, z);
  };
  // The newest samples (up to 3), averaged: one lucky sample is not a recovery.
  const size_t n = std::min<size_t>(3, in.after.size());
  double sum = 0;
  for (size_t i = in.after.size() - n; i < in.after.size(); ++i) sum += in.after[i].second;
  const double now_excess = excess(sum / static_cast<double>(n));
  std::ostringstream s;
  s.precision(3);
  s << "trigger " << now_excess << "σ from its baseline after " << in.after.size() << " samples";
  if (in.value_at_action) s << " (" << excess(*in.value_at_action) << "σ at the action)";
  if (now_excess <= 2.0) return {VerifyState::kVerified, s.str() + ": back within 2σ"};
  if (in.value_at_action && now_excess <= 0.5 * excess(*in.value_at_action))
    return {VerifyState::kVerified, s.str() + ": more than halfway back"};
  return {VerifyState::kFailed, s.str() + ": not back toward the baseline"};
}

std::string UndoDescription(RemediationAction a) {
  using A = RemediationAction;
  switch (a) {
    case A::ROLLBACK:
      return "roll forward to the version it replaced";
    case A::RESTART:
      return "nothing to undo (pods restarted)";
    case A::SCALE_OUT:
      return "scale back in to the previous replica count";
    case A::FAILOVER_DB:
      return "fail back to the former primary";
    case A::PAUSE_CONSUMER:
      return "resume the consumer";
    case A::DISABLE_FLAG:
      return "re-enable the flag";
    case A::REVERT_CONFIG:
      return "re-apply the configuration revision it replaced";
    default:
      return "not reversible";
  }
}

}  // namespace sre::remediation
