#include "shared/smtp.h"

#include <curl/curl.h>

#include <cstring>
#include <memory>
#include <mutex>

namespace sre {
namespace {

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

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

SmtpOptions SmtpOptionsFromConfig(Config& config) {
  SmtpOptions o;
  o.url = config.Url("SMTP_URL", "smtp://localhost:1025", {"smtp", "smtps"});
  o.starttls = config.Bool("SMTP_STARTTLS", false);
  o.username = config.String("SMTP_USERNAME", "");
  o.password = config.SecretValue("SMTP_PASSWORD");
  o.timeout = std::chrono::milliseconds(config.Int("SMTP_TIMEOUT_MS", 15000, 100, 600000));
  return o;
}

Status SendMail(const SmtpOptions& options, const std::string& from, const std::vector<std::string>& recipients,
                const std::string& message) {
  GlobalInit();
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return Status::Transient("smtp: cannot create a curl handle");
  curl_slist* rcpt = nullptr;
  for (const auto& r : recipients) rcpt = curl_slist_append(rcpt, ("<" + r + ">").c_str());
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> rcpt_owner(rcpt, curl_slist_free_all);
  Upload upload{&message};
  std::string mail_from = "<" + from + ">";
  char error[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, options.url.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadBody);
  curl_easy_setopt(c, CURLOPT_READDATA, &upload);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<int64_t>(options.timeout.count(), 5000)));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  if (options.starttls) curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  if (!options.username.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, options.username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, options.password.reveal().c_str());
  }
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) return Status::Ok();
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  std::string what = std::string("smtp ") + options.url.substr(0, options.url.find('@') == std::string::npos
                                                                       ? options.url.size()
                                                                       : 0) +
                     ": " + (error[0] ? error : curl_easy_strerror(rc));
  if (code >= 500 && code < 600 && rc != CURLE_COULDNT_CONNECT) return Status::Invalid(what + " (" + std::to_string(code) + ")");
  return Status::Transient(what);
}

}  // namespace sre
