#include "agents/communication/service.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "agents/communication/delivery.h"
#include "agents/communication/dispatcher.h"
#include "agents/postmortem/service.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/remediation_actions.h"

namespace sre::communication {
namespace {

constexpr const char* kAgent = "communication";
constexpr int kAttempts = 3;

}  // namespace

CommunicationService::CommunicationService(Database& db, Routing routing, Templates templates, std::string dashboard_url,
                                           Sender sender, std::chrono::milliseconds retry_initial)
    : db_(db),
      routing_(std::move(routing)),
      templates_(std::move(templates)),
      dashboard_url_(std::move(dashboard_url)),
      sender_(std::move(sender)),
      retry_initial_(retry_initial) {}

Expected<CommunicationService::Facts> CommunicationService::LoadFacts(const std::string& id) {
  Facts f;
  bool found = false;
  Status s = db_.Transact([&](pqxx::work& tx) {
    auto rows = tx.exec_params(
        "SELECT severity, service, anomaly_type, COALESCE(top_root_cause, ''), status FROM incidents WHERE id = $1::uuid",
        id);
    if (rows.empty()) return Status::Ok();
    found = true;
    f.severity = ParseEnum<Severity>(rows[0][0].as<std::string>()).value_or(Severity::LOW);
    f.service = rows[0][1].as<std::string>();
    f.type = ParseEnum<AnomalyType>(rows[0][2].as<std::string>()).value_or(AnomalyType::UNKNOWN);
    f.top_root_cause = rows[0][3].as<std::string>();
    f.status = rows[0][4].as<std::string>();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (!found) return UnknownIncident(id);
  return f;
}

Expected<Email> CommunicationService::Build(const InboundMessage& m, int64_t& ts, Facts& facts) {
  auto load = [&](const std::string& id) -> Expected<Facts> {
    auto f = LoadFacts(id);
    if (f.ok()) facts = *f;
    return f;
  };
  if (m.topic == topics::kAnomaliesDetected) {
    auto a = Decode<AnomalyDetected>(m.payload);
    if (!a.ok()) return a.status();
    // Like the later stages: no alert for an incident detection never recorded (anyone able to
    // publish to the topic could page on-call otherwise).
    if (auto f = load(a->incident_id); !f.ok()) return f.status();
    ts = a->timestamp;
    return AlertEmail(*a, dashboard_url_);
  }
  if (m.topic == topics::kRcaCompleted) {
    auto r = Decode<RcaCompleted>(m.payload);
    if (!r.ok()) return r.status();
    auto f = load(r->incident_id);
    if (!f.ok()) return f.status();
    ts = r->timestamp;
    return RcaEmail(*r, f->severity, f->service, f->type, dashboard_url_);
  }
  if (m.topic == topics::kRemediationPlans) {
    auto p = Decode<RemediationPlan>(m.payload);
    if (!p.ok()) return p.status();
    auto f = load(p->incident_id);
    if (!f.ok()) return f.status();
    // The rows of the plan's actions: their mode and approval deadline, which the message lacks.
    std::vector<ActionRecord> recorded;
    if (p->actions && !p->actions->empty()) {
      Status s = db_.Transact([&](pqxx::work& tx) {
        recorded = ListActions(tx, p->incident_id);
        return Status::Ok();
      });
      if (!s.ok()) return s;
    }
    ts = p->timestamp;
    return PlanEmail(*p, f->severity, f->service, f->type, dashboard_url_, recorded);
  }
  if (m.topic == topics::kIncidentsResolved) {
    auto r = Decode<IncidentResolved>(m.payload);
    if (!r.ok()) return r.status();
    auto f = load(r->incident_id);
    if (!f.ok()) return f.status();
    std::vector<TimelineLine> lines;
    std::vector<postmortem::CascadeMember> cascade;
    std::vector<ActionRecord> actions;
    Status s = db_.Transact([&](pqxx::work& tx) {
      for (const auto& e : postmortem::LoadTimeline(tx, r->incident_id)) {
        if (e.event_type == "EMAIL_SENT") continue;
        std::string d = postmortem::DescribeEvent(e);
        lines.push_back({d.substr(0, 8), d.substr(9)});
      }
      cascade = postmortem::LoadCascade(tx, r->incident_id);
      actions = ListActions(tx, r->incident_id);
      return Status::Ok();
    });
    if (!s.ok()) return s;
    ts = r->timestamp;
    return ResolvedEmail(*r, f->severity, f->service, f->type, lines, f->top_root_cause, cascade, dashboard_url_,
                         actions);
  }
  if (m.topic == topics::kPostmortemsGenerated) {
    auto p = Decode<PostmortemGenerated>(m.payload);
    if (!p.ok()) return p.status();
    auto f = load(p->incident_id);
    if (!f.ok()) return f.status();
    ts = p->timestamp;
    return PostmortemEmail(*p, f->severity, f->service, f->type, dashboard_url_);
  }
  return Status::Invalid("communication does not consume topic " + m.topic);
}

Status CommunicationService::Handle(const InboundMessage& m) {
  int64_t ts = 0;
  Facts facts;
  auto email = Build(m, ts, facts);
  if (!email.ok()) return email.status();
  if (notify_.routes.rules.empty()) return Deliver(*email, ts, Recipients(email->type, email->severity, routing_));

  const ServiceInfo* info = notify_.catalog ? notify_.catalog->Find(facts.service) : nullptr;
  const std::string team = info ? info->team : "", owner = info ? info->owner : "";
  RouteDecision d = Route(notify_.routes, {email->type, email->severity, facts.service, team});
  std::set<Channel> http;
  for (Channel c : d.channels)
    if (c != Channel::kEmail && notify_.enabled.count(c)) http.insert(c);
  log::LogScope scope("incident_id", email->incident_id);
  if (!http.empty()) {
    Notice notice = NoticeFromEmail(*email, ts, team, owner, facts.status);
    Status s = db_.Transact([&](pqxx::work& tx) {
      Enqueue(tx, notice, http);
      return Status::Ok();
    });
    if (!s.ok()) return s;  // retried: the rows are idempotent
  }
  if (!d.channels.count(Channel::kEmail)) {
    log::Get(kAgent)->info("{}: no email (routing: {})", ToString(email->type),
                           d.matched_rules.empty() ? std::string("no rule matched") : d.matched_rules.back());
    return Status::Ok();
  }
  auto to = d.email.empty() ? Recipients(email->type, email->severity, routing_) : Expand(d.email, facts.service);
  if (to.empty()) to = Recipients(email->type, email->severity, routing_);
  return Deliver(*email, ts, to);
}

std::vector<std::string> CommunicationService::Expand(const std::vector<std::string>& audiences,
                                                      const std::string& service) const {
  std::vector<std::string> out;
  auto add = [&](const std::string& a) {
    if (!a.empty() && std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  };
  for (const auto& a : audiences) {
    if (a == "oncall") {
      for (const auto& r : routing_.oncall) add(r);
    } else if (a == "team") {
      for (const auto& r : routing_.team) add(r);
    } else if (a == "management") {
      for (const auto& r : routing_.management) add(r);
    } else if (a == "service-oncall") {
      const ServiceInfo* info = notify_.catalog ? notify_.catalog->Find(service) : nullptr;
      if (info) add(info->oncall.primary);
    } else {
      add(a);
    }
  }
  return out;
}

Status CommunicationService::Deliver(const Email& email, int64_t ts, const std::vector<std::string>& to) {
  log::LogScope scope("incident_id", email.incident_id);
  // "Sent at" and the Date header are this attempt's wall-clock time; `ts` (the event time of
  // the message) only dates the EMAIL_SENT entry of the incident's timeline.
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  auto rendered = Render(templates_, email, now_ms);
  if (!rendered.ok()) return rendered.status();
  std::string mime = ComposeMime(routing_.from, to, email, *rendered, now_ms);
  const std::string type(ToString(email.type));
  const std::string message_id = MessageId(email.incident_id, email.type);
  auto counter = [&](const char* outcome) -> Counter& {
    return Metrics().GetCounter("sre_emails_total", "Emails by type and outcome", {{"type", type}, {"outcome", outcome}});
  };

  // 1. Claim. A session advisory lock on the Message-ID keeps a second replica from sending the
  // same email at the same time, and is released by PostgreSQL if this process dies. SENDING is
  // committed before the SMTP conversation: finding it here means the previous sender died
  // mid-conversation, or its attempt ended without the server's verdict on a message it had
  // received in full, so the email is in doubt.
  enum class Claim { kSend, kAlreadySent, kRecordOnly } claim = Claim::kSend;
  bool in_doubt = false;
  Status s = db_.Transact([&](pqxx::work& tx) -> Status {
    if (!tx.exec_params1("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", message_id)[0].as<bool>())
      return Status::Transient("another sender holds " + message_id);
    tx.exec_params(
        "INSERT INTO emails (incident_id, notification_type, message_id, recipients, subject, body_html, body_text) "
        "VALUES ($1::uuid, $2, $3, $4::jsonb, $5, $6, $7) ON CONFLICT (incident_id, notification_type) DO NOTHING",
        email.incident_id, type, message_id, Dump(Json(to)), email.subject, rendered->html, rendered->text);
    std::string status = tx.exec_params1("SELECT status FROM emails WHERE message_id = $1", message_id)[0].as<std::string>();
    if (status == "SENT") {
      claim = Claim::kAlreadySent;
    } else if (status == "SENDING" && sent_unrecorded_.count(message_id)) {
      claim = Claim::kRecordOnly;  // this process sent it; only the SENT update was lost
    } else {
      in_doubt = status == "SENDING";
      // The stored body is the one this attempt sends (its "sent at" is this attempt's).
      tx.exec_params(
          "UPDATE emails SET status = 'SENDING', in_doubt_resends = in_doubt_resends + $2, body_html = $3, "
          "body_text = $4 WHERE message_id = $1",
          message_id, in_doubt ? 1 : 0, rendered->html, rendered->text);
    }
    return Status::Ok();
  });
  auto unlock = [&] {
    (void)db_.Transact([&](pqxx::work& tx) {
      tx.exec_params("SELECT pg_advisory_unlock(hashtextextended($1, 0))", message_id);
      return Status::Ok();
    });
  };
  if (!s.ok()) {
    unlock();
    return s;
  }
  if (claim == Claim::kAlreadySent) {
    unlock();
    return Status::Ok();
  }

  // 2. Send, outside any transaction.
  SmtpOutcome sent;
  int attempts = 0;
  if (claim == Claim::kRecordOnly) {
    sent.refused = sent_unrecorded_.at(message_id);
  } else {
    if (in_doubt) {
      log::Get(kAgent)->warn("{} email is in doubt (an earlier attempt may have delivered it): resending as {}", type,
                             message_id);
      counter("resent_in_doubt").Inc();
    }
    // Quick retries are for blips: not after a timeout (each can take SMTP_TIMEOUT_MS), a refused
    // login, a possible delivery, or while an outage is known; the consumer's backoff waits then.
    const bool known_outage = outage_.ongoing();
    for (;;) {
      if (attempts) std::this_thread::sleep_for(Backoff(attempts - 1, retry_initial_, std::chrono::seconds(5)));
      sent = Attempt(to, mime);
      ++attempts;
      if (sent.kind != SmtpOutcome::Kind::kTransient || known_outage || attempts >= kAttempts || sent.in_doubt)
        break;
      if (sent.reason == SmtpFailure::kTimeout || sent.reason == SmtpFailure::kAuth) break;
    }
    if (sent.sent()) sent_unrecorded_[message_id] = sent.refused;
  }

  // 3. Record the outcome.
  Json refused = Json::array();
  for (const auto& r : sent.refused)
    refused.push_back({{"recipient", r.recipient}, {"code", r.reply.code}, {"reply", r.reply.text}});
  s = db_.Transact([&](pqxx::work& tx) -> Status {
    switch (sent.kind) {
      case SmtpOutcome::Kind::kSent: {
        tx.exec_params(
            "UPDATE emails SET status = 'SENT', attempts = attempts + $2, error = NULL, sent_at = now(), "
            "rejected_recipients = $3::jsonb WHERE message_id = $1",
            message_id, attempts, Dump(refused));
        Json event{{"notification_type", type}, {"subject", email.subject}, {"recipients", to}};
        if (!refused.empty()) event["rejected_recipients"] = refused;
        RecordAgentEvent(tx, email.incident_id, kAgent, "EMAIL_SENT", event, ts);
        break;
      }
      case SmtpOutcome::Kind::kRejected:
        tx.exec_params(
            "UPDATE emails SET status = 'FAILED', attempts = attempts + $2, error = $3, "
            "rejected_recipients = $4::jsonb WHERE message_id = $1",
            message_id, attempts, sent.error, Dump(refused));
        break;
      case SmtpOutcome::Kind::kTransient:
        // Not sent (PENDING: the retry sends it), or perhaps sent (SENDING: the retry is an
        // in-doubt resend, counted as such).
        tx.exec_params(
            "UPDATE emails SET status = $4, attempts = attempts + $2, error = $3 WHERE message_id = $1", message_id,
            attempts, sent.error, sent.in_doubt ? "SENDING" : "PENDING");
        break;
    }
    tx.exec_params("SELECT pg_advisory_unlock(hashtextextended($1, 0))", message_id);
    return Status::Ok();
  });
  if (!s.ok()) {
    unlock();
    return s;  // retried: kRecordOnly if it was sent, so nothing goes out twice
  }
  sent_unrecorded_.erase(message_id);
  if (!sent.refused.empty()) {
    counter("recipient_rejected").Inc(static_cast<double>(sent.refused.size()));
    if (sent.sent())
      log::Get(kAgent)->warn("{} email: the server refused {} of {} recipient(s), the others have it: {}", type,
                             sent.refused.size(), to.size(), Dump(refused));
  }
  switch (sent.kind) {
    case SmtpOutcome::Kind::kSent:
      counter("sent").Inc();
      log::Get(kAgent)->info("{} email sent to {} recipient(s)", type, to.size() - sent.refused.size());
      return Status::Ok();
    case SmtpOutcome::Kind::kRejected:
      counter("failed").Inc();
      log::Get(kAgent)->error("{} email rejected permanently: {}", type, sent.error);
      return Status::Ok();
    case SmtpOutcome::Kind::kTransient:
      break;
  }
  return sent.status();  // uncommitted: the consumer retries it until the server takes it
}

SmtpOutcome CommunicationService::Attempt(const std::vector<std::string>& to, const std::string& mime) {
  SmtpOutcome o = sender_(routing_.from, to, mime);
  const auto now = OutageLog::Clock::now();
  const std::string reason(ToString(o.reason));
  auto seconds = [&] { return std::chrono::duration<double>(outage_.duration(now)).count(); };
  if (!o.sent())
    Metrics().GetCounter("sre_smtp_failures_total", "Failed SMTP attempts by reason", {{"reason", reason}}).Inc();
  if (o.kind != SmtpOutcome::Kind::kTransient) {
    if (outage_.Answered(now) == OutageLog::Say::kOver)
      log::Get(kAgent)->info("SMTP works again after {:.1f} s ({} failed attempt(s))", seconds(), outage_.failures());
    return o;
  }
  switch (outage_.Failed(reason, now)) {
    case OutageLog::Say::kStarted:
      log::Get(kAgent)->error("SMTP unavailable ({}): {}; emails are held and retried until it works", reason, o.error);
      break;
    case OutageLog::Say::kContinues:
      log::Get(kAgent)->error("SMTP still unavailable after {:.0f} s, {} failed attempt(s) ({}): {}; emails are held",
                              seconds(), outage_.failures(), reason, o.error);
      break;
    default:
      log::Get(kAgent)->debug("SMTP attempt failed ({}): {}", reason, o.error);
  }
  return o;
}

}  // namespace sre::communication
