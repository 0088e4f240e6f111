// The SMTP outcome classification (shared/smtp.h) as a table of conversations libcurl could report,
// the transcript recorder that reads them, and the outage log's pacing (notifier.h).
#include <curl/curl.h>
#include <gtest/gtest.h>

#include "agents/communication/notifier.h"
#include "shared/smtp.h"

namespace sre {
namespace {

using Kind = SmtpOutcome::Kind;

// ">" lines are commands libcurl sent, "<" lines replies it received.
SmtpTranscript Conversation(int curl_code, const std::vector<std::string>& lines, bool body_sent = false) {
  SmtpTranscriptRecorder r;
  for (const auto& l : lines) {
    if (l[0] == '>') r.Sent(l.substr(1) + "\r\n");
    if (l[0] == '<') r.Received(l.substr(1) + "\r\n");
  }
  SmtpTranscript t = r.transcript();
  t.curl_code = curl_code;
  t.body_sent = body_sent;
  return t;
}

const std::vector<std::string> kUpToRcpt = {"<220 mx ESMTP", ">EHLO host", "<250-mx", "<250 AUTH PLAIN LOGIN",
                                            ">AUTH PLAIN AGFsaWNlAHNlY3JldA==", "<235 2.7.0 ok", ">MAIL FROM:<sre@x>",
                                            "<250 ok"};

std::vector<std::string> Then(std::vector<std::string> lines) {
  std::vector<std::string> all = kUpToRcpt;
  all.insert(all.end(), lines.begin(), lines.end());
  return all;
}

struct Row {
  std::string name;
  SmtpTranscript transcript;
  Kind kind;
  SmtpFailure reason;
  std::vector<std::string> refused = {};
  bool in_doubt = false;
};

TEST(SmtpClassifyTest, Table) {
  const std::vector<Row> rows = {
      // Sent, to everyone or to those the server accepted.
      {"all accepted", Conversation(CURLE_OK, Then({">RCPT TO:<a@x>", "<250 ok", ">DATA", "<354 go", "<250 queued"}), true),
       Kind::kSent, SmtpFailure::kTemporary},
      {"550 to one recipient", Conversation(CURLE_OK, Then({">RCPT TO:<a@x>", "<250 ok", ">RCPT TO:<b@x>",
                                                            "<550 5.1.1 mailbox unavailable", ">RCPT TO:<c@x>",
                                                            "<250 ok", ">DATA", "<354 go", "<250 queued"}), true),
       Kind::kSent, SmtpFailure::kTemporary, {"b@x"}},
      {"553 and 450 to two of three", Conversation(CURLE_OK, Then({">RCPT TO:<a@x>", "<553 bad address", ">RCPT TO:<b@x>",
                                                                   "<250 ok", ">RCPT TO:<c@x>", "<450 busy", ">DATA",
                                                                   "<354 go", "<250 queued"}), true),
       Kind::kSent, SmtpFailure::kTemporary, {"a@x", "c@x"}},
      // Authentication: the credentials are wrong or the server cannot check them now.
      {"535 bad credentials", Conversation(CURLE_LOGIN_DENIED, {"<220 mx", ">EHLO h", "<250 AUTH PLAIN", ">AUTH PLAIN eA==",
                                                                "<535 5.7.8 Error: Invalid username or password"}),
       Kind::kTransient, SmtpFailure::kAuth},
      {"534 mechanism too weak", Conversation(CURLE_LOGIN_DENIED, {"<220 mx", ">EHLO h", "<250 AUTH PLAIN", ">AUTH PLAIN eA==",
                                                                   "<534 5.7.9 Authentication mechanism is too weak"}),
       Kind::kTransient, SmtpFailure::kAuth},
      {"454 temporary auth failure", Conversation(CURLE_LOGIN_DENIED, {"<220 mx", ">EHLO h", "<250 AUTH PLAIN",
                                                                       ">AUTH PLAIN eA==", "<454 4.7.0 try later"}),
       Kind::kTransient, SmtpFailure::kAuth},
      {"530 authentication required at MAIL FROM",
       Conversation(CURLE_SEND_ERROR, {"<220 mx", ">EHLO h", "<250 AUTH PLAIN", ">MAIL FROM:<sre@x>",
                                       "<530 5.7.0 Authentication required"}),
       Kind::kTransient, SmtpFailure::kAuth},
      {"login denied without a reply", Conversation(CURLE_LOGIN_DENIED, {}), Kind::kTransient, SmtpFailure::kAuth},
      {"550 to the sender", Conversation(CURLE_SEND_ERROR, {"<220 mx", ">EHLO h", "<250 ok", ">MAIL FROM:<sre@x>",
                                                            "<550 5.7.1 sender not allowed"}),
       Kind::kTransient, SmtpFailure::kAuth},
      // The server or the connection.
      {"421 at the greeting", Conversation(CURLE_WEIRD_SERVER_REPLY, {"<421 4.3.2 shutting down"}), Kind::kTransient,
       SmtpFailure::kConnect},
      {"554 at the greeting", Conversation(CURLE_WEIRD_SERVER_REPLY, {"<554 no service"}), Kind::kTransient,
       SmtpFailure::kConnect},
      {"421 to a recipient, then the connection closes",
       Conversation(CURLE_SEND_ERROR, Then({">RCPT TO:<a@x>", "<250 ok", ">RCPT TO:<b@x>", "<421 4.4.2 timeout"})),
       Kind::kTransient, SmtpFailure::kConnect, {"b@x"}},
      {"connection lost after a refused recipient",
       Conversation(CURLE_RECV_ERROR, Then({">RCPT TO:<a@x>", "<550 no such user", ">RCPT TO:<b@x>"})), Kind::kTransient,
       SmtpFailure::kConnect, {"a@x"}},
      {"cannot connect", Conversation(CURLE_COULDNT_CONNECT, {}), Kind::kTransient, SmtpFailure::kConnect},
      {"cannot resolve", Conversation(CURLE_COULDNT_RESOLVE_HOST, {}), Kind::kTransient, SmtpFailure::kConnect},
      {"nothing from the server", Conversation(CURLE_GOT_NOTHING, {}), Kind::kTransient, SmtpFailure::kConnect},
      {"timeout before the greeting", Conversation(CURLE_OPERATION_TIMEDOUT, {}), Kind::kTransient,
       SmtpFailure::kTimeout},
      {"timeout waiting for the verdict",
       Conversation(CURLE_OPERATION_TIMEDOUT, Then({">RCPT TO:<a@x>", "<250 ok", ">DATA", "<354 go"}), true),
       Kind::kTransient, SmtpFailure::kTimeout, {}, true},
      {"connection lost during the body",
       Conversation(CURLE_SEND_ERROR, Then({">RCPT TO:<a@x>", "<250 ok", ">DATA", "<354 go"}), false), Kind::kTransient,
       SmtpFailure::kConnect},
      {"TLS handshake", Conversation(CURLE_SSL_CONNECT_ERROR, {}), Kind::kTransient, SmtpFailure::kTls},
      {"certificate", Conversation(CURLE_PEER_FAILED_VERIFICATION, {}), Kind::kTransient, SmtpFailure::kTls},
      {"STARTTLS not offered", Conversation(CURLE_USE_SSL_FAILED, {"<220 mx", ">EHLO h", "<250 ok"}), Kind::kTransient,
       SmtpFailure::kTls},
      {"STARTTLS refused", Conversation(CURLE_USE_SSL_FAILED, {"<220 mx", ">EHLO h", "<250 STARTTLS", ">STARTTLS",
                                                               "<454 4.7.0 TLS not available"}),
       Kind::kTransient, SmtpFailure::kTls},
      // Temporary refusals.
      {"450 at MAIL FROM", Conversation(CURLE_SEND_ERROR, {"<220 mx", ">EHLO h", "<250 ok", ">MAIL FROM:<sre@x>",
                                                           "<450 4.2.1 busy"}),
       Kind::kTransient, SmtpFailure::kTemporary},
      {"451 at the end of DATA",
       Conversation(CURLE_RECV_ERROR, Then({">RCPT TO:<a@x>", "<250 ok", ">DATA", "<354 go", "<451 4.3.0 local error"}),
                    true),
       Kind::kTransient, SmtpFailure::kTemporary},
      {"every recipient refused, one temporarily",
       Conversation(CURLE_SEND_ERROR, Then({">RCPT TO:<a@x>", "<550 no", ">RCPT TO:<b@x>", "<450 busy"})),
       Kind::kTransient, SmtpFailure::kTemporary, {"a@x", "b@x"}},
      // Refused for good.
      {"every recipient refused", Conversation(CURLE_SEND_ERROR, Then({">RCPT TO:<a@x>", "<550 5.1.1 no such user",
                                                                       ">RCPT TO:<b@x>", "<553 5.1.3 bad address"})),
       Kind::kRejected, SmtpFailure::kRejected, {"a@x", "b@x"}},
      {"552 too large at the end of DATA",
       Conversation(CURLE_RECV_ERROR, Then({">RCPT TO:<a@x>", "<250 ok", ">DATA", "<354 go", "<552 5.3.4 too big"}), true),
       Kind::kRejected, SmtpFailure::kRejected},
      {"554 at the end of DATA",
       Conversation(CURLE_RECV_ERROR, Then({">RCPT TO:<a@x>", "<250 ok", ">DATA", "<354 go",
                                            "<554 5.6.0 transaction failed"}), true),
       Kind::kRejected, SmtpFailure::kRejected},
      {"554 to DATA", Conversation(CURLE_SEND_ERROR, Then({">RCPT TO:<a@x>", "<250 ok", ">DATA", "<554 no valid recipients"})),
       Kind::kRejected, SmtpFailure::kRejected},
      {"552 at MAIL FROM (SIZE)", Conversation(CURLE_SEND_ERROR, {"<220 mx", ">EHLO h", "<250 SIZE 10", ">MAIL FROM:<s@x> SIZE=99",
                                                                  "<552 5.3.4 message size exceeds fixed limit"}),
       Kind::kRejected, SmtpFailure::kRejected},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.name);
    SmtpOutcome o = ClassifySmtp(row.transcript);
    EXPECT_EQ(o.kind, row.kind);
    if (row.kind != Kind::kSent) {
      EXPECT_EQ(ToString(o.reason), ToString(row.reason));
      EXPECT_FALSE(o.error.empty());
    }
    std::vector<std::string> refused;
    for (const auto& r : o.refused) refused.push_back(r.recipient);
    EXPECT_EQ(refused, row.refused);
    EXPECT_EQ(o.in_doubt, row.in_doubt);
    EXPECT_EQ(o.status().ok(), row.kind == Kind::kSent);
    EXPECT_EQ(o.status().transient(), row.kind == Kind::kTransient);
    EXPECT_EQ(o.status().invalid(), row.kind == Kind::kRejected);
  }
}

TEST(SmtpClassifyTest, ErrorsCarryTheServerReply) {
  auto o = ClassifySmtp(Conversation(CURLE_LOGIN_DENIED, {"<220 mx", ">EHLO h", "<250 AUTH PLAIN", ">AUTH PLAIN eA==",
                                                          "<535 5.7.8 Error: Invalid username or password"}));
  EXPECT_EQ(o.error, "AUTH refused: 535 5.7.8 Error: Invalid username or password");
  o = ClassifySmtp(Conversation(CURLE_SEND_ERROR, Then({">RCPT TO:<a@x>", "<550 5.1.1 no such user"})));
  EXPECT_EQ(o.error, "every recipient refused: a@x: 550 5.1.1 no such user");
  ASSERT_EQ(o.refused.size(), 1u);
  EXPECT_EQ(o.refused[0].reply.code, 550);
  EXPECT_EQ(o.refused[0].reply.text, "5.1.1 no such user");
}

TEST(SmtpTranscriptTest, MultiLineRepliesSplitReadsAndQuitAfterAFailure) {
  SmtpTranscriptRecorder r;
  r.Received("220 mx ESMTP\r\n");
  r.Sent("EHLO host\r\n");
  r.Received("250-mx greets you\r\n250-PIPE");  // a line split across reads
  r.Received("LINING\r\n250 8BITMIME\r\n");
  EXPECT_EQ(r.transcript().step, SmtpStep::kHello);
  EXPECT_EQ(r.transcript().reply.code, 250);
  EXPECT_EQ(r.transcript().reply.text, "mx greets you PIPELINING 8BITMIME");
  r.Sent("MAIL FROM:<sre@x>\r\n");
  r.Received("530-5.7.0 Authentication\r\n530 5.7.0 required\r\n");
  r.Sent("QUIT\r\n");  // libcurl closes the connection after a failure
  r.Received("221 bye\r\n");
  EXPECT_EQ(r.transcript().step, SmtpStep::kMailFrom);
  EXPECT_EQ(r.transcript().reply.code, 530);
  EXPECT_EQ(r.transcript().reply.text, "5.7.0 Authentication 5.7.0 required");
}

TEST(SmtpTranscriptTest, RecipientsPairWithTheirRepliesAndDataStartsTheBody) {
  SmtpTranscriptRecorder r;
  r.Sent("RCPT TO:<a@x> NOTIFY=NEVER\r\n");
  r.Received("250 ok\r\n");
  r.Sent("RCPT TO:<b@x>\r\n");
  r.Received("550 5.1.1 <b@x>: no such user\r\n");
  r.Sent("DATA\r\n");
  r.Received("354 go ahead\r\n");
  const auto& t = r.transcript();
  ASSERT_EQ(t.recipients.size(), 2u);
  EXPECT_EQ(t.recipients[0].recipient, "a@x");
  EXPECT_EQ(t.recipients[0].reply.code, 250);
  EXPECT_EQ(t.recipients[1].recipient, "b@x");
  EXPECT_EQ(t.recipients[1].reply.code, 550);
  EXPECT_EQ(t.step, SmtpStep::kEndOfData);
  EXPECT_EQ(t.reply.code, 0);  // the verdict on the message has not come yet
}

TEST(SmtpTranscriptTest, SaslResponsesAreNeverKept) {
  SmtpTranscriptRecorder r;
  r.Sent("AUTH LOGIN\r\n");
  r.Received("334 VXNlcm5hbWU6\r\n");
  r.Sent("REFUQQ==\r\n");  // the user name, base64: "DATA" — must not read as the DATA command
  r.Received("334 UGFzc3dvcmQ6\r\n");
  r.Sent("c2VjcmV0\r\n");
  r.Received("535 5.7.8 bad credentials\r\n");
  const auto& t = r.transcript();
  EXPECT_EQ(t.step, SmtpStep::kAuth);
  EXPECT_EQ(t.reply.code, 535);
  EXPECT_TRUE(t.recipients.empty());
  EXPECT_EQ(t.reply.text.find("c2VjcmV0"), std::string::npos);
  EXPECT_EQ(ClassifySmtp([&] {
              SmtpTranscript c = t;
              c.curl_code = CURLE_LOGIN_DENIED;
              return c;
            }()).reason,
            SmtpFailure::kAuth);
}

TEST(SmtpTest, RedactUrlDropsCredentials) {
  EXPECT_EQ(RedactUrl("smtp://user:secret@mail.example.com:587"), "smtp://mail.example.com:587");
  EXPECT_EQ(RedactUrl("smtps://u:p@ss@mail.example.com/dom"), "smtps://mail.example.com/dom");
  EXPECT_EQ(RedactUrl("smtp://localhost:1025"), "smtp://localhost:1025");
  EXPECT_EQ(RedactUrl("smtp://host/a@b"), "smtp://host/a@b");
}

}  // namespace

