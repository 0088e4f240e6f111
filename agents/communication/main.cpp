// sre-communication: the five lifecycle topics → HTML email over SMTP (ARCHITECTURE §4,
// communication).
#include <chrono>
#include <memory>
#include <mutex>
#include <sstream>

#include "agents/communication/service.h"
#include "shared/messages.h"
#include "shared/runtime.h"

namespace {

std::vector<std::string> List(const std::string& csv) {
  std::vector<std::string> out;
  std::stringstream ss(csv);
  std::string item;
  while (std::getline(ss, item, ','))
    if (auto b = item.find_first_not_of(' '); b != std::string::npos) out.push_back(item.substr(b, item.find_last_not_of(' ') - b + 1));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sre;
  ExecutableSpec spec{
      "sre-communication",
      "Communication agent: consumes anomalies.detected, rca.completed, remediation.plans, incidents.resolved and\n"
      "postmortems.generated and sends one HTML email (with a plain-text part) per stage, routed by severity.\n"
      "Every email is recorded in the emails table and never sent twice.",
      9105,
      {"SMTP_URL                 smtp://localhost:1025 (smtps:// for implicit TLS)",
       "SMTP_STARTTLS            true to require STARTTLS (false)",
       "SMTP_USERNAME, SMTP_PASSWORD   optional SMTP authentication",
       "EMAIL_FROM               sender (sre-agent@example.com)",
       "EMAIL_ONCALL, EMAIL_TEAM, EMAIL_MANAGEMENT   comma-separated recipients per audience",
       "DASHBOARD_URL            link target in emails (http://localhost:8000)",
       "TEMPLATES_DIR            email templates (agents/communication/templates)"}};
  return RunExecutable(argc, argv, spec, [](RunContext& ctx) -> Status {
    communication::Routing routing;
    routing.from = ctx.config.String("EMAIL_FROM", "sre-agent@example.com");
    routing.oncall = List(ctx.config.String("EMAIL_ONCALL", "oncall@example.com"));
    routing.team = List(ctx.config.String("EMAIL_TEAM", "sre-team@example.com"));
    routing.management = List(ctx.config.String("EMAIL_MANAGEMENT", "engineering-managers@example.com"));
    std::string dashboard = ctx.config.Url("DASHBOARD_URL", "http://localhost:8000", {"http", "https"});
    std::string templates_dir = ctx.config.String("TEMPLATES_DIR", communication::DefaultTemplatesDir());
    SmtpOptions smtp = SmtpOptionsFromConfig(ctx.config);
    ctx.config.Validate();
    auto templates = communication::LoadTemplates(templates_dir);
    if (!templates.ok()) throw ConfigError("TEMPLATES_DIR: " + templates.status().message());
    auto deps = ConnectDependencies(ctx, /*redis=*/false, /*db=*/true);
    if (!deps.ok()) return deps.status();
    if (ctx.http) {
      // /healthz says when mail cannot go out (the alerts wait, PENDING): the server is probed at
      // most every 2 s, however often /healthz is asked.
      struct Probe {
        std::mutex mu;
        std::chrono::steady_clock::time_point at{};
        std::string problem;
      };
      auto probe = std::make_shared<Probe>();
      ctx.http->AddHealthCheck("smtp", [probe, smtp] {
        std::lock_guard<std::mutex> lock(probe->mu);
        auto now = std::chrono::steady_clock::now();
        if (now - probe->at >= std::chrono::seconds(2)) {
          probe->problem = SmtpProbe(smtp, std::chrono::milliseconds(1500));
          probe->at = std::chrono::steady_clock::now();
        }
        return probe->problem;
      });
    }
    communication::CommunicationService service(
        *deps->db, routing, *templates, dashboard,
        [smtp](const std::string& from, const std::vector<std::string>& to, const std::string& mime) {
          return SendMail(smtp, from, to, mime);
        });
    return RunConsumer(ctx, *deps, "communication",
                       {topics::kAnomaliesDetected, topics::kRcaCompleted, topics::kRemediationPlans,
                        topics::kIncidentsResolved, topics::kPostmortemsGenerated},
                       service, 20);
  });
}
