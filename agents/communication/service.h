#pragma once
// The communication agent's IO shell: one email per lifecycle stage, chosen by topic. Each email
// is recorded in `emails` (unique per incident and type) and committed as SENDING before the SMTP
// conversation, then marked SENT (or FAILED) after; a redelivered message finds it SENT and sends
// nothing. A session advisory lock on the Message-ID serialises replicas. A row found in SENDING
// means its sender died mid-conversation: SMTP cannot say whether the server kept the message, so
// it is resent with the same Message-ID (receivers drop the copy) and counted in
// `in_doubt_resends`. SMTP failures are retried 3 times with backoff; if the server stays down the
// message is not committed and comes back later. Not thread-safe: one instance per consumer.
#include <functional>
#include <set>

#include "agents/communication/notifier.h"
#include "shared/kafka.h"
#include "shared/postgres.h"
#include "shared/smtp.h"

namespace sre::communication {

// Sends one composed message; SendMail in production, a fake in unit tests.
using Sender = std::function<Status(const std::string& from, const std::vector<std::string>& to, const std::string& mime)>;

class CommunicationService : public MessageHandler {
 public:
  CommunicationService(Database& db, Routing routing, Templates templates, std::string dashboard_url, Sender sender,
                       std::chrono::milliseconds retry_initial = std::chrono::milliseconds(500));
  Status Handle(const InboundMessage& message) override;

 private:
  Expected<Email> Build(const InboundMessage& m, int64_t& ts);
  Status Deliver(const Email& email, int64_t ts);

  Database& db_;
  Routing routing_;
  Templates templates_;
  std::string dashboard_url_;
  Sender sender_;
  std::chrono::milliseconds retry_initial_;
  // Sent by this process, SENT not yet recorded (PostgreSQL failed after the send): the retry
  // records it without sending again.
  std::set<std::string> sent_unrecorded_;
};

}  // namespace sre::communication
