#pragma once
// Who hears about which incident stage, and where: the routing file (NOTIFY_ROUTING, default
// infra/communication/routing.json). Rules are read in order; every rule whose match fits adds its
// channels and email recipients; a rule with "stop" ends the walk, so a quiet rule (no page for
// LOW, say) is written down, not implied. Pure: parsing and matching, no IO besides LoadRoutes.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "shared/enums.h"
#include "shared/json_codec.h"
#include "shared/status.h"

namespace sre::communication {

enum class Channel { kEmail, kSlack, kTeams, kPagerDuty, kWebhook };
// "email", "slack", "teams", "pagerduty", "webhook".
std::string ChannelName(Channel c);
std::optional<Channel> ParseChannel(std::string_view name);
// The channels that deliver over HTTP from the outbox (all but email).
inline constexpr Channel kHttpChannels[] = {Channel::kSlack, Channel::kTeams, Channel::kPagerDuty, Channel::kWebhook};

struct RouteMatch {  // an empty list matches anything
  std::vector<Severity> severity;
  std::vector<std::string> service, team;  // team: the service's team in services.json
  std::vector<NotificationType> stage;
};

struct RouteRule {
  std::string name;
  RouteMatch match;
  std::vector<Channel> channels;
  // Email recipients: an address, or an audience: "oncall", "team", "management" (EMAIL_ONCALL,
  // EMAIL_TEAM, EMAIL_MANAGEMENT) or "service-oncall" (the service's oncall.primary in
  // services.json). None in any matching rule: the default routing by severity (notifier.h).
  std::vector<std::string> email;
  bool stop = false;
};

struct RouteTable {
  std::vector<RouteRule> rules;
  // Messages per second at most, per channel (Slack allows about one per second per webhook);
  // 0: no limit.
  std::map<Channel, double> per_second = {
      {Channel::kSlack, 1}, {Channel::kTeams, 1}, {Channel::kPagerDuty, 2}, {Channel::kWebhook, 0}};
  // Incident alerts to the chat, paging and webhook channels wait this long (wall clock) before
  // they go out; every alert waiting for a channel then goes out in one grouped message. 0: no
  // grouping, each alert at once. Emails are never grouped.
  int64_t group_wait_ms = 5000;
};

struct RouteInput {
  NotificationType stage = NotificationType::INCIDENT_ALERT;
  Severity severity = Severity::LOW;
  std::string service, team;
};

struct RouteDecision {
  std::set<Channel> channels;
  std::vector<std::string> email;          // de-duplicated, in rule order; empty: the default
  std::vector<std::string> matched_rules;  // names, for the audit
};

RouteDecision Route(const RouteTable& table, const RouteInput& in);

// Status::Invalid naming the field ("routing.rules[2].match.severity[0]: unknown severity ...").
Expected<RouteTable> ParseRoutes(const Json& j);
Expected<RouteTable> LoadRoutes(const std::string& path);
// infra/communication/routing.json in the source tree (compiled in), or ./infra/... when it exists.
std::string DefaultRoutesPath();

}  // namespace sre::communication
