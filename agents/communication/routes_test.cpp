#include "agents/communication/routes.h"

#include <gtest/gtest.h>

#include <fstream>

namespace sre::communication {
namespace {

RouteTable Shipped() {
  auto t = LoadRoutes(std::string(SRE_TEST_SOURCE_DIR) + "/infra/communication/routing.json");
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? *t : RouteTable{};
}

std::set<Channel> Channels(const RouteTable& t, NotificationType stage, Severity sev, const std::string& service = "s",
                           const std::string& team = "t") {
  return Route(t, {stage, sev, service, team}).channels;
}

TEST(RoutesTest, TheShippedFilePagesOnlyHighAndCriticalAndKeepsLowQuiet) {
  RouteTable t = Shipped();
  using C = Channel;
  using N = NotificationType;
  const std::set<C> all = {C::kEmail, C::kSlack, C::kTeams, C::kWebhook};
  std::set<C> paged = all;
  paged.insert(C::kPagerDuty);
  EXPECT_EQ(Channels(t, N::INCIDENT_ALERT, Severity::CRITICAL), paged);
  EXPECT_EQ(Channels(t, N::INCIDENT_RESOLVED, Severity::HIGH), paged);
  EXPECT_EQ(Channels(t, N::RCA_COMPLETE, Severity::HIGH), all);
  EXPECT_EQ(Channels(t, N::INCIDENT_ALERT, Severity::MEDIUM), all);
  // LOW: no page ever; chat only when it opens and closes.
  EXPECT_EQ(Channels(t, N::INCIDENT_ALERT, Severity::LOW), all);
  EXPECT_EQ(Channels(t, N::REMEDIATION_PLAN, Severity::LOW), (std::set<C>{C::kEmail, C::kWebhook}));
  EXPECT_EQ(t.group_wait_ms, 5000);
  EXPECT_EQ(t.per_second.at(C::kSlack), 1);
}

TEST(RoutesTest, RulesAddUpInOrderAndStopEndsTheWalk) {
  auto t = ParseRoutes(Json::parse(R"({"rules": [
    {"name": "payments page their team", "match": {"service": ["payment-service"]}, "channels": ["pagerduty"],
     "email": ["service-oncall", "payments-lead@example.com"]},
    {"name": "quiet platform", "match": {"team": ["platform"], "stage": ["POSTMORTEM"]}, "channels": [], "stop": true},
    {"name": "default", "match": {}, "channels": ["email", "slack"], "email": ["team"]}]})"));
  ASSERT_TRUE(t.ok()) << t.status().message();
  auto d = Route(*t, {NotificationType::INCIDENT_ALERT, Severity::LOW, "payment-service", "payments"});
  EXPECT_EQ(d.channels, (std::set<Channel>{Channel::kPagerDuty, Channel::kEmail, Channel::kSlack}));
  EXPECT_EQ(d.email, (std::vector<std::string>{"service-oncall", "payments-lead@example.com", "team"}));
  EXPECT_EQ(d.matched_rules, (std::vector<std::string>{"payments page their team", "default"}));
  // The quiet rule: nothing at all, stated, not implied.
  d = Route(*t, {NotificationType::POSTMORTEM, Severity::CRITICAL, "api-gateway", "platform"});
  EXPECT_TRUE(d.channels.empty());
  EXPECT_EQ(d.matched_rules, (std::vector<std::string>{"quiet platform"}));
  d = Route(*t, {NotificationType::RCA_COMPLETE, Severity::CRITICAL, "api-gateway", "platform"});
  EXPECT_EQ(d.channels, (std::set<Channel>{Channel::kEmail, Channel::kSlack}));
}

TEST(RoutesTest, MistakesNameTheField) {
  struct Case {
    const char* json;
    const char* field;
  } cases[] = {
      {R"([])", "routing: expected a JSON object"},
      {R"({"rules": []})", "routing.rules:"},
      {R"({"rules": [{"match": {}, "channels": ["sms"]}]})", "routing.rules[0].channels[0]: unknown channel \"sms\""},
      {R"({"rules": [{"match": {"severity": ["SEVERE"]}, "channels": []}]})", "routing.rules[0].match.severity[0]"},
      {R"({"rules": [{"match": {"stage": ["ALERT"]}, "channels": []}]})", "routing.rules[0].match.stage[0]"},
      {R"({"rules": [{"match": {"region": ["eu"]}, "channels": []}]})", "routing.rules[0].match.region"},
      {R"({"rules": [{"match": {}}]})", "routing.rules[0].channels: missing"},
      {R"({"rules": [{"channels": [], "email": ["bob"]}]})", "routing.rules[0].email[0]"},
      {R"({"rules": [{"channels": [], "stop": "yes"}]})", "routing.rules[0].stop"},
      {R"({"rules": [{"channels": [], "chanels": []}]})", "routing.rules[0].chanels: unknown key"},
      {R"({"group_wait_s": -1, "rules": [{"channels": []}]})", "routing.group_wait_s"},
      {R"({"rate_limits": {"email": 1}, "rules": [{"channels": []}]})", "routing.rate_limits.email"},
      {R"({"rate_limits": {"slack": "fast"}, "rules": [{"channels": []}]})", "routing.rate_limits.slack"},
  };
  for (const auto& c : cases) {
    auto t = ParseRoutes(Json::parse(c.json));
    ASSERT_FALSE(t.ok()) << c.json;
    EXPECT_NE(t.status().message().find(c.field), std::string::npos) << c.json << " → " << t.status().message();
  }
  EXPECT_FALSE(LoadRoutes("/nonexistent/routing.json").ok());
}

TEST(RoutesTest, ChannelNamesRoundTrip) {
  for (Channel c : {Channel::kEmail, Channel::kSlack, Channel::kTeams, Channel::kPagerDuty, Channel::kWebhook})
    EXPECT_EQ(ParseChannel(ChannelName(c)), c);
  EXPECT_FALSE(ParseChannel("sms").has_value());
}

}  // namespace
}  // namespace sre::communication
