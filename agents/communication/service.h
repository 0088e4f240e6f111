#pragma once
// The communication agent's IO shell: one email per lifecycle stage, chosen by topic. Each email
// is recorded in `emails` (unique per incident and type) and committed as SENDING before the SMTP
// conversation, then marked SENT (or FAILED) after; a redelivered message finds it SENT and sends
// nothing. A session advisory lock on the Message-ID serialises replicas. A row found in SENDING
// means its sender died mid-conversation: SMTP cannot say whether the server kept the message, so
// it is resent with the same Message-ID (receivers drop the copy) and counted in
// `in_doubt_resends`. The outcome of the SMTP attempt (shared/smtp.h) decides the rest:
//   - transient (server down, TLS, timeout, credentials or sender refused, 4xx): Handle returns
//     Transient, so the consumer keeps the message and retries it with backoff until the server
//     works again; the row goes back to PENDING with the error (SENDING when the server may have
//     kept the message, so the retry counts as an in-doubt resend). Short blips are retried up to
//     3 times in Handle; a timeout, a refused login, or an outage already under way gets one
//     attempt per call, so the consumer thread is never held long. Each failed attempt counts in
//     sre_smtp_failures_total{reason}; the outage is logged at error level when it starts, at
//     most once a minute while it lasts, and at info level when mail flows again.
//   - sent: SENT; recipients the server refused are kept in `rejected_recipients` (address, code,
//     reply), logged and counted (sre_emails_total{outcome="recipient_rejected"}, per recipient).
//   - rejected for good (the message, or every recipient): FAILED with the reason; committed.
//
// Before the email, the stage is routed (routes.h) and written to the outbox of the chat, paging
// and webhook channels (dispatcher.h) in its own transaction: their workers deliver it, so an
// SMTP outage never holds a page back, and a redelivered message adds nothing. A stage the
// routing keeps off email sends no email.
// Not thread-safe: one instance per consumer.
#include <functional>
#include <map>
#include <set>

#include "agents/communication/notifier.h"
#include "agents/communication/routes.h"
#include "shared/services.h"
#include "shared/kafka.h"
#include "shared/postgres.h"
#include "shared/smtp.h"

namespace sre::communication {

// Sends one composed message: SendMail in production, or a sender wrapping it in tests.
using Sender =
    std::function<SmtpOutcome(const std::string& from, const std::vector<std::string>& to, const std::string& mime)>;

struct NotifySettings {
  RouteTable routes;                    // empty rules: every stage by email, as routed by severity
  std::set<Channel> enabled;            // the HTTP channels whose variables are set
  const ServiceCatalog* catalog = nullptr;  // team, owner and on-call of a service
};

class CommunicationService : public MessageHandler {
 public:
  CommunicationService(Database& db, Routing routing, Templates templates, std::string dashboard_url, Sender sender,
                       std::chrono::milliseconds retry_initial = std::chrono::milliseconds(500));
  Status Handle(const InboundMessage& message) override;
  void SetNotifications(NotifySettings settings) { notify_ = std::move(settings); }

 private:
  struct Facts {
    Severity severity = Severity::LOW;
    std::string service, top_root_cause, status;
    AnomalyType type = AnomalyType::UNKNOWN;
  };
  Expected<Facts> LoadFacts(const std::string& incident_id);
  Expected<Email> Build(const InboundMessage& m, int64_t& ts, Facts& facts);
  // The recipients of an email the routing gave audiences or addresses to.
  std::vector<std::string> Expand(const std::vector<std::string>& audiences, const std::string& service) const;
  Status Deliver(const Email& email, int64_t ts, const std::vector<std::string>& to);
  // One SMTP attempt, with its metric and outage logging.
  SmtpOutcome Attempt(const std::vector<std::string>& to, const std::string& mime);

  Database& db_;
  Routing routing_;
  Templates templates_;
  std::string dashboard_url_;
  Sender sender_;
  std::chrono::milliseconds retry_initial_;
  // Sent by this process, SENT not yet recorded (PostgreSQL failed after the send), with the
  // recipients the server refused: the retry records it without sending again.
  std::map<std::string, std::vector<RecipientReply>> sent_unrecorded_;
  OutageLog outage_;
  NotifySettings notify_;
};

}  // namespace sre::communication
