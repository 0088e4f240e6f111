#pragma once
// Sending mail over SMTP with libcurl. SMTP_URL: smtp://host:port (plain, or STARTTLS when
// SMTP_STARTTLS=true), smtps://host:port (implicit TLS); optional user:password@ in the URL or
// SMTP_USERNAME / SMTP_PASSWORD. One attempt per call; the caller decides about retries.
// Thread-safe (each call uses its own curl handle).
//
// An attempt ends in one of three ways (ClassifySmtp, a pure function of what libcurl saw):
//   - sent: the server took the message for at least one recipient. Recipients it refused at
//     RCPT TO are listed and do not get it; the others do (libcurl's MAIL_RCPT_ALLOWFAILS).
//   - transient: the server did not take it, and a later attempt can succeed without changing
//     the message: cannot connect or resolve, TLS/STARTTLS failure, timeout, connection dropped,
//     421, authentication refused (535, 534, 530, 454 — the credentials are configuration, so
//     the fix is outside the message), the sender refused at MAIL FROM (EMAIL_FROM or the
//     account's rights, likewise), any other 4xx, or every recipient refused with at least one
//     4xx among the refusals.
//   - rejected: refused for good: 5xx to DATA or to the end of the data (552 too large, 554
//     transaction failed), 552 at MAIL FROM (too large), or every recipient refused with 5xx.
// A recipient refused with 4xx while others took the message is reported like a 5xx one (with
// its code): retrying it alone would hold back every later email behind one mailbox.
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "shared/config.h"
#include "shared/status.h"

namespace sre {

struct SmtpOptions {
  std::string url = "smtp://localhost:1025";
  bool starttls = false;
  std::string username;
  Secret password;
  std::chrono::milliseconds timeout{15000};
};

// Reads SMTP_URL, SMTP_STARTTLS, SMTP_USERNAME, SMTP_PASSWORD, SMTP_TIMEOUT_MS.
SmtpOptions SmtpOptionsFromConfig(Config& config);

// The SMTP command a server reply answers (kGreeting: the banner, before any command).
enum class SmtpStep { kGreeting, kHello, kStartTls, kAuth, kMailFrom, kRcptTo, kData, kEndOfData };
std::string_view ToString(SmtpStep step);

struct SmtpReply {
  int code = 0;      // 0: no reply
  std::string text;  // the lines' text after the code, joined by a space
};

struct RecipientReply {
  std::string recipient;
  SmtpReply reply;
};

// One attempt as libcurl saw it.
struct SmtpTranscript {
  int curl_code = 0;       // the CURLcode of curl_easy_perform
  std::string curl_error;  // libcurl's error text, may be empty
  SmtpStep step = SmtpStep::kGreeting;  // the last command sent (QUIT aside)
  SmtpReply reply;                      // the reply to it; code 0 when none came
  std::vector<RecipientReply> recipients;  // the reply to every RCPT TO, in order
  bool body_sent = false;  // libcurl took the whole message body
};

// Builds an SmtpTranscript from the conversation libcurl reports to CURLOPT_DEBUGFUNCTION
// (commands as CURLINFO_HEADER_OUT, reply lines as CURLINFO_HEADER_IN). Keeps the command verb
// only: AUTH arguments and SASL responses (credentials) are never stored.
class SmtpTranscriptRecorder {
 public:
  // One or more CRLF-terminated command lines.
  void Sent(std::string_view data);
  // Reply data, as received (lines may come in one call or several).
  void Received(std::string_view data);
  SmtpTranscript& transcript() { return t_; }

 private:
  void ReplyLine(std::string_view line);
  SmtpTranscript t_;
  bool quitting_ = false;
  bool sasl_continue_ = false;  // AUTH got 334: the next line sent is a SASL response
  std::string pending_, text_;  // a partial line; the text of a multi-line reply so far
};

// Why an attempt failed: the `reason` label of sre_smtp_failures_total.
enum class SmtpFailure { kAuth, kConnect, kTls, kTimeout, kTemporary, kRejected };
std::string_view ToString(SmtpFailure reason);

struct SmtpOutcome {
  enum class Kind { kSent, kTransient, kRejected };
  Kind kind = Kind::kSent;
  SmtpFailure reason = SmtpFailure::kTemporary;  // when not sent: kRejected for kRejected
  std::string error;                             // when not sent: what failed, with the reply
  std::vector<RecipientReply> refused;           // recipients refused at RCPT TO
  // kTransient after the whole message went out but before the server's verdict (timeout or
  // connection lost at the end of DATA): the server may have kept it.
  bool in_doubt = false;

  bool sent() const { return kind == Kind::kSent; }
  // Ok when sent, Transient or Invalid with `error` otherwise.
  Status status() const;
};

SmtpOutcome ClassifySmtp(const SmtpTranscript& transcript);

// "smtps://host:port/…" without any user:password@.
std::string RedactUrl(const std::string& url);

// Sends an RFC 5322 message to `recipients` (MAIL_RCPT_ALLOWFAILS: refused recipients do not stop
// the others). `error` names the server by its redacted URL; credentials never appear.
SmtpOutcome SendMail(const SmtpOptions& options, const std::string& from,
                     const std::vector<std::string>& recipients, const std::string& message);

// Whether the SMTP server answers: connects (TLS for smtps), reads its greeting and says EHLO,
// within `timeout`; sends no mail and does not log in. Empty when it answered, else the problem
// (naming the server by its redacted URL). For /healthz.
std::string SmtpProbe(const SmtpOptions& options, std::chrono::milliseconds timeout);

}  // namespace sre
