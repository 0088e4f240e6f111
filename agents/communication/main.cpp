// sre-communication: the five lifecycle topics → HTML email over SMTP (ARCHITECTURE §4,
// communication).
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "agents/communication/dispatcher.h"
#include "agents/communication/service.h"
#include "shared/services.h"
#include "shared/messages.h"
#include "shared/runtime.h"
#include "shared/log.h"

namespace {

std::vector<std::string> List(const std::string& csv) {
  std::vector<std::string> out;
  std::stringstream ss(csv);
  std::string item;
  while (std::getline(ss, item, ','))
    if (auto b = item.find_first_not_of(' '); b != std::string::npos) out.push_back(item.substr(b, item.find_last_not_of(' ') - b + 1));
  return out;
}

// A webhook URL carries its credential (Slack's path, Teams' sig): read as a secret, never logged.
std::string SecretUrl(sre::Config& config, const std::string& name) {
  sre::Secret v = config.SecretValue(name);
  const std::string& url = v.reveal();
  if (!url.empty() && url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
    throw sre::ConfigError(name + ": expected an http:// or https:// URL");
  return url;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sre;
  ExecutableSpec spec{
      "sre-communication",
      "Communication agent: consumes anomalies.detected, rca.completed, remediation.plans, incidents.resolved and\n"
      "postmortems.generated and, per stage as the routing file says, sends one HTML email (with a plain-text\n"
      "part) and notifies Slack, Microsoft Teams, PagerDuty and a generic webhook (each when its variable is set).\n"
      "Every email and notification is recorded (emails, notifications tables) and never sent twice.",
      9105,
      {"SMTP_URL                 smtp://localhost:1025 (smtps:// for implicit TLS)",
       "SMTP_STARTTLS            true to require STARTTLS (false)",
       "SMTP_USERNAME, SMTP_PASSWORD   optional SMTP authentication",
       "EMAIL_FROM               sender (sre-agent@example.com)",
       "EMAIL_ONCALL, EMAIL_TEAM, EMAIL_MANAGEMENT   comma-separated recipients per audience",
       "DASHBOARD_URL            link target in emails (http://localhost:8000)",
       "TEMPLATES_DIR            email templates (agents/communication/templates)",
       "NOTIFY_ROUTING           routing file (infra/communication/routing.json)",
       "SLACK_WEBHOOK_URL        Slack incoming webhook (secret); enables Slack",
       "SLACK_BOT_TOKEN, SLACK_CHANNEL   optional: post with chat.postMessage, thread the stages, update the first",
       "SLACK_API_URL            Slack Web API base (https://slack.com/api)",
       "TEAMS_WEBHOOK_URL        Microsoft Teams Workflows webhook URL (secret); enables Teams",
       "PAGERDUTY_ROUTING_KEY    Events API v2 integration key (secret); enables PagerDuty",
       "PAGERDUTY_EVENTS_URL     (https://events.pagerduty.com/v2/enqueue)",
       "WEBHOOK_URL, WEBHOOK_SECRET   generic webhook; the secret signs X-SRE-Signature (HMAC-SHA256)",
       "NOTIFY_HTTP_TIMEOUT_MS   per request (10000); NOTIFY_GIVE_UP_S: retry for at most this long (3600)",
       "NOTIFY_RETRY_INITIAL_MS, NOTIFY_RETRY_MAX_MS   backoff (1000, 60000)"}};
  return RunExecutable(argc, argv, spec, [](RunContext& ctx) -> Status {
    communication::Routing routing;
    routing.from = ctx.config.String("EMAIL_FROM", "sre-agent@example.com");
    routing.oncall = List(ctx.config.String("EMAIL_ONCALL", "oncall@example.com"));
    routing.team = List(ctx.config.String("EMAIL_TEAM", "sre-team@example.com"));
    routing.management = List(ctx.config.String("EMAIL_MANAGEMENT", "engineering-managers@example.com"));
    std::string dashboard = ctx.config.Url("DASHBOARD_URL", "http://localhost:8000", {"http", "https"});
    std::string templates_dir = ctx.config.String("TEMPLATES_DIR", communication::DefaultTemplatesDir());
    SmtpOptions smtp = SmtpOptionsFromConfig(ctx.config);
    const std::string routing_path = ctx.config.String("NOTIFY_ROUTING", communication::DefaultRoutesPath());
    // The chat, paging and webhook channels: each enabled by its variable.
    using communication::Channel;
    std::vector<communication::ChannelEndpoint> endpoints;
    {
      communication::ChannelEndpoint slack;
      slack.channel = Channel::kSlack;
      slack.url = SecretUrl(ctx.config, "SLACK_WEBHOOK_URL");
      slack.slack_token = ctx.config.SecretValue("SLACK_BOT_TOKEN").reveal();
      slack.slack_channel = ctx.config.String("SLACK_CHANNEL", "");
      slack.slack_api_url = ctx.config.Url("SLACK_API_URL", "https://slack.com/api", {"http", "https"});
      if (!slack.slack_token.empty() && slack.slack_channel.empty())
        throw ConfigError("SLACK_CHANNEL: required with SLACK_BOT_TOKEN (the channel the bot posts to)");
      if (!slack.url.empty() || !slack.slack_token.empty()) endpoints.push_back(slack);
      communication::ChannelEndpoint teams;
      teams.channel = Channel::kTeams;
      teams.url = SecretUrl(ctx.config, "TEAMS_WEBHOOK_URL");
      if (!teams.url.empty()) endpoints.push_back(teams);
      communication::ChannelEndpoint pd;
      pd.channel = Channel::kPagerDuty;
      pd.pagerduty_routing_key = ctx.config.SecretValue("PAGERDUTY_ROUTING_KEY").reveal();
      pd.url = ctx.config.Url("PAGERDUTY_EVENTS_URL", "https://events.pagerduty.com/v2/enqueue", {"http", "https"});
      if (!pd.pagerduty_routing_key.empty()) endpoints.push_back(pd);
      communication::ChannelEndpoint hook;
      hook.channel = Channel::kWebhook;
      hook.url = SecretUrl(ctx.config, "WEBHOOK_URL");
      hook.webhook_secret = ctx.config.SecretValue("WEBHOOK_SECRET").reveal();
      if (!hook.url.empty()) endpoints.push_back(hook);
    }
    communication::DispatchOptions dispatch;
    dispatch.http_timeout = std::chrono::milliseconds(ctx.config.Int("NOTIFY_HTTP_TIMEOUT_MS", 10000, 100, 120000));
    dispatch.give_up = std::chrono::seconds(ctx.config.Int("NOTIFY_GIVE_UP_S", 3600, 1, 7 * 86400));
    dispatch.backoff.initial = std::chrono::milliseconds(ctx.config.Int("NOTIFY_RETRY_INITIAL_MS", 1000, 10, 600000));
    dispatch.backoff.cap = std::chrono::milliseconds(ctx.config.Int("NOTIFY_RETRY_MAX_MS", 60000, 10, 3600000));
    ctx.config.Validate();
    auto templates = communication::LoadTemplates(templates_dir);
    if (!templates.ok()) throw ConfigError("TEMPLATES_DIR: " + templates.status().message());
    auto routes = communication::LoadRoutes(routing_path);
    if (!routes.ok()) throw ConfigError("NOTIFY_ROUTING: " + routes.status().message());
    auto catalog = ServiceCatalog::Load(KnowledgeDir() + "/architecture/services.json");
    if (!catalog.ok()) throw ConfigError("KNOWLEDGE_DIR: " + catalog.status().message());
    communication::NotifySettings notify{*routes, {}, &*catalog};
    for (const auto& e : endpoints) notify.enabled.insert(e.channel);
    {
      std::string names;
      for (const auto& e : endpoints) names += (names.empty() ? "" : ", ") + communication::ChannelName(e.channel);
      log::Get("communication")
          ->info("routing {} ({} rules); channels: email{}{}", routing_path, routes->rules.size(),
                 names.empty() ? "" : ", ", names);
    }
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
    service.SetNotifications(notify);
    // One worker per channel: an outage of one never delays another, nor the emails.
    std::shared_ptr<llm::Transport> transport = llm::MakeCurlTransport();
    std::vector<std::unique_ptr<communication::ChannelWorker>> workers;
    std::atomic<bool> workers_stop{false};
    std::vector<std::thread> threads;
    for (const auto& e : endpoints) {
      auto options = dispatch;
      options.group_wait_ms = routes->group_wait_ms;
      options.per_second = routes->per_second.count(e.channel) ? routes->per_second.at(e.channel) : 0;
      workers.push_back(std::make_unique<communication::ChannelWorker>(ctx.common.database_url, e, options, transport));
      threads.emplace_back([w = workers.back().get(), &workers_stop] { w->Run(workers_stop); });
    }
    Status s = RunConsumer(ctx, *deps, "communication",
                           {topics::kAnomaliesDetected, topics::kRcaCompleted, topics::kRemediationPlans,
                            topics::kIncidentsResolved, topics::kPostmortemsGenerated},
                           service, 20);
    workers_stop = true;
    for (auto& t : threads) t.join();
    return s;
  });
}
