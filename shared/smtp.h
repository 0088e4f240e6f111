#pragma once
// Sending mail over SMTP with libcurl. SMTP_URL: smtp://host:port (plain, or STARTTLS when
// SMTP_STARTTLS=true), smtps://host:port (implicit TLS); optional user:password@ in the URL or
// SMTP_USERNAME / SMTP_PASSWORD. One attempt per call; the caller decides about retries.
// Thread-safe (each call uses its own curl handle).
#include <chrono>
#include <string>
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

// Reads SMTP_URL, SMTP_STARTTLS, SMTP_USERNAME, SMTP_PASSWORD.
SmtpOptions SmtpOptionsFromConfig(Config& config);

// Sends an RFC 5322 message. Status::Transient when the server is unreachable or refuses
// temporarily (4xx), Status::Invalid when it rejects the message or a recipient for good (5xx).
Status SendMail(const SmtpOptions& options, const std::string& from, const std::vector<std::string>& recipients,
                const std::string& message);

}  // namespace sre