namespace communication {
namespace {

TEST(OutageLogTest, LoudAtTheStartAtMostOnceAMinuteAndOnceWhenOver) {
  using namespace std::chrono_literals;
  OutageLog log(60s);
  const auto t0 = OutageLog::Clock::time_point{} + 1000h;
  EXPECT_EQ(log.Answered(t0), OutageLog::Say::kNothing);  // nothing to report without an outage
  EXPECT_FALSE(log.ongoing());
  EXPECT_EQ(log.Failed("auth", t0), OutageLog::Say::kStarted);
  EXPECT_TRUE(log.ongoing());
  EXPECT_EQ(log.Failed("auth", t0 + 200ms), OutageLog::Say::kNothing);
  EXPECT_EQ(log.Failed("auth", t0 + 59s), OutageLog::Say::kNothing);
  EXPECT_EQ(log.Failed("auth", t0 + 60s), OutageLog::Say::kContinues);
  EXPECT_EQ(log.Failed("auth", t0 + 75s), OutageLog::Say::kNothing);
  EXPECT_EQ(log.Failed("connect", t0 + 80s), OutageLog::Say::kContinues);  // a new reason is news
  EXPECT_EQ(log.Failed("connect", t0 + 139s), OutageLog::Say::kNothing);
  EXPECT_EQ(log.Failed("connect", t0 + 140s), OutageLog::Say::kContinues);
  EXPECT_EQ(log.failures(), 8);
  EXPECT_EQ(log.Answered(t0 + 150s), OutageLog::Say::kOver);
  EXPECT_FALSE(log.ongoing());
  EXPECT_EQ(log.failures(), 8);
  EXPECT_EQ(log.duration(t0 + 150s), 150s);
  EXPECT_EQ(log.Answered(t0 + 151s), OutageLog::Say::kNothing);
  EXPECT_EQ(log.Failed("timeout", t0 + 152s), OutageLog::Say::kStarted);  // a new outage
  EXPECT_EQ(log.failures(), 1);
}

}  // namespace
}  // namespace communication
}  // namespace sre
