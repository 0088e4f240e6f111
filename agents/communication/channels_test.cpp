#include "agents/communication/channels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "shared/text.h"
#include "shared/time_format.h"

namespace sre::communication {
namespace {

const int64_t kTs = 1763906709123;  // 2025-11-23T14:05:09.123Z
const std::string kIso = "2025-11-23T14:05:09.123Z";
const std::string kLink = "https://sre.example.com/incidents/3f2a9c1d-0000-4000-8000-000000000000";

Notice Alert() {
  Notice n;
  n.stage = NotificationType::INCIDENT_ALERT;
  n.incident_id = "3f2a9c1d-0000-4000-8000-000000000000";
  n.incident_number = "INC-3F2A9C1D";
  n.service = "payment-service";
  n.team = "payments";
  n.owner = "alice@example.com";
  n.severity = Severity::HIGH;
  n.anomaly_type = "LATENCY_SPIKE";
  n.title = "[HIGH] INC-3F2A9C1D LATENCY_SPIKE on payment-service (latency_p99_ms 2400 ms, 101.0σ)";
  n.summary = "p99 latency rose from 380 ms to 2400 ms.";
  n.facts = {{"Trigger metric", "latency_p99_ms"}, {"Observed", "2400 ms"}, {"Baseline", "380 ms"}};
  n.link = kLink;
  n.ts = kTs;
  n.status = "INVESTIGATING";
  return n;
}

Notice Numbered(int i, Severity s = Severity::MEDIUM) {
  Notice n = Alert();
  char id[40];
  std::snprintf(id, sizeof(id), "%08x-0000-4000-8000-000000000000", static_cast<unsigned>(i));
  n.incident_id = id;
  n.incident_number = "INC-" + std::string(id, 8);
  n.service = "svc-" + std::to_string(i);
  n.severity = s;
  n.title = "incident " + std::to_string(i);
  n.link = "https://sre.example.com/incidents/" + n.incident_id;
  return n;
}

std::set<std::string> Keys(const Json& j) {
  std::set<std::string> out;
  for (auto it = j.begin(); it != j.end(); ++it) out.insert(it.key());
  return out;
}

// Every '&' of an escaped mrkdwn text starts one of the three entities: none was cut in half
// and no raw '&' slipped through.
void ExpectEntitiesWhole(const std::string& text) {
  for (size_t p = text.find('&'); p != std::string::npos; p = text.find('&', p + 1)) {
    bool whole = text.compare(p, 5, "&amp;") == 0 || text.compare(p, 4, "&lt;") == 0 || text.compare(p, 4, "&gt;") == 0;
    EXPECT_TRUE(whole) << "bad entity at " << p << " in " << text.substr(p, 8);
  }
}

void ExpectMrkdwn(const Json& t, size_t max) {
  ASSERT_TRUE(t.is_object());
  EXPECT_EQ(t.at("type"), "mrkdwn");
  const std::string s = t.at("text").get<std::string>();
  EXPECT_FALSE(s.empty());
  EXPECT_LE(s.size(), max);
  EXPECT_TRUE(IsValidUtf8(s));
  ExpectEntitiesWhole(s);
}

// Slack's documented Block Kit limits, block by block.
void ExpectSlackLimits(const Json& m) {
  ASSERT_TRUE(m.contains("text"));
  ASSERT_TRUE(m.at("text").is_string());
  EXPECT_FALSE(m.at("text").get<std::string>().empty());
  ASSERT_TRUE(m.at("blocks").is_array());
  const Json& blocks = m.at("blocks");
  EXPECT_GE(blocks.size(), 1u);
  EXPECT_LE(blocks.size(), 50u);
  for (const auto& b : blocks) {
    const std::string type = b.at("type");
    if (type == "header") {
      EXPECT_EQ(b.at("text").at("type"), "plain_text");
      EXPECT_EQ(b.at("text").at("emoji"), true);
      const std::string t = b.at("text").at("text");
      EXPECT_FALSE(t.empty());
      EXPECT_LE(t.size(), 150u);
    } else if (type == "section") {
      EXPECT_TRUE(b.contains("text") || b.contains("fields"));
      if (b.contains("text")) ExpectMrkdwn(b.at("text"), 3000);
      if (b.contains("fields")) {
        EXPECT_GE(b.at("fields").size(), 1u);
        EXPECT_LE(b.at("fields").size(), 10u);
        for (const auto& f : b.at("fields")) ExpectMrkdwn(f, 2000);
      }
    } else if (type == "context") {
      EXPECT_GE(b.at("elements").size(), 1u);
      EXPECT_LE(b.at("elements").size(), 10u);
      for (const auto& e : b.at("elements")) ExpectMrkdwn(e, 3000);
    } else {
      EXPECT_EQ(type, "divider");
      EXPECT_EQ(b.size(), 1u);
    }
  }
}

std::vector<std::string> SectionTexts(const Json& m) {
  std::vector<std::string> out;
  for (const auto& b : m.at("blocks"))
    if (b.at("type") == "section" && b.contains("text")) out.push_back(b.at("text").at("text"));
  return out;
}

TEST(ChannelsStageTest, EveryStageHasItsLabel) {
  EXPECT_EQ(StageLabel(NotificationType::INCIDENT_ALERT), "Incident alert");
  EXPECT_EQ(StageLabel(NotificationType::RCA_COMPLETE), "Root cause identified");
  EXPECT_EQ(StageLabel(NotificationType::REMEDIATION_PLAN), "Remediation plan");
  EXPECT_EQ(StageLabel(NotificationType::INCIDENT_RESOLVED), "Incident resolved");
  EXPECT_EQ(StageLabel(NotificationType::POSTMORTEM), "Postmortem");
}

TEST(ChannelsSlackTest, MessageHasHeaderFieldsSummaryFactsAndContext) {
  Json m = SlackMessage(Alert());
  ExpectSlackLimits(m);
  EXPECT_EQ(Keys(m), (std::set<std::string>{"text", "blocks"}));
  const Json& blocks = m.at("blocks");
  ASSERT_GE(blocks.size(), 5u);
  EXPECT_EQ(blocks[0].at("type"), "header");
  EXPECT_EQ(blocks[0].at("text").at("text"), "🚨 Incident alert · INC-3F2A9C1D");

  ASSERT_EQ(blocks[1].at("type"), "section");
  std::vector<std::string> fields;
  for (const auto& f : blocks[1].at("fields")) fields.push_back(f.at("text"));
  EXPECT_EQ(fields, (std::vector<std::string>{"*Severity*\nHIGH", "*Service*\npayment-service", "*Team*\npayments",
                                              "*Owner*\nalice@example.com", "*Anomaly*\nLATENCY_SPIKE"}));

  auto texts = SectionTexts(m);
  EXPECT_NE(std::find(texts.begin(), texts.end(), "p99 latency rose from 380 ms to 2400 ms."), texts.end());
  EXPECT_NE(std::find(texts.begin(), texts.end(),
                      "*Trigger metric*: latency_p99_ms\n*Observed*: 2400 ms\n*Baseline*: 380 ms"),
            texts.end());

  const Json& context = blocks.back();
  ASSERT_EQ(context.at("type"), "context");
  std::string line;
  for (const auto& e : context.at("elements")) line += e.at("text").get<std::string>() + "\n";
  EXPECT_NE(line.find(FormatTime(kTs)), std::string::npos) << line;
  EXPECT_NE(line.find("<" + kLink + "|Open the incident>"), std::string::npos) << line;
  EXPECT_NE(m.at("text").get<std::string>().find("INC-3F2A9C1D"), std::string::npos);
}

TEST(ChannelsSlackTest, TeamAndOwnerFieldsOnlyWhenKnownAndNoLinkWithoutOne) {
  Notice n = Alert();
  n.team.clear();
  n.owner.clear();
  n.link.clear();
  Json m = SlackMessage(n);
  ExpectSlackLimits(m);
  EXPECT_EQ(m.at("blocks")[1].at("fields").size(), 3u);
  EXPECT_EQ(m.dump().find("Open the incident"), std::string::npos);
}

TEST(ChannelsSlackTest, EveryBlockStaysWithinLimitsWithHugeInput) {
  Notice n = Alert();
  std::string huge;
  for (int i = 0; i < 3000; ++i) huge += "a&<é>";  // escapes and multi-byte characters at every cut
  n.title = huge;
  n.summary = huge;
  n.team = huge;
  n.owner = huge;
  n.service = huge;
  n.incident_number = huge;
  n.facts.clear();
  for (int i = 0; i < 200; ++i) n.facts.push_back({"label " + std::to_string(i) + huge, huge});
  for (auto stage : {NotificationType::INCIDENT_ALERT, NotificationType::POSTMORTEM}) {
    n.stage = stage;
    Json m = SlackMessage(n);
    ExpectSlackLimits(m);
    // Cut, not dropped: each text ends with the ellipsis (the bold title with its closing '*').
    for (const auto& t : SectionTexts(m))
      EXPECT_NE(t.find("…", t.size() - 4), std::string::npos) << t.substr(t.size() - 10);
    ExpectSlackLimits(SlackPostMessage(n, "C123", std::string("1700000000.000100")));
    ExpectSlackLimits(SlackUpdate(n, n, "C123", "1700000000.000100"));
  }
}

TEST(ChannelsSlackTest, UntrustedTextIsEscaped) {
  Notice n = Alert();
  n.title = "<!everyone> down";
  n.summary = "<!channel> wake up & look > here <@U123> <http://evil.example|click>";
  n.service = "svc<!here>";
  n.team = "<!subteam^S1>";
  n.owner = "a&b";
  n.anomaly_type = "<!channel>";
  n.facts = {{"<!here>", "<http://evil.example|x> & y"}};
  n.status = "<!channel>";
  Notice now = n;
  now.stage = NotificationType::INCIDENT_RESOLVED;
  for (const Json& m : {SlackMessage(n), SlackPostMessage(n, "C1", std::nullopt), SlackUpdate(n, now, "C1", "1.2"),
                        SlackGroupMessage({n, n})}) {
    const std::string dump = m.dump();
    EXPECT_EQ(dump.find("<!"), std::string::npos) << dump;
    EXPECT_EQ(dump.find("<@"), std::string::npos) << dump;
    EXPECT_EQ(dump.find("<http://evil"), std::string::npos) << dump;
    ExpectSlackLimits(m);
  }
  const std::string dump = SlackMessage(n).dump();
  EXPECT_NE(dump.find("&lt;!channel&gt; wake up &amp; look &gt; here"), std::string::npos) << dump;
  EXPECT_NE(dump.find("*Owner*\\na&amp;b"), std::string::npos) << dump;
}

TEST(ChannelsSlackTest, LinkUrlIsEscapedAndCannotEndEarly) {
  Notice n = Alert();
  n.link = "https://sre.example.com/i?a=1&b=<2>|evil";
  const std::string dump = SlackMessage(n).dump();
  EXPECT_NE(dump.find("<https://sre.example.com/i?a=1&amp;b=&lt;2&gt;%7Cevil|Open the incident>"), std::string::npos)
      << dump;
}

TEST(ChannelsSlackTest, PostMessageCarriesChannelAndThreadWhenGiven) {
  Json top = SlackPostMessage(Alert(), "C0123", std::nullopt);
  EXPECT_EQ(top.at("channel"), "C0123");
  EXPECT_FALSE(top.contains("thread_ts"));
  EXPECT_EQ(top.at("unfurl_links"), false);
  EXPECT_EQ(top.at("blocks"), SlackMessage(Alert()).at("blocks"));

  Notice rca = Alert();
  rca.stage = NotificationType::RCA_COMPLETE;
  Json reply = SlackPostMessage(rca, "C0123", std::string("1763906709.000200"));
  EXPECT_EQ(reply.at("thread_ts"), "1763906709.000200");
  EXPECT_EQ(reply.at("channel"), "C0123");
  EXPECT_EQ(reply.at("blocks")[0].at("text").at("text"), "🔍 Root cause identified · INC-3F2A9C1D");
  ExpectSlackLimits(reply);
}

TEST(ChannelsSlackTest, UpdateCarriesChannelTsAndTheStatusLine) {
  Notice first = Alert(), now = Alert();
  now.stage = NotificationType::INCIDENT_RESOLVED;
  now.status = "RESOLVED";
  now.ts = kTs + 3600000;
  Json u = SlackUpdate(first, now, "C0123", "1763906709.000200");
  ExpectSlackLimits(u);
  EXPECT_EQ(Keys(u), (std::set<std::string>{"channel", "ts", "text", "blocks"}));
  EXPECT_EQ(u.at("channel"), "C0123");
  EXPECT_EQ(u.at("ts"), "1763906709.000200");

  const Json original = SlackMessage(first).at("blocks");
  ASSERT_EQ(u.at("blocks").size(), original.size() + 1);
  EXPECT_EQ(u.at("blocks")[0], original[0]);  // the first message's header stays on top
  const std::string line = "Status: RESOLVED — latest: Incident resolved (" + FormatTime(now.ts) + ")";
  bool found = false;
  for (size_t i = 0; i < 3; ++i) found = found || u.at("blocks")[i].dump().find(line) != std::string::npos;
  EXPECT_TRUE(found) << u.dump(2);
  EXPECT_NE(u.at("text").get<std::string>().find(line), std::string::npos);
  EXPECT_EQ(u.at("blocks").back(), original.back());  // the first message's content is kept
}

TEST(ChannelsSlackTest, GroupOf100StaysWithin50Blocks) {
  std::vector<Notice> notices;
  for (int i = 0; i < 100; ++i) notices.push_back(Numbered(i));
  notices[7].title = std::string(10000, 'x');
  Json m = SlackGroupMessage(notices);
  ExpectSlackLimits(m);
  const Json& blocks = m.at("blocks");
  EXPECT_EQ(blocks.size(), 50u);
  EXPECT_EQ(blocks[0].at("text").at("text"), "🚨 100 incidents opened together");
  EXPECT_EQ(blocks.back().at("type"), "context");
  EXPECT_EQ(blocks.back().at("elements")[0].at("text"), "… and 52 more");  // 48 listed
  const std::string second = blocks[2].at("text").at("text");
  EXPECT_EQ(second, "*MEDIUM* · <https://sre.example.com/incidents/00000001-0000-4000-8000-000000000000|INC-00000001>"
                    " · svc-1\nincident 1");
}

TEST(ChannelsSlackTest, SmallGroupListsEveryIncident) {
  std::vector<Notice> notices;
  for (int i = 0; i < 49; ++i) notices.push_back(Numbered(i));
  Json m = SlackGroupMessage(notices);
  ExpectSlackLimits(m);
  EXPECT_EQ(m.at("blocks").size(), 50u);  // header + 49: fits without the "more" line
  EXPECT_EQ(m.dump().find("more"), std::string::npos);

  Json three = SlackGroupMessage({Numbered(1), Numbered(2), Numbered(3)});
  ExpectSlackLimits(three);
  EXPECT_EQ(three.at("blocks").size(), 4u);
  EXPECT_NE(three.at("text").get<std::string>().find("INC-00000002"), std::string::npos);
}

const std::set<std::string> kTeamsColors = {"Default", "Attention", "Warning", "Good", "Accent"};

// The Workflows envelope and an Adaptive Card 1.4 made of TextBlock and FactSet only.
const Json& ExpectTeamsCard(const Json& m) {
  EXPECT_EQ(Keys(m), (std::set<std::string>{"type", "attachments"}));
  EXPECT_EQ(m.at("type"), "message");
  EXPECT_EQ(m.at("attachments").size(), 1u);
  const Json& a = m.at("attachments").at(0);
  EXPECT_EQ(Keys(a), (std::set<std::string>{"contentType", "contentUrl", "content"}));
  EXPECT_EQ(a.at("contentType"), "application/vnd.microsoft.card.adaptive");
  EXPECT_TRUE(a.at("contentUrl").is_null());
  const Json& c = a.at("content");
  EXPECT_EQ(c.at("$schema"), "http://adaptivecards.io/schemas/adaptive-card.json");
  EXPECT_EQ(c.at("type"), "AdaptiveCard");
  EXPECT_EQ(c.at("version"), "1.4");
  EXPECT_FALSE(c.at("body").empty());
  for (const auto& e : c.at("body")) {
    const std::string type = e.at("type");
    if (type == "TextBlock") {
      for (const auto& k : Keys(e))
        EXPECT_TRUE((std::set<std::string>{"type", "text", "wrap", "weight", "size", "color"}.count(k))) << k;
      EXPECT_EQ(e.at("wrap"), true);
      EXPECT_TRUE(e.at("text").is_string());
      if (e.contains("weight")) {
        EXPECT_EQ(e.at("weight"), "Bolder");
      }
      if (e.contains("size")) {
        EXPECT_EQ(e.at("size"), "Medium");
      }
      if (e.contains("color")) {
        EXPECT_TRUE(kTeamsColors.count(e.at("color").get<std::string>())) << e.at("color");
      }
    } else {
      EXPECT_EQ(type, "FactSet");
      EXPECT_EQ(Keys(e), (std::set<std::string>{"type", "facts"}));
      for (const auto& f : e.at("facts")) {
        EXPECT_EQ(Keys(f), (std::set<std::string>{"title", "value"}));
        EXPECT_TRUE(f.at("title").is_string() && f.at("value").is_string());
      }
    }
  }
  return c;
}

TEST(ChannelsTeamsTest, CardHasTheWorkflowsEnvelopeAndOnlyVersion14Elements) {
  Json m = TeamsMessage(Alert());
  const Json& c = ExpectTeamsCard(m);
  EXPECT_EQ(Keys(c), (std::set<std::string>{"$schema", "type", "version", "body", "actions"}));
  ASSERT_EQ(c.at("actions").size(), 1u);
  EXPECT_EQ(c.at("actions")[0],
            (Json{{"type", "Action.OpenUrl"}, {"title", "Open the incident"}, {"url", kLink}}));
  EXPECT_EQ(c.at("body")[0].at("text"), "🚨 Incident alert · INC-3F2A9C1D");
  EXPECT_EQ(c.at("body")[0].at("color"), "Attention");
  const std::string dump = m.dump();
  EXPECT_NE(dump.find(R"({"title":"Trigger metric","value":"latency_p99_ms"})"), std::string::npos) << dump;
  EXPECT_NE(dump.find(R"({"title":"Owner","value":"alice@example.com"})"), std::string::npos) << dump;
  EXPECT_NE(dump.find("p99 latency rose"), std::string::npos);
}

TEST(ChannelsTeamsTest, SeverityColoursAndResolvedIsGood) {
  struct Case {
    NotificationType stage;
    Severity severity;
    std::string color;
  } cases[] = {
      {NotificationType::INCIDENT_ALERT, Severity::CRITICAL, "Attention"},
      {NotificationType::INCIDENT_ALERT, Severity::HIGH, "Attention"},
      {NotificationType::RCA_COMPLETE, Severity::MEDIUM, "Warning"},
      {NotificationType::REMEDIATION_PLAN, Severity::LOW, "Accent"},
      {NotificationType::INCIDENT_RESOLVED, Severity::CRITICAL, "Good"},
  };
  for (const auto& c : cases) {
    Notice n = Alert();
    n.stage = c.stage;
    n.severity = c.severity;
    EXPECT_EQ(ExpectTeamsCard(TeamsMessage(n)).at("body")[0].at("color"), c.color) << ToString(c.severity);
  }
}

TEST(ChannelsTeamsTest, NoActionsWithoutALinkAndHugeInputStaysSmall) {
  Notice n = Alert();
  n.link.clear();
  n.summary = std::string(100000, 's');
  for (int i = 0; i < 100; ++i) n.facts.push_back({std::string(1000, 'l'), std::string(5000, 'v')});
  Json m = TeamsMessage(n);
  const Json& c = ExpectTeamsCard(m);
  EXPECT_FALSE(c.contains("actions"));
  EXPECT_LT(m.dump().size(), 28u * 1024);  // the Workflows webhook's body limit
}

TEST(ChannelsTeamsTest, GroupCardListsEachIncidentAsTextBlockAndFactSet) {
  Json m = TeamsGroupMessage({Numbered(1, Severity::LOW), Numbered(2, Severity::CRITICAL)});
  const Json& body = ExpectTeamsCard(m).at("body");
  ASSERT_EQ(body.size(), 5u);
  EXPECT_EQ(body[0].at("text"), "🚨 2 incidents opened together");
  EXPECT_EQ(body[1].at("type"), "TextBlock");
  EXPECT_EQ(body[1].at("text"), "INC-00000001 · incident 1");
  EXPECT_EQ(body[1].at("color"), "Accent");
  EXPECT_EQ(body[2].at("type"), "FactSet");
  EXPECT_EQ(body[3].at("color"), "Attention");
  EXPECT_NE(body[4].dump().find("https://sre.example.com/incidents/00000002-"), std::string::npos);

  std::vector<Notice> many;
  for (int i = 0; i < 100; ++i) many.push_back(Numbered(i));
  Json big = TeamsGroupMessage(many);
  ExpectTeamsCard(big);
  EXPECT_LT(big.dump().size(), 28u * 1024);
  EXPECT_EQ(big.at("attachments")[0].at("content").at("body").back().at("text"), "… and 70 more");
}

TEST(ChannelsPagerDutyTest, TriggerHasTheDocumentedKeys) {
  Notice n = Alert();
  auto e = PagerDutyEvent(n, "R0UTING", PagerDutyDedupKey(n.incident_id));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(Keys(*e), (std::set<std::string>{"routing_key", "event_action", "dedup_key", "payload", "client",
                                             "client_url", "links"}));
  EXPECT_EQ(e->at("routing_key"), "R0UTING");
  EXPECT_EQ(e->at("event_action"), "trigger");
  EXPECT_EQ(e->at("dedup_key"), "sre-pipeline/3f2a9c1d-0000-4000-8000-000000000000");
  EXPECT_EQ(e->at("client"), "sre-pipeline");
  EXPECT_EQ(e->at("client_url"), kLink);
  EXPECT_EQ(e->at("links"), (Json::array({{{"href", kLink}, {"text", "Incident page"}}})));
  const Json& p = e->at("payload");
  EXPECT_EQ(Keys(p), (std::set<std::string>{"summary", "source", "severity", "timestamp", "component", "group", "class",
                                            "custom_details"}));
  EXPECT_EQ(p.at("summary"), n.title);
  EXPECT_EQ(p.at("source"), "payment-service");
  EXPECT_EQ(p.at("component"), "payment-service");
  EXPECT_EQ(p.at("severity"), "error");
  EXPECT_EQ(p.at("timestamp"), kIso);
  EXPECT_EQ(p.at("group"), "payments");
  EXPECT_EQ(p.at("class"), "LATENCY_SPIKE");
  EXPECT_EQ(p.at("custom_details"), (Json{{"Trigger metric", "latency_p99_ms"},
                                          {"Observed", "2400 ms"},
                                          {"Baseline", "380 ms"},
                                          {"incident_number", "INC-3F2A9C1D"},
                                          {"incident_id", n.incident_id},
                                          {"link", kLink}}));
}

TEST(ChannelsPagerDutyTest, TriggerWithoutLinkOrTeamOmitsThem) {
  Notice n = Alert();
  n.link.clear();
  n.team.clear();
  auto e = PagerDutyEvent(n, "R", "K");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(Keys(*e), (std::set<std::string>{"routing_key", "event_action", "dedup_key", "payload", "client"}));
  EXPECT_FALSE(e->at("payload").contains("group"));
}

TEST(ChannelsPagerDutyTest, ResolveHasExactlyThreeKeysAndTheTriggersDedupKey) {
  Notice alert = Alert(), resolved = Alert();
  resolved.stage = NotificationType::INCIDENT_RESOLVED;
  auto trigger = PagerDutyEvent(alert, "R", PagerDutyDedupKey(alert.incident_id));
  auto resolve = PagerDutyEvent(resolved, "R", PagerDutyDedupKey(resolved.incident_id));
  ASSERT_TRUE(trigger && resolve);
  EXPECT_EQ(*resolve, (Json{{"routing_key", "R"},
                            {"event_action", "resolve"},
                            {"dedup_key", "sre-pipeline/3f2a9c1d-0000-4000-8000-000000000000"}}));
  EXPECT_EQ(trigger->at("dedup_key"), resolve->at("dedup_key"));
}

TEST(ChannelsPagerDutyTest, OnlyAlertAndResolvedArePaged) {
  for (auto stage :
       {NotificationType::RCA_COMPLETE, NotificationType::REMEDIATION_PLAN, NotificationType::POSTMORTEM}) {
    Notice n = Alert();
    n.stage = stage;
    EXPECT_FALSE(PagerDutyEvent(n, "R", "K").has_value()) << ToString(stage);
  }
}

TEST(ChannelsPagerDutyTest, SeverityTable) {
  EXPECT_EQ(PagerDutySeverity(Severity::CRITICAL), "critical");
  EXPECT_EQ(PagerDutySeverity(Severity::HIGH), "error");
  EXPECT_EQ(PagerDutySeverity(Severity::MEDIUM), "warning");
  EXPECT_EQ(PagerDutySeverity(Severity::LOW), "info");
  EXPECT_EQ(PagerDutyDedupKey("abc"), "sre-pipeline/abc");
}

TEST(ChannelsPagerDutyTest, SummaryIsCappedAt1024Bytes) {
  Notice n = Alert();
  n.title = std::string(5000, 't');
  auto e = PagerDutyEvent(n, "R", "K");
  ASSERT_TRUE(e.has_value());
  std::string summary = e->at("payload").at("summary");
  EXPECT_LE(summary.size(), 1024u);
  EXPECT_GT(summary.size(), 1000u);

  n.title.clear();
  for (int i = 0; i < 2500; ++i) n.title += "é";  // 5000 bytes: the cut must not split a character
  summary = PagerDutyEvent(n, "R", "K")->at("payload").at("summary");
  EXPECT_LE(summary.size(), 1024u);
  EXPECT_TRUE(IsValidUtf8(summary));
}

TEST(ChannelsPagerDutyTest, GroupTriggerPagesAtTheHighestSeverity) {
  std::vector<Notice> notices = {Numbered(1, Severity::LOW), Numbered(2, Severity::CRITICAL),
                                 Numbered(3, Severity::MEDIUM)};
  Json e = PagerDutyGroupTrigger(notices, "R", PagerDutyDedupKey(notices[0].incident_id));
  EXPECT_EQ(e.at("event_action"), "trigger");
  EXPECT_EQ(e.at("dedup_key"), "sre-pipeline/00000001-0000-4000-8000-000000000000");
  const Json& p = e.at("payload");
  EXPECT_EQ(p.at("severity"), "critical");
  EXPECT_EQ(p.at("source"), "svc-1");
  EXPECT_EQ(p.at("timestamp"), kIso);
  EXPECT_EQ(p.at("summary").get<std::string>().rfind("3 incidents opened together: INC-00000001 (svc-1)", 0), 0u)
      << p.at("summary");
  const Json& incidents = p.at("custom_details").at("incidents");
  ASSERT_EQ(incidents.size(), 3u);
  EXPECT_EQ(incidents[1], (Json{{"number", "INC-00000002"},
                                {"id", "00000002-0000-4000-8000-000000000000"},
                                {"service", "svc-2"},
                                {"severity", "CRITICAL"},
                                {"title", "incident 2"},
                                {"link", "https://sre.example.com/incidents/00000002-0000-4000-8000-000000000000"}}));

  std::vector<Notice> lows = {Numbered(1, Severity::LOW), Numbered(2, Severity::MEDIUM)};
  EXPECT_EQ(PagerDutyGroupTrigger(lows, "R", "K").at("payload").at("severity"), "warning");

  std::vector<Notice> many;
  for (int i = 0; i < 300; ++i) many.push_back(Numbered(i, Severity::LOW));
  EXPECT_LE(PagerDutyGroupTrigger(many, "R", "K").at("payload").at("summary").get<std::string>().size(), 1024u);
}

TEST(ChannelsWebhookTest, BodyCarriesTheIncidentAndTheStage) {
  Notice n = Alert();
  n.stage = NotificationType::RCA_COMPLETE;
  Json b = WebhookBody(n, "d-1");
  EXPECT_EQ(Keys(b), (std::set<std::string>{"version", "delivery_id", "stage", "incident", "title", "summary", "facts",
                                            "ts", "time"}));
  EXPECT_EQ(b.at("version"), 1);
  EXPECT_EQ(b.at("delivery_id"), "d-1");
  EXPECT_EQ(b.at("stage"), "RCA_COMPLETE");
  EXPECT_EQ(b.at("incident"), (Json{{"id", n.incident_id},
                                    {"number", "INC-3F2A9C1D"},
                                    {"service", "payment-service"},
                                    {"team", "payments"},
                                    {"owner", "alice@example.com"},
                                    {"severity", "HIGH"},
                                    {"anomaly_type", "LATENCY_SPIKE"},
                                    {"status", "INVESTIGATING"},
                                    {"link", kLink}}));
  EXPECT_EQ(b.at("title"), n.title);
  EXPECT_EQ(b.at("summary"), n.summary);
  ASSERT_EQ(b.at("facts").size(), 3u);
  EXPECT_EQ(b.at("facts")[1], (Json{{"label", "Observed"}, {"value", "2400 ms"}}));
  EXPECT_EQ(b.at("ts"), kTs);
  EXPECT_EQ(b.at("time"), kIso);

  n.ts = 0;
  EXPECT_EQ(WebhookBody(n, "d").at("time"), "1970-01-01T00:00:00.000Z");
}

TEST(ChannelsWebhookTest, GroupBodyListsEveryIncidentWithItsTitle) {
  Json b = WebhookGroupBody({Numbered(1), Numbered(2)}, "d-2");
  EXPECT_EQ(Keys(b), (std::set<std::string>{"version", "delivery_id", "stage", "group", "incidents", "ts", "time"}));
  EXPECT_EQ(b.at("version"), 1);
  EXPECT_EQ(b.at("delivery_id"), "d-2");
  EXPECT_EQ(b.at("stage"), "INCIDENT_ALERT");
  EXPECT_EQ(b.at("group"), true);
  ASSERT_EQ(b.at("incidents").size(), 2u);
  EXPECT_EQ(b.at("incidents")[1].at("number"), "INC-00000002");
  EXPECT_EQ(b.at("incidents")[1].at("title"), "incident 2");
  EXPECT_EQ(b.at("incidents")[1].at("service"), "svc-2");
  EXPECT_EQ(b.at("ts"), kTs);
  EXPECT_EQ(b.at("time"), kIso);
}

TEST(ChannelsWebhookTest, HmacMatchesRfc4231) {
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");  // test case 2
  EXPECT_EQ(HmacSha256Hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");  // test case 1
}

TEST(ChannelsWebhookTest, SignatureBindsTheTimestamp) {
  const std::string body = R"({"version":1})";
  const std::string sig = WebhookSignature("s3cret", 1763906709, body);
  EXPECT_EQ(sig, "t=1763906709,v1=" + HmacSha256Hex("s3cret", "1763906709." + body));
  EXPECT_EQ(sig.size(), std::string("t=1763906709,v1=").size() + 64);
  EXPECT_NE(sig.substr(16), WebhookSignature("s3cret", 1763906710, body).substr(16));
  EXPECT_NE(sig, WebhookSignature("other", 1763906709, body));
}

TEST(ChannelsUtf8Test, InvalidUtf8InUntrustedTextYieldsValidJson) {
  Notice n = Alert();
  const std::string bad = "ok \xFF\xFE bad \xC3 cut \xED\xA0\x80 surrogate";
  n.summary = bad;
  n.title = bad;
  n.service = bad;
  n.team = bad;
  n.owner = bad;
  n.anomaly_type = bad;
  n.incident_number = bad;
  n.status = bad;
  n.link = "https://x/" + bad;
  n.facts = {{bad, bad}};
  Notice resolved = n;
  resolved.stage = NotificationType::INCIDENT_RESOLVED;
  std::vector<Json> bodies = {SlackMessage(n),
                              SlackPostMessage(n, "C" + bad, bad),
                              SlackUpdate(n, resolved, "C", bad),
                              SlackGroupMessage({n, n}),
                              TeamsMessage(n),
                              TeamsGroupMessage({n}),
                              *PagerDutyEvent(n, "R", bad),
                              *PagerDutyEvent(resolved, bad, bad),
                              PagerDutyGroupTrigger({n, n}, "R", "K"),
                              WebhookBody(n, bad),
                              WebhookGroupBody({n}, "d")};
  for (const auto& b : bodies) {
    std::string dump;
    EXPECT_NO_THROW(dump = b.dump());
    EXPECT_TRUE(IsValidUtf8(dump));
    EXPECT_NE(dump.find("\xEF\xBF\xBD"), std::string::npos) << dump;  // U+FFFD stands in for what was ill-formed
  }
}

}  // namespace
}  // namespace sre::communication

namespace sre::communication {
namespace {

TEST(ChannelsTeamsInertTest, UntrustedMarkdownLinksDoNotBecomeLinks) {
  Notice n;
  n.stage = NotificationType::RCA_COMPLETE;
  n.incident_id = "8161d517-6ef2-44fb-ab06-fc39732509bb";
  n.service = "payment-service";
  n.summary = "see [reset your password](https://evil.example) now";
  n.facts = {{"Evidence", "[click](http://evil.example/x)"}};
  const std::string body = Dump(TeamsMessage(n));
  EXPECT_EQ(body.find("](http"), std::string::npos) << body;
  EXPECT_NE(body.find("reset your password"), std::string::npos);
  EXPECT_NE(body.find("https://evil.example"), std::string::npos) << "the text stays readable";
}

}  // namespace
}  // namespace sre::communication
