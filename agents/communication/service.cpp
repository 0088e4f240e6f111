#include "agents/communication/service.h"

#include <thread>

#include "agents/postmortem/service.h"
#include "shared/log.h"
#include "shared/metrics.h"

namespace sre::communication {
namespace {

constexpr const char* kAgent = "communication";
constexpr int kAttempts = 3;

struct IncidentFacts {
  Severity severity = Severity::LOW;
  std::string service, top_root_cause;
  AnomalyType type = AnomalyType::UNKNOWN;
};

Expected<IncidentFacts> Facts(Database& db, const std::string& id) {
  IncidentFacts f;
  bool found = false;
  Status s = db.Transact([&](pqxx::work& tx) {
    auto rows = tx.exec_params(
        "SELECT severity, service, anomaly_type, COALESCE(top_root_cause, '') FROM incidents WHERE id = $1::uuid", id);
    if (rows.empty()) return Status::Ok();
    found = true;
    f.severity = ParseEnum<Severity>(rows[0][0].as<std::string>()).value_or(Severity::LOW);
    f.service = rows[0][1].as<std::string>();
    f.type = ParseEnum<AnomalyType>(rows[0][2].as<std::string>()).value_or(AnomalyType::UNKNOWN);
    f.top_root_cause = rows[0][3].as<std::string>();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (!found) return Status::Transient("incident " + id + " not in the database yet");
  return f;
}

}  // namespace

CommunicationService::CommunicationService(Database& db, Routing routing, Templates templates, std::string dashboard_url,
                                           Sender sender, std::chrono::milliseconds retry_initial)
    : db_(db),
      routing_(std::move(routing)),
      templates_(std::move(templates)),
      dashboard_url_(std::move(dashboard_url)),
      sender_(std::move(sender)),
      retry_initial_(retry_initial) {}

Expected<Email> CommunicationService::Build(const InboundMessage& m, int64_t& ts) {
  if (m.topic == topics::kAnomaliesDetected) {
    auto a = Decode<AnomalyDetected>(m.payload);
    if (!a.ok()) return a.status();
    ts = a->timestamp;
    return AlertEmail(*a, dashboard_url_);
  }
  if (m.topic == topics::kRcaCompleted) {
    auto r = Decode<RcaCompleted>(m.payload);
    if (!r.ok()) return r.status();
    auto f = Facts(db_, r->incident_id);
    if (!f.ok()) return f.status();
    ts = r->timestamp;
    return RcaEmail(*r, f->severity, f->service, f->type, dashboard_url_);
  }
  if (m.topic == topics::kRemediationPlans) {
    auto p = Decode<RemediationPlan>(m.payload);
    if (!p.ok()) return p.status();
    auto f = Facts(db_, p->incident_id);
    if (!f.ok()) return f.status();
    ts = p->timestamp;
    return PlanEmail(*p, f->severity, f->service, f->type, dashboard_url_);
  }
  if (m.topic == topics::kIncidentsResolved) {
    auto r = Decode<IncidentResolved>(m.payload);
    if (!r.ok()) return r.status();
    auto f = Facts(db_, r->incident_id);
    if (!f.ok()) return f.status();
    std::vector<TimelineLine> lines;
    Status s = db_.Transact([&](pqxx::work& tx) {
      for (const auto& e : postmortem::LoadTimeline(tx, r->incident_id)) {
        if (e.event_type == "EMAIL_SENT") continue;
        std::string d = postmortem::DescribeEvent(e);
        lines.push_back({d.substr(0, 8), d.substr(9)});
      }
      return Status::Ok();
    });
    if (!s.ok()) return s;
    ts = r->timestamp;
    return ResolvedEmail(*r, f->severity, f->service, f->type, lines, f->top_root_cause, dashboard_url_);
  }
  if (m.topic == topics::kPostmortemsGenerated) {
    auto p = Decode<PostmortemGenerated>(m.payload);
    if (!p.ok()) return p.status();
    auto f = Facts(db_, p->incident_id);
    if (!f.ok()) return f.status();
    ts = p->timestamp;
    return PostmortemEmail(*p, f->severity, f->service, f->type, dashboard_url_);
  }
  return Status::Invalid("communication does not consume topic " + m.topic);
}

Status CommunicationService::Handle(const InboundMessage& m) {
  int64_t ts = 0;
  auto email = Build(m, ts);
  if (!email.ok()) return email.status();
  return Deliver(*email, ts);
}

Status CommunicationService::Deliver(const Email& email, int64_t ts) {
  log::LogScope scope("incident_id", email.incident_id);
  auto rendered = Render(templates_, email);
  if (!rendered.ok()) return rendered.status();
  auto to = Recipients(email.type, email.severity, routing_);
  std::string mime = ComposeMime(routing_.from, to, email, *rendered, ts);
  const std::string type(ToString(email.type));
  const std::string message_id = MessageId(email.incident_id, email.type);
  auto counter = [&](const char* outcome) -> Counter& {
    return Metrics().GetCounter("sre_emails_total", "Emails by type and outcome", {{"type", type}, {"outcome", outcome}});
  };

  // 1. Claim. A session advisory lock on the Message-ID keeps a second replica from sending the
  // same email at the same time, and is released by PostgreSQL if this process dies. SENDING is
  // committed before the SMTP conversation: finding it here means the previous sender died
  // mid-conversation, so the email is in doubt.
  enum class Claim { kSend, kAlreadySent, kRecordOnly } claim = Claim::kSend;
  bool in_doubt = false;
  Status s = db_.Transact([&](pqxx::work& tx) -> Status {
    if (!tx.exec_params1("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", message_id)[0].as<bool>())
      return Status::Transient("another sender holds " + message_id);
    tx.exec_params(
        "INSERT INTO emails (incident_id, notification_type, message_id, recipients, subject, body_html, body_text) "
        "VALUES ($1::uuid, $2, $3, $4::jsonb, $5, $6, $7) ON CONFLICT (incident_id, notification_type) DO NOTHING",
        email.incident_id, type, message_id, Json(to).dump(), email.subject, rendered->html, rendered->text);
    std::string status = tx.exec_params1("SELECT status FROM emails WHERE message_id = $1", message_id)[0].as<std::string>();
    if (status == "SENT") {
      claim = Claim::kAlreadySent;
    } else if (status == "SENDING" && sent_unrecorded_.count(message_id)) {
      claim = Claim::kRecordOnly;  // this process sent it; only the SENT update was lost
    } else {
      in_doubt = status == "SENDING";
      tx.exec_params(
          "UPDATE emails SET status = 'SENDING', in_doubt_resends = in_doubt_resends + $2 WHERE message_id = $1",
          message_id, in_doubt ? 1 : 0);
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
  Status sent = Status::Ok();
  int attempts = 0;
  if (claim == Claim::kSend) {
    if (in_doubt) {
      log::Get(kAgent)->warn("{} email is in doubt (its sender stopped mid-conversation): resending as {}", type, message_id);
      counter("resent_in_doubt").Inc();
    }
    sent = Status::Transient("not attempted");
    for (; attempts < kAttempts; ++attempts) {
      if (attempts) std::this_thread::sleep_for(Backoff(attempts - 1, retry_initial_, std::chrono::seconds(5)));
      sent = sender_(routing_.from, to, mime);
      if (sent.ok() || !sent.transient()) {
        ++attempts;
        break;
      }
    }
    if (sent.ok()) sent_unrecorded_.insert(message_id);
  }

  // 3. Record the outcome.
  s = db_.Transact([&](pqxx::work& tx) -> Status {
    if (sent.ok()) {
      tx.exec_params(
          "UPDATE emails SET status = 'SENT', attempts = attempts + $2, error = NULL, sent_at = now() WHERE message_id = $1",
          message_id, attempts);
      RecordAgentEvent(tx, email.incident_id, kAgent, "EMAIL_SENT",
                       Json{{"notification_type", type}, {"subject", email.subject}, {"recipients", to}}, ts);
    } else {
      tx.exec_params("UPDATE emails SET status = 'FAILED', attempts = attempts + $2, error = $3 WHERE message_id = $1",
                     message_id, attempts, sent.message());
    }
    tx.exec_params("SELECT pg_advisory_unlock(hashtextextended($1, 0))", message_id);
    return Status::Ok();
  });
  if (!s.ok()) {
    unlock();
    return s;  // retried: kRecordOnly if it was sent, so nothing goes out twice
  }
  sent_unrecorded_.erase(message_id);
  if (sent.ok()) {
    counter("sent").Inc();
    log::Get(kAgent)->info("{} email sent to {} recipient(s)", type, to.size());
    return Status::Ok();
  }
  counter("failed").Inc();
  if (sent.transient()) return sent;  // keep the message uncommitted: it is retried until the server is back
  log::Get(kAgent)->error("{} email rejected permanently: {}", type, sent.message());
  return Status::Ok();
}

}  // namespace sre::communication
