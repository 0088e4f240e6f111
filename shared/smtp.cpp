#include "shared/smtp.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <mutex>

#include "shared/text.h"

namespace sre {
namespace {

// A reply's text goes into logs and the emails table: bounded and valid UTF-8.
constexpr size_t kMaxReplyText = 300;

struct Upload {
  const std::string* data;
  size_t offset = 0;
};

size_t ReadBody(char* buffer, size_t size, size_t nitems, void* userdata) {
  auto* u = static_cast<Upload*>(userdata);
  size_t room = size * nitems;
  size_t left = u->data->size() - u->offset;
  size_t n = std::min(room, left);
  std::memcpy(buffer, u->data->data() + u->offset, n);
  u->offset += n;
  return n;
}

int Debug(CURL*, curl_infotype type, char* data, size_t size, void* userdata) {
  auto* recorder = static_cast<SmtpTranscriptRecorder*>(userdata);
  if (type == CURLINFO_HEADER_OUT) recorder->Sent(std::string_view(data, size));
  if (type == CURLINFO_HEADER_IN) recorder->Received(std::string_view(data, size));
  return 0;
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string Describe(const SmtpReply& r) {
  return std::to_string(r.code) + (r.text.empty() ? "" : " " + r.text);
}

// What a failing reply (4xx/5xx) to `step` means.
SmtpOutcome FromReply(SmtpStep step, const SmtpReply& reply) {
  SmtpOutcome o;
  o.kind = SmtpOutcome::Kind::kTransient;
  const int code = reply.code;
  o.error = std::string(ToString(step)) + " refused: " + Describe(reply);
  if (code == 421) {
    o.reason = SmtpFailure::kConnect;  // the server is closing the channel, whatever the step
    o.error = "the server closed the connection: " + Describe(reply);
    return o;
  }
  if (code == 530) {
    o.reason = SmtpFailure::kAuth;  // authentication required
    return o;
  }
  switch (step) {
    case SmtpStep::kGreeting:
    case SmtpStep::kHello:
      o.reason = SmtpFailure::kConnect;  // the server does not serve us (yet): not the message
      return o;
    case SmtpStep::kStartTls:
      o.reason = SmtpFailure::kTls;
      return o;
    case SmtpStep::kAuth:
      o.reason = SmtpFailure::kAuth;
      return o;
    case SmtpStep::kMailFrom:
      if (code == 552) break;  // the declared SIZE is over the server's limit: this message
      // The sender is EMAIL_FROM for every email: a refusal is about configuration or the
      // account's rights, fixed outside the message, so the email waits for it.
      o.reason = code / 100 == 4 ? SmtpFailure::kTemporary : SmtpFailure::kAuth;
      return o;
    case SmtpStep::kRcptTo:
    case SmtpStep::kData:
    case SmtpStep::kEndOfData:
      break;
  }
  if (code / 100 == 4) {
    o.reason = SmtpFailure::kTemporary;
    return o;
  }
  o.kind = SmtpOutcome::Kind::kRejected;
  o.reason = SmtpFailure::kRejected;
  return o;
}

SmtpOutcome FromCurlCode(const SmtpTranscript& t) {
  SmtpOutcome o;
  o.kind = SmtpOutcome::Kind::kTransient;
  switch (t.curl_code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_PARTIAL_FILE:
      o.reason = SmtpFailure::kConnect;
      break;
    case CURLE_OPERATION_TIMEDOUT:
      o.reason = SmtpFailure::kTimeout;
      break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
      o.reason = SmtpFailure::kTls;
      break;
    case CURLE_LOGIN_DENIED:
    case CURLE_AUTH_ERROR:
      o.reason = SmtpFailure::kAuth;
      break;
    default:
      o.reason = SmtpFailure::kTemporary;
  }
  o.error = t.curl_error.empty() ? curl_easy_strerror(static_cast<CURLcode>(t.curl_code)) : t.curl_error;
  if (t.step != SmtpStep::kGreeting) o.error += " (at " + std::string(ToString(t.step)) + ")";
  // The whole message went out and the verdict never came: the server may have kept it.
  o.in_doubt = t.body_sent && t.step == SmtpStep::kEndOfData;
  return o;
}

std::string ListRefusals(const std::vector<RecipientReply>& refused) {
  std::string out;
  for (const auto& r : refused) out += (out.empty() ? "" : "; ") + r.recipient + ": " + Describe(r.reply);
  return out;
}

}  // namespace

std::string_view ToString(SmtpStep step) {
  switch (step) {
    case SmtpStep::kGreeting:
      return "greeting";
    case SmtpStep::kHello:
      return "EHLO";
    case SmtpStep::kStartTls:
      return "STARTTLS";
    case SmtpStep::kAuth:
      return "AUTH";
    case SmtpStep::kMailFrom:
      return "MAIL FROM";
    case SmtpStep::kRcptTo:
      return "RCPT TO";
    case SmtpStep::kData:
      return "DATA";
    case SmtpStep::kEndOfData:
      return "end of DATA";
  }
  return "?";
}

std::string_view ToString(SmtpFailure reason) {
  switch (reason) {
    case SmtpFailure::kAuth:
      return "auth";
    case SmtpFailure::kConnect:
      return "connect";
    case SmtpFailure::kTls:
      return "tls";
    case SmtpFailure::kTimeout:
      return "timeout";
    case SmtpFailure::kTemporary:
      return "temporary";
    case SmtpFailure::kRejected:
      return "rejected";
  }
  return "?";
}

void SmtpTranscriptRecorder::Sent(std::string_view data) {
  while (!data.empty()) {
    size_t end = data.find('\n');
    std::string_view line = data.substr(0, end);
    data = end == std::string_view::npos ? std::string_view() : data.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (sasl_continue_) {  // a SASL response: still AUTH, and not ours to keep
      sasl_continue_ = false;
      continue;
    }
    std::string verb = Upper(line.substr(0, line.find_first_of(" :")));
    SmtpStep step;
    if (verb == "QUIT") {
      quitting_ = true;
      continue;
    } else if (verb == "EHLO" || verb == "HELO") {
      step = SmtpStep::kHello;
    } else if (verb == "STARTTLS") {
      step = SmtpStep::kStartTls;
    } else if (verb == "AUTH") {
      step = SmtpStep::kAuth;
    } else if (verb == "MAIL") {
      step = SmtpStep::kMailFrom;
    } else if (verb == "RCPT") {
      step = SmtpStep::kRcptTo;
      size_t open = line.find('<'), close = line.find('>', open);
      std::string_view address = open == std::string_view::npos || close == std::string_view::npos
                                     ? line.substr(std::min(line.size(), size_t{8}))  // "RCPT TO:"
                                     : line.substr(open + 1, close - open - 1);
      t_.recipients.push_back({std::string(address), {}});
    } else if (verb == "DATA") {
      step = SmtpStep::kData;
    } else {
      continue;  // RSET, NOOP, …: not part of sending a message
    }
    quitting_ = false;
    t_.step = step;
    t_.reply = {};
    text_.clear();
  }
}

void SmtpTranscriptRecorder::Received(std::string_view data) {
  pending_.append(data);
  size_t start = 0, end;
  while ((end = pending_.find('\n', start)) != std::string::npos) {
    std::string_view line(pending_.data() + start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ReplyLine(line);
    start = end + 1;
  }
  pending_.erase(0, start);
}

void SmtpTranscriptRecorder::ReplyLine(std::string_view line) {
  if (line.size() < 3 || !std::all_of(line.begin(), line.begin() + 3, [](char c) { return c >= '0' && c <= '9'; }))
    return;
  const bool last = line.size() == 3 || line[3] != '-';
  if (line.size() > 4 && text_.size() < kMaxReplyText)
    text_ += (text_.empty() ? "" : " ") + std::string(line.substr(4));
  if (!last) return;
  SmtpReply reply{std::stoi(std::string(line.substr(0, 3))), TruncateUtf8(SanitizeUtf8(text_), kMaxReplyText)};
  text_.clear();
  if (quitting_) return;
  if (t_.step == SmtpStep::kRcptTo && !t_.recipients.empty() && t_.recipients.back().reply.code == 0)
    t_.recipients.back().reply = reply;
  if (t_.step == SmtpStep::kAuth && reply.code == 334) sasl_continue_ = true;
  if (t_.step == SmtpStep::kData && reply.code == 354) {
    t_.step = SmtpStep::kEndOfData;  // the body follows; the next reply is the verdict
    t_.reply = {};
    return;
  }
  t_.reply = std::move(reply);
}

Status SmtpOutcome::status() const {
  switch (kind) {
    case Kind::kSent:
      return Status::Ok();
    case Kind::kTransient:
      return Status::Transient(error);
    case Kind::kRejected:
      return Status::Invalid(error);
  }
  return Status::Transient(error);
}

SmtpOutcome ClassifySmtp(const SmtpTranscript& t) {
  std::vector<RecipientReply> refused;
  for (const auto& r : t.recipients)
    if (r.reply.code >= 400) refused.push_back(r);
  if (t.curl_code == CURLE_OK) {
    SmtpOutcome o;
    o.refused = std::move(refused);
    return o;
  }
  SmtpOutcome o;
  if (t.step == SmtpStep::kRcptTo && !refused.empty() && refused.size() == t.recipients.size()) {
    // With MAIL_RCPT_ALLOWFAILS libcurl stops at RCPT TO only when every recipient was refused:
    // retrying helps if any refusal is transient, else the email cannot go anywhere.
    o = FromReply(SmtpStep::kRcptTo, refused.front().reply);
    for (const auto& r : refused) {
      if (SmtpOutcome one = FromReply(SmtpStep::kRcptTo, r.reply); one.kind == SmtpOutcome::Kind::kTransient) {
        o = std::move(one);
        break;
      }
    }
    o.error = "every recipient refused: " + ListRefusals(refused);
  } else if (t.reply.code >= 400 && (t.step != SmtpStep::kRcptTo || t.reply.code == 421)) {
    o = FromReply(t.step, t.reply);
  } else {
    o = FromCurlCode(t);  // no failing reply, or one recipient's refusal that did not stop libcurl
  }
  o.refused = std::move(refused);
  return o;
}

std::string RedactUrl(const std::string& url) {
  size_t scheme = url.find("://");
  size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  size_t end = url.find_first_of("/?#", start);
  size_t at = url.rfind('@', end == std::string::npos ? std::string::npos : end);
  if (at == std::string::npos || at < start) return url;
  return url.substr(0, start) + url.substr(at + 1);
}

SmtpOptions SmtpOptionsFromConfig(Config& config) {
  SmtpOptions o;
  o.url = config.Url("SMTP_URL", "smtp://localhost:1025", {"smtp", "smtps"});
  o.starttls = config.Bool("SMTP_STARTTLS", false);
  o.username = config.String("SMTP_USERNAME", "");
  o.password = config.SecretValue("SMTP_PASSWORD");
  o.timeout = std::chrono::milliseconds(config.Int("SMTP_TIMEOUT_MS", 15000, 100, 600000));
  return o;
}

SmtpOutcome SendMail(const SmtpOptions& options, const std::string& from,
                     const std::vector<std::string>& recipients, const std::string& message) {
  GlobalInit();
  // Declared before the handle: libcurl may still report the QUIT exchange while cleaning up.
  SmtpTranscriptRecorder recorder;
  Upload upload{&message};
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    SmtpOutcome o;
    o.kind = SmtpOutcome::Kind::kTransient;
    o.error = "smtp: cannot create a curl handle";
    return o;
  }
  curl_slist* rcpt = nullptr;
  for (const auto& r : recipients) rcpt = curl_slist_append(rcpt, ("<" + r + ">").c_str());
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> rcpt_owner(rcpt, curl_slist_free_all);
  std::string mail_from = "<" + from + ">";
  char error[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, options.url.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
#if LIBCURL_VERSION_NUM >= 0x080200
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT_ALLOWFAILS, 1L);
#else
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L);  // spelt so until libcurl 8.2
#endif
  curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadBody);
  curl_easy_setopt(c, CURLOPT_READDATA, &upload);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<int64_t>(options.timeout.count(), 5000)));
  // TIMEOUT_MS does not bound the wait for the reply to the end of DATA (libcurl 7.88 waits
  // there up to the server response timeout, 120 s by default): cap that too.
  curl_easy_setopt(c, CURLOPT_SERVER_RESPONSE_TIMEOUT,
                   static_cast<long>(std::max<int64_t>(1, (options.timeout.count() + 999) / 1000)));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  // The debug callback is the only place libcurl shows each RCPT TO reply; VERBOSE enables it
  // and, with a callback set, prints nothing itself.
  curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, Debug);
  curl_easy_setopt(c, CURLOPT_DEBUGDATA, &recorder);
  curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
  if (options.starttls) curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  if (!options.username.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, options.username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, options.password.reveal().c_str());
  }
  CURLcode rc = curl_easy_perform(c);
  SmtpTranscript& t = recorder.transcript();
  t.curl_code = rc;
  t.curl_error = error;
  t.body_sent = upload.offset == message.size();
  SmtpOutcome outcome = ClassifySmtp(t);
  if (!outcome.sent()) outcome.error = "smtp " + RedactUrl(options.url) + ": " + outcome.error;
  return outcome;
}

std::string SmtpProbe(const SmtpOptions& options, std::chrono::milliseconds timeout) {
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return "smtp: cannot create a curl handle";
  CURL* c = curl.get();
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, options.url.c_str());
  curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);  // connect, greeting and EHLO; no transfer
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) return "";
  return "smtp " + RedactUrl(options.url) + ": " + (error[0] ? std::string(error) : curl_easy_strerror(rc));
}

}  // namespace sre
