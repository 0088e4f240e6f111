// The channel doubles (tests/support/fake_channels.h) must accept what Slack, Teams Workflows,
// PagerDuty and the signed webhook document as valid and refuse the rest with the service's own
// answer: a fake that accepts too much would let a broken client pass its delivery tests.
#include "tests/support/fake_channels.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <chrono>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace sre::testing {
namespace {

using std::chrono::milliseconds;

// Lower-case hex HMAC-SHA256, computed independently of the fake (the test's own signer).
std::string Hmac(const std::string& key, const std::string& message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[mac[i] >> 4];
    hex += kHex[mac[i] & 0xF];
  }
  return hex;
}

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The path (and query) of a URL the fake issued: "http://127.0.0.1:<port>/x?y" → "/x?y".
std::string PathOf(const std::string& url) {
  return url.substr(url.find('/', std::string("http://").size()));
}

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// What the communication agent sends (channels.h), written out as the documentation shows it.
Json SlackMessageBody() {
  return Json::parse(R"({
    "text": "Incident alert INC-8161D517: checkout error rate",
    "blocks": [
      {"type": "header", "text": {"type": "plain_text", "text": "Incident alert · INC-8161D517", "emoji": true}},
      {"type": "section", "fields": [
        {"type": "mrkdwn", "text": "*Severity*\nHIGH"},
        {"type": "mrkdwn", "text": "*Service*\ncheckout"},
        {"type": "mrkdwn", "text": "*Team*\npayments"}]},
      {"type": "section", "text": {"type": "mrkdwn", "text": "Error rate 12% (threshold 5%) since 14:05 UTC."}},
      {"type": "context", "elements": [{"type": "mrkdwn", "text": "2026-11-23 14:05:09 UTC"}]},
      {"type": "divider"},
      {"type": "section", "text": {"type": "mrkdwn", "text": "<http://dash.local/incidents/1|Open the incident>"}}
    ]})");
}

Json Header(const std::string& text) {
  return Json{{"type", "header"}, {"text", {{"type", "plain_text"}, {"text", text}}}};
}

Json TeamsBody(const std::string& version = "1.4") {
  Json body = Json::parse(R"({
    "type": "message",
    "attachments": [{
      "contentType": "application/vnd.microsoft.card.adaptive",
      "contentUrl": null,
      "content": {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
          {"type": "TextBlock", "text": "Incident alert · INC-8161D517", "weight": "Bolder",
           "size": "Medium", "wrap": true},
          {"type": "FactSet", "facts": [{"title": "Severity", "value": "HIGH"},
                                        {"title": "Service", "value": "checkout"}]},
          {"type": "ColumnSet", "columns": [{"type": "Column", "width": "stretch",
            "items": [{"type": "TextBlock", "text": "Error rate 12%", "wrap": true}]}]},
          {"type": "Container",
           "items": [{"type": "TextBlock", "text": "2026-11-23 14:05:09 UTC", "isSubtle": true}]}
        ],
        "actions": [{"type": "Action.OpenUrl", "title": "Open the incident",
                     "url": "http://dash.local/incidents/1"}]
      }
    }]})");
  body["attachments"][0]["content"]["version"] = version;
  return body;
}

class FakeChannelsTest : public ::testing::Test {
 protected:
  FakeChannelsTest() : client_("127.0.0.1", fake_.port()) {
    client_.set_connection_timeout(2);
    client_.set_read_timeout(5);
  }

  httplib::Result Post(const std::string& url, const std::string& body,
                       const std::string& content_type = "application/json",
                       httplib::Headers headers = {}) {
    return client_.Post(PathOf(url), headers, body, content_type);
  }

  // chat.postMessage / chat.update with the bot token; returns the parsed answer (HTTP 200
  // expected).
  Json SlackApi(const std::string& method, const Json& body, const std::string& token) {
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    auto res = Post(fake_.slack_api_url() + "/" + method, Dump(body),
                    "application/json; charset=utf-8", headers);
    if (!res) return Json{{"transport_error", httplib::to_string(res.error())}};
    EXPECT_EQ(res->status, 200) << res->body;
    return Json::parse(res->body, nullptr, false);
  }
  Json SlackApi(const std::string& method, const Json& body) {
    return SlackApi(method, body, fake_.slack_token());
  }

  Json PagerDutyEvent(const std::string& action, const std::string& dedup_key) {
    Json e = {{"routing_key", fake_.pagerduty_routing_key()}, {"event_action", action}};
    if (!dedup_key.empty()) e["dedup_key"] = dedup_key;
    if (action == "trigger") {
      e["payload"] = {{"summary", "checkout: error rate 12% (threshold 5%)"},
                      {"source", "checkout"},
                      {"severity", "error"},
                      {"timestamp", "2026-11-23T14:05:09.123Z"},
                      {"component", "checkout"},
                      {"group", "payments"},
                      {"class", "ERROR_RATE"},
                      {"custom_details", {{"Root cause", "bad deploy"}}}};
      e["links"] = Json::array({{{"href", "http://dash.local/incidents/1"}, {"text", "Incident"}}});
      e["client"] = "sre-pipeline";
      e["client_url"] = "http://dash.local";
    }
    return e;
  }

  Json WebhookBody(const std::string& delivery) {
    return {{"version", 1},
            {"delivery_id", delivery},
            {"stage", "INCIDENT_ALERT"},
            {"incident",
             {{"id", "7f0c2a4e-0000-4000-8000-000000000001"},
              {"number", "INC-7F0C2A4E"},
              {"service", "checkout"},
              {"severity", "HIGH"}}},
            {"title", "checkout error rate"},
            {"ts", 1795356309123}};
  }

  // Posts a webhook body signed with `secret` at `t` (the defaults make a valid delivery).
  httplib::Result PostWebhook(const std::string& body, const std::string& delivery,
                              std::string secret = "", int64_t t = 0) {
    if (secret.empty()) secret = fake_.webhook_secret();
    if (t == 0) t = NowSeconds();
    httplib::Headers headers = {
        {"X-SRE-Signature",
         "t=" + std::to_string(t) + ",v1=" + Hmac(secret, std::to_string(t) + "." + body)}};
    if (!delivery.empty()) headers.emplace("X-SRE-Delivery", delivery);
    return Post(fake_.webhook_url(), body, "application/json", headers);
  }

  FakeChannels fake_;
  httplib::Client client_;
};

// ---- Slack incoming webhook ----

TEST_F(FakeChannelsTest, SlackWebhookAcceptsBlockKitMessage) {
  EXPECT_TRUE(std::regex_match(
      fake_.slack_webhook_url(),
      std::regex(R"(http://127\.0\.0\.1:\d+/services/T0001/B0001/[A-Za-z0-9]{24})")));
  auto res =
      Post(fake_.slack_webhook_url(), Dump(SlackMessageBody()), "application/json; charset=utf-8");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "ok");
  EXPECT_EQ(res->get_header_value("Content-Type").rfind("text/html", 0), 0u);
  // Text alone is a valid message too.
  res = Post(fake_.slack_webhook_url(), R"({"text":"plain"})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);

  auto accepted = fake_.Accepted(Receiver::kSlackWebhook);
  ASSERT_EQ(accepted.size(), 2u);
  EXPECT_EQ(accepted[0].method, "POST");
  EXPECT_EQ(accepted[0].headers.at("content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(accepted[0].json["blocks"].size(), 6u);
  EXPECT_TRUE(accepted[0].problem.empty());
}

TEST_F(FakeChannelsTest, SlackWebhookRejectsWithDocumentedErrors) {
  const std::string url = fake_.slack_webhook_url();
  struct Case {
    std::string name, url, body, content_type;
    int status;
    std::string answer;
  };
  Json blocks51 = {{"blocks", Json::array()}};
  for (int i = 0; i < 51; ++i) blocks51["blocks"].push_back({{"type", "divider"}});
  Json blocks50 = {{"blocks", Json::array()}};
  for (int i = 0; i < 50; ++i) blocks50["blocks"].push_back({{"type", "divider"}});
  Json fields11 = {{"blocks", Json::array({{{"type", "section"}, {"fields", Json::array()}}})}};
  for (int i = 0; i < 11; ++i)
    fields11["blocks"][0]["fields"].push_back({{"type", "mrkdwn"}, {"text", "f"}});
  Json long_section = {
      {"blocks",
       Json::array({{{"type", "section"},
                     {"text", {{"type", "mrkdwn"}, {"text", std::string(3001, 'x')}}}}})}};
  Json mrkdwn_header = {{"blocks", Json::array({{{"type", "header"},
                                                 {"text", {{"type", "mrkdwn"}, {"text", "h"}}}}})}};
  std::vector<Case> cases = {
      {"wrong path", url + "x", R"({"text":"x"})", "application/json", 404, "no_service"},
      {"form content type", url, R"({"text":"x"})", "application/x-www-form-urlencoded", 400,
       "invalid_payload"},
      {"not JSON", url, "text=hello", "application/json", 400, "invalid_payload"},
      {"no text or blocks", url, R"({"username":"sre"})", "application/json", 400, "no_text"},
      {"51 blocks", url, Dump(blocks51), "application/json", 400, "invalid_blocks"},
      {"header 151 chars", url, Dump(Json{{"blocks", {Header(std::string(151, 'h'))}}}),
       "application/json", 400, "invalid_blocks"},
      {"11 fields", url, Dump(fields11), "application/json", 400, "invalid_blocks"},
      {"section text 3001", url, Dump(long_section), "application/json", 400, "invalid_blocks"},
      {"mrkdwn header", url, Dump(mrkdwn_header), "application/json", 400, "invalid_blocks"},
      {"unknown block", url, R"({"blocks":[{"type":"carousel"}]})", "application/json", 400,
       "invalid_blocks"},
      // At the limits: accepted. 150 two-byte characters are 300 bytes but 150 characters.
      {"50 blocks", url, Dump(blocks50), "application/json", 200, "ok"},
      {"header 150 code points", url, Dump(Json{{"blocks", {Header(Repeat("é", 150))}}}),
       "application/json", 200, "ok"},
  };
  for (const auto& c : cases) {
    auto res = Post(c.url, c.body, c.content_type);
    ASSERT_TRUE(res) << c.name;
    EXPECT_EQ(res->status, c.status) << c.name;
    EXPECT_EQ(res->body, c.answer) << c.name;
  }
  auto requests = fake_.Requests(Receiver::kSlackWebhook);
  ASSERT_EQ(requests.size(), cases.size());
  EXPECT_NE(requests[5].problem.find("/blocks/0/text/text"), std::string::npos)
      << requests[5].problem;
  EXPECT_EQ(fake_.Accepted(Receiver::kSlackWebhook).size(), 2u);
}

// ---- Slack Web API ----

TEST_F(FakeChannelsTest, SlackApiPostsThreadsAndUpdates) {
  EXPECT_EQ(fake_.slack_token().rfind("xoxb-", 0), 0u);
  Json first = SlackMessageBody();
  first["channel"] = fake_.slack_channel();
  Json posted = SlackApi("chat.postMessage", first);
  ASSERT_EQ(posted["ok"], true) << posted;
  EXPECT_EQ(posted["channel"], "C0SREPIPE");
  const std::string ts = posted["ts"];
  EXPECT_TRUE(std::regex_match(ts, std::regex(R"(\d{10}\.\d{6})"))) << ts;
  EXPECT_EQ(posted["message"]["text"], first["text"]);
  EXPECT_EQ(posted["message"]["blocks"], first["blocks"]);

  // A later stage replies in the first message's thread; by channel name works too.
  Json reply = {
      {"channel", "#sre-incidents"}, {"text", "Root cause identified"}, {"thread_ts", ts}};
  Json replied = SlackApi("chat.postMessage", reply);
  ASSERT_EQ(replied["ok"], true) << replied;
  EXPECT_EQ(replied["message"]["thread_ts"], ts);
  EXPECT_GT(replied["ts"].get<std::string>(), ts);

  // A thread that was never issued.
  reply["thread_ts"] = "1234567890.000001";
  Json lost = SlackApi("chat.postMessage", reply);
  EXPECT_EQ(lost["ok"], false);
  EXPECT_EQ(lost["error"], "thread_not_found");

  // chat.update replaces blocks and text of the first message.
  Json update = {{"channel", fake_.slack_channel()},
                 {"ts", ts},
                 {"text", "INC-8161D517 resolved"},
                 {"blocks", Json::array({Header("Incident resolved · INC-8161D517")})}};
  Json updated = SlackApi("chat.update", update);
  ASSERT_EQ(updated["ok"], true) << updated;
  EXPECT_EQ(updated["ts"], ts);
  EXPECT_EQ(updated["channel"], "C0SREPIPE");
  EXPECT_EQ(updated["text"], "INC-8161D517 resolved");

  auto messages = fake_.SlackMessages();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].ts, ts);
  EXPECT_EQ(messages[0].updates, 1);
  EXPECT_EQ(messages[0].body["blocks"], update["blocks"]);
  EXPECT_EQ(messages[0].body["text"], "INC-8161D517 resolved");
  EXPECT_TRUE(messages[0].thread_ts.empty());
  EXPECT_EQ(messages[1].thread_ts, ts);
  EXPECT_EQ(messages[1].updates, 0);
  EXPECT_EQ(fake_.Accepted(Receiver::kSlackApi).size(), 3u);
  EXPECT_EQ(fake_.Requests(Receiver::kSlackApi).size(), 4u);
}

TEST_F(FakeChannelsTest, SlackApiRejectsWithDocumentedErrors) {
  Json good = {{"channel", fake_.slack_channel()}, {"text", "hello"}};
  EXPECT_EQ(SlackApi("chat.postMessage", good, "")["error"], "not_authed");
  EXPECT_EQ(SlackApi("chat.postMessage", good, "xoxb-wrong")["error"], "invalid_auth");
  Json other = good;
  other["channel"] = "C0OTHER";
  EXPECT_EQ(SlackApi("chat.postMessage", other)["error"], "channel_not_found");
  EXPECT_EQ(SlackApi("chat.postMessage", Json{{"channel", fake_.slack_channel()}})["error"],
            "no_text");
  Json too_many = good;
  too_many["blocks"] = Json::array();
  for (int i = 0; i < 51; ++i) too_many["blocks"].push_back({{"type", "divider"}});
  Json invalid = SlackApi("chat.postMessage", too_many);
  EXPECT_EQ(invalid["error"], "invalid_blocks");
  EXPECT_FALSE(invalid["response_metadata"]["messages"].empty()) << invalid;
  EXPECT_EQ(SlackApi("chat.update", Json{{"channel", fake_.slack_channel()},
                                         {"ts", "1.000001"},
                                         {"text", "x"}})["error"],
            "message_not_found");

  // A form post is not what the agent sends: refused (Slack's invalid_post_type).
  httplib::Headers auth = {{"Authorization", "Bearer " + fake_.slack_token()}};
  auto res = Post(fake_.slack_api_url() + "/chat.postMessage", "channel=C0SREPIPE&text=x",
                  "application/x-www-form-urlencoded", auth);
  ASSERT_TRUE(res);
  EXPECT_EQ(Json::parse(res->body)["error"], "invalid_post_type");
  res = Post(fake_.slack_api_url() + "/chat.postMessage", "{not json", "application/json", auth);
  ASSERT_TRUE(res);
  EXPECT_EQ(Json::parse(res->body)["error"], "invalid_json");
  res = Post(fake_.slack_api_url() + "/chat.delete", Dump(good), "application/json", auth);
  ASSERT_TRUE(res);
  EXPECT_EQ(Json::parse(res->body)["error"], "unknown_method");

  EXPECT_TRUE(fake_.Accepted(Receiver::kSlackApi).empty());
  EXPECT_TRUE(fake_.SlackMessages().empty());
  for (const auto& r : fake_.Requests(Receiver::kSlackApi))
    EXPECT_FALSE(r.problem.empty()) << r.body;
}

TEST_F(FakeChannelsTest, SlackRateLimitFaultAnswersOnceWithRetryAfter) {
  fake_.PushFault(Receiver::kSlackApi, Fault{.status = 429, .retry_after_s = 7});
  Json message = {{"channel", fake_.slack_channel()}, {"text", "hello"}};
  httplib::Headers auth = {{"Authorization", "Bearer " + fake_.slack_token()}};
  auto res =
      Post(fake_.slack_api_url() + "/chat.postMessage", Dump(message), "application/json", auth);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429);
  EXPECT_EQ(res->get_header_value("Retry-After"), "7");
  EXPECT_EQ(Json::parse(res->body), Json::parse(R"({"ok":false,"error":"ratelimited"})"));

  EXPECT_EQ(SlackApi("chat.postMessage", message)["ok"], true);
  auto requests = fake_.Requests(Receiver::kSlackApi);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_TRUE(requests[0].faulted);
  EXPECT_FALSE(requests[0].delivered);
  EXPECT_TRUE(requests[0].problem.empty());  // well formed, only rate limited
  EXPECT_EQ(requests[0].status, 429);
  EXPECT_EQ(fake_.Accepted(Receiver::kSlackApi).size(), 1u);
  EXPECT_EQ(fake_.SlackMessages().size(), 1u);

  // The webhook has its own queue and its own error format.
  fake_.PushFault(Receiver::kSlackWebhook, Fault{.status = 429, .retry_after_s = 30});
  res = Post(fake_.slack_webhook_url(), R"({"text":"x"})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429);
  EXPECT_EQ(res->body, "rate_limited");
  EXPECT_EQ(res->get_header_value("Retry-After"), "30");
}

TEST_F(FakeChannelsTest, SlackAfterAcceptingPostsTheMessageButLosesTheAnswer) {
  fake_.PushFault(Receiver::kSlackApi, Fault{.status = 503, .after_accepting = true});
  Json message = {{"channel", fake_.slack_channel()}, {"text", "hello"}};
  httplib::Headers auth = {{"Authorization", "Bearer " + fake_.slack_token()}};
  auto res =
      Post(fake_.slack_api_url() + "/chat.postMessage", Dump(message), "application/json", auth);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(Json::parse(res->body)["error"], "service_unavailable");
  EXPECT_EQ(fake_.SlackMessages().size(), 1u);  // a retry would post it twice
  ASSERT_EQ(fake_.Accepted(Receiver::kSlackApi).size(), 1u);
  EXPECT_EQ(fake_.Accepted(Receiver::kSlackApi)[0].status, 503);
}

// ---- Microsoft Teams Workflows ----

TEST_F(FakeChannelsTest, TeamsAcceptsAdaptiveCard) {
  const std::string url = fake_.teams_url();
  EXPECT_TRUE(std::regex_match(
      url,
      std::regex(
          R"(http://127\.0\.0\.1:\d+/workflows/[0-9a-f]+/triggers/manual/paths/invoke\?api-version=)"
          R"(2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1\.0&sig=[A-Za-z0-9_-]{43})")))
      << url;
  auto res = Post(url, Dump(TeamsBody()));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202);
  EXPECT_TRUE(res->body.empty());
  res = Post(url, Dump(TeamsBody("1.0")));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202) << res->body;

  auto accepted = fake_.Accepted(Receiver::kTeams);
  ASSERT_EQ(accepted.size(), 2u);
  EXPECT_EQ(accepted[0].query, url.substr(url.find('?') + 1));  // raw, percent-encoding kept
  EXPECT_EQ(accepted[0].json["attachments"][0]["content"]["type"], "AdaptiveCard");
}

TEST_F(FakeChannelsTest, TeamsRejectsWithDocumentedErrors) {
  const std::string url = fake_.teams_url();
  const std::string sig = url.substr(url.find("sig=") + 4);
  std::string tampered = url;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  std::string decoded = url;
  decoded.replace(decoded.find("%2Ftriggers%2Fmanual%2Frun"), 26, "/triggers/manual/run");
  const std::string no_query = url.substr(0, url.find('?'));

  for (const auto& bad : {tampered, decoded, no_query}) {
    auto res = Post(bad, Dump(TeamsBody()));
    ASSERT_TRUE(res) << bad;
    EXPECT_EQ(res->status, 401) << bad;
    EXPECT_EQ(Json::parse(res->body)["error"]["code"], "DirectApiAuthorizationRequired") << bad;
  }

  auto invalid = [&](const std::string& name, const Json& body,
                     const std::string& content_type = "application/json") {
    auto res = Post(url, Dump(body), content_type);
    ASSERT_TRUE(res) << name;
    EXPECT_EQ(res->status, 400) << name;
    Json answer = Json::parse(res->body, nullptr, false);
    EXPECT_EQ(answer["error"]["code"], "InvalidRequestContent") << name;
    EXPECT_FALSE(answer["error"]["message"].get<std::string>().empty()) << name;
  };
  invalid("version 1.5", TeamsBody("1.5"));
  invalid("version 1.10", TeamsBody("1.10"));
  invalid("version as a number", [] {
    Json b = TeamsBody();
    b["attachments"][0]["content"]["version"] = 1.4;
    return b;
  }());
  invalid("fact without value", [] {
    Json b = TeamsBody();
    b["attachments"][0]["content"]["body"][1]["facts"][0].erase("value");
    return b;
  }());
  invalid("OpenUrl without url", [] {
    Json b = TeamsBody();
    b["attachments"][0]["content"]["actions"][0].erase("url");
    return b;
  }());
  invalid("TextBlock without text", [] {
    Json b = TeamsBody();
    b["attachments"][0]["content"]["body"][2]["columns"][0]["items"][0].erase("text");
    return b;
  }());
  invalid("unknown element", [] {
    Json b = TeamsBody();
    b["attachments"][0]["content"]["body"].push_back({{"type", "Table"}});
    return b;
  }());
  invalid("connector card", [] {
    Json b = TeamsBody();
    b["attachments"][0]["contentType"] = "application/vnd.microsoft.teams.card.o365connector";
    return b;
  }());
  invalid("not a message", [] {
    Json b = TeamsBody();
    b["type"] = "AdaptiveCard";
    return b;
  }());
  invalid("no attachments", Json{{"type", "message"}, {"attachments", Json::array()}});
  invalid("text/plain", TeamsBody(), "text/plain");

  EXPECT_TRUE(fake_.Accepted(Receiver::kTeams).empty());
  EXPECT_EQ(fake_.Requests(Receiver::kTeams).size(), 14u);
  EXPECT_FALSE(sig.empty());
}

TEST_F(FakeChannelsTest, TeamsDefaultFaultBodyIsAWorkflowsError) {
  fake_.PushFault(Receiver::kTeams, Fault{.status = 502});
  auto res = Post(fake_.teams_url(), Dump(TeamsBody()));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 502);
  EXPECT_TRUE(Json::parse(res->body)["error"]["code"].is_string()) << res->body;
  res = Post(fake_.teams_url(), Dump(TeamsBody()));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202);
}

// ---- PagerDuty Events API v2 ----

TEST_F(FakeChannelsTest, PagerDutyAcceptsTriggerAndResolve) {
  EXPECT_EQ(fake_.pagerduty_routing_key().size(), 32u);
  auto res = Post(fake_.pagerduty_url(), Dump(PagerDutyEvent("trigger", "sre-pipeline/7f0c2a4e")));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202) << res->body;
  EXPECT_EQ(
      Json::parse(res->body),
      Json::parse(
          R"({"status":"success","message":"Event processed","dedup_key":"sre-pipeline/7f0c2a4e"})"));

  // Without a dedup_key PagerDuty makes one up and returns it.
  res = Post(fake_.pagerduty_url(), Dump(PagerDutyEvent("trigger", "")));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202);
  EXPECT_FALSE(Json::parse(res->body)["dedup_key"].get<std::string>().empty());

  Json with_offset = PagerDutyEvent("trigger", "k2");
  with_offset["payload"]["timestamp"] = "2026-11-23T15:05:09+01:00";
  res = Post(fake_.pagerduty_url(), Dump(with_offset));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202) << res->body;

  res = Post(fake_.pagerduty_url(), Dump(PagerDutyEvent("resolve", "sre-pipeline/7f0c2a4e")));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202);
  EXPECT_EQ(fake_.Accepted(Receiver::kPagerDuty).size(), 4u);
  EXPECT_EQ(fake_.Accepted(Receiver::kPagerDuty)[3].json["event_action"], "resolve");
}

TEST_F(FakeChannelsTest, PagerDutyRejectsInvalidEvents) {
  auto invalid = [&](const std::string& name, const Json& event, const std::string& error) {
    auto res = Post(fake_.pagerduty_url(), Dump(event));
    ASSERT_TRUE(res) << name;
    EXPECT_EQ(res->status, 400) << name;
    Json answer = Json::parse(res->body, nullptr, false);
    EXPECT_EQ(answer["status"], "invalid event") << name;
    EXPECT_EQ(answer["message"], "Event object is invalid") << name;
    ASSERT_TRUE(answer["errors"].is_array()) << name;
    bool found = false;
    for (const auto& e : answer["errors"])
      found = found || e.get<std::string>().find(error) != std::string::npos;
    EXPECT_TRUE(found) << name << ": " << answer;
  };
  Json e = PagerDutyEvent("trigger", "k");
  e["payload"].erase("summary");
  invalid("missing summary", e, "'payload.summary'");
  e = PagerDutyEvent("trigger", "k");
  e["payload"]["severity"] = "high";
  invalid("bad severity", e, "'payload.severity' is invalid");
  e = PagerDutyEvent("trigger", "k");
  e["payload"]["summary"] = std::string(1025, 's');
  invalid("summary too long", e, "too long");
  e = PagerDutyEvent("trigger", "k");
  e["payload"]["timestamp"] = "23/11/2026 14:05";
  invalid("bad timestamp", e, "'payload.timestamp'");
  e = PagerDutyEvent("trigger", "k");
  e["links"] = Json::array({{{"text", "no href"}}});
  invalid("link without href", e, "'links[0].href'");
  e = PagerDutyEvent("trigger", "k");
  e["images"] = Json::array({{{"href", "http://x"}}});
  invalid("image without src", e, "'images[0].src'");
  invalid("resolve without dedup_key", PagerDutyEvent("resolve", ""), "'dedup_key'");
  e = PagerDutyEvent("acknowledge", std::string(256, 'd'));
  invalid("dedup_key too long", e, "'dedup_key' is too long");
  e = PagerDutyEvent("trigger", "k");
  e["routing_key"] = std::string(32, '0');
  invalid("wrong routing key", e, "Invalid routing key");
  e["routing_key"] = "short";
  invalid("short routing key", e, "Length of 'routing_key'");
  invalid("bad action", PagerDutyEvent("escalate", "k"), "'event_action' is invalid");
  e = PagerDutyEvent("trigger", "k");
  e["payload"].erase("source");
  e["payload"].erase("severity");
  // Every problem is listed, not only the first.
  auto res = Post(fake_.pagerduty_url(), Dump(e));
  ASSERT_TRUE(res);
  EXPECT_EQ(Json::parse(res->body)["errors"].size(), 2u) << res->body;

  EXPECT_TRUE(fake_.Accepted(Receiver::kPagerDuty).empty());
}

TEST_F(FakeChannelsTest, PagerDutyThrottleOnceThenAccepts) {
  fake_.PushFault(Receiver::kPagerDuty, Fault{.status = 429, .retry_after_s = 2});
  auto res = Post(fake_.pagerduty_url(), Dump(PagerDutyEvent("trigger", "k")));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429);
  EXPECT_EQ(res->get_header_value("Retry-After"), "2");
  EXPECT_EQ(Json::parse(res->body)["status"], "throttle exceeded");
  res = Post(fake_.pagerduty_url(), Dump(PagerDutyEvent("trigger", "k")));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202);
  EXPECT_EQ(fake_.Accepted(Receiver::kPagerDuty).size(), 1u);
  EXPECT_EQ(fake_.Requests(Receiver::kPagerDuty).size(), 2u);
}

TEST_F(FakeChannelsTest, AfterAcceptingCountsAsDelivered) {
  fake_.PushFault(Receiver::kPagerDuty, Fault{.status = 500, .after_accepting = true});
  auto res = Post(fake_.pagerduty_url(), Dump(PagerDutyEvent("trigger", "k")));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  auto accepted = fake_.Accepted(Receiver::kPagerDuty);
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_TRUE(accepted[0].faulted);
  EXPECT_EQ(accepted[0].status, 500);

  // An invalid request is not delivered: it gets its validation error, and uses up the fault.
  fake_.PushFault(Receiver::kPagerDuty, Fault{.status = 500, .after_accepting = true});
  res = Post(fake_.pagerduty_url(), Dump(PagerDutyEvent("resolve", "")));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(fake_.Accepted(Receiver::kPagerDuty).size(), 1u);
  res = Post(fake_.pagerduty_url(), Dump(PagerDutyEvent("resolve", "k")));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202);
}

// ---- Generic signed webhook ----

TEST_F(FakeChannelsTest, TestSignerMatchesRfc4231) {
  // RFC 4231 test case 2: the signer the webhook tests use is right, so a 200 means the fake's
  // check is.
  EXPECT_EQ(Hmac("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_F(FakeChannelsTest, WebhookAcceptsSignedDelivery) {
  auto res = PostWebhook(Dump(WebhookBody("d-1")), "d-1");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(Json::parse(res->body), Json::parse(R"({"ok":true})"));

  Json group = {
      {"version", 1},
      {"delivery_id", "d-2"},
      {"stage", "INCIDENT_ALERT"},
      {"group", true},
      {"incidents", Json::array({WebhookBody("x")["incident"], WebhookBody("y")["incident"]})}};
  res = PostWebhook(Dump(group), "d-2");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;

  auto accepted = fake_.Accepted(Receiver::kWebhook);
  ASSERT_EQ(accepted.size(), 2u);
  EXPECT_EQ(accepted[0].headers.at("x-sre-delivery"), "d-1");
  EXPECT_EQ(accepted[0].headers.at("x-sre-signature").rfind("t=", 0), 0u);
}

TEST_F(FakeChannelsTest, WebhookRejectsBadSignaturesAndBodies) {
  const std::string body = Dump(WebhookBody("d-1"));
  auto expect = [&](const std::string& name, const httplib::Result& res, int status,
                    const std::string& error) {
    ASSERT_TRUE(res) << name;
    EXPECT_EQ(res->status, status) << name;
    Json answer = Json::parse(res->body, nullptr, false);
    ASSERT_TRUE(answer.is_object()) << name;
    if (!error.empty()) {
      EXPECT_EQ(answer["error"], error) << name;
    } else {
      EXPECT_FALSE(answer["error"].get<std::string>().empty()) << name;
    }
  };
  expect("wrong secret", PostWebhook(body, "d-1", "not-the-secret"), 401, "bad signature");
  expect("stale timestamp", PostWebhook(body, "d-1", "", NowSeconds() - 3600), 401,
         "bad signature");
  expect("no signature",
         Post(fake_.webhook_url(), body, "application/json", {{"X-SRE-Delivery", "d-1"}}), 401,
         "bad signature");
  // Signed over another body (a proxy re-serialised the JSON).
  {
    int64_t t = NowSeconds();
    httplib::Headers h = {{"X-SRE-Delivery", "d-1"},
                          {"X-SRE-Signature",
                           "t=" + std::to_string(t) + ",v1=" +
                               Hmac(fake_.webhook_secret(), std::to_string(t) + "." + body + " ")}};
    expect("body changed", Post(fake_.webhook_url(), body, "application/json", h), 401,
           "bad signature");
  }
  expect("no delivery header", PostWebhook(body, ""), 400, "");
  expect("delivery mismatch", PostWebhook(body, "d-2"), 400, "");
  Json v2 = WebhookBody("d-1");
  v2["version"] = 2;
  expect("version 2", PostWebhook(Dump(v2), "d-1"), 400, "version must be 1");
  Json no_severity = WebhookBody("d-1");
  no_severity["incident"].erase("severity");
  expect("incident without severity", PostWebhook(Dump(no_severity), "d-1"), 400, "");
  Json empty_group = {{"version", 1},
                      {"delivery_id", "d-1"},
                      {"stage", "INCIDENT_ALERT"},
                      {"group", true},
                      {"incidents", Json::array()}};
  expect("empty group", PostWebhook(Dump(empty_group), "d-1"), 400, "");

  EXPECT_TRUE(fake_.Accepted(Receiver::kWebhook).empty());
  auto requests = fake_.Requests(Receiver::kWebhook);
  ASSERT_EQ(requests.size(), 9u);
  for (const auto& r : requests) EXPECT_FALSE(r.problem.empty());
}

// ---- Delays, concurrency, reset ----

TEST_F(FakeChannelsTest, DelayedFaultTimesTheClientOutThenServiceRecovers) {
  fake_.PushFault(Receiver::kWebhook, Fault{.status = 503, .delay = milliseconds(1500)});
  httplib::Client impatient("127.0.0.1", fake_.port());
  impatient.set_read_timeout(0, 300000);  // 300 ms
  const std::string body = Dump(WebhookBody("d-1"));
  const int64_t t = NowSeconds();
  httplib::Headers h = {
      {"X-SRE-Delivery", "d-1"},
      {"X-SRE-Signature", "t=" + std::to_string(t) + ",v1=" +
                              Hmac(fake_.webhook_secret(), std::to_string(t) + "." + body)}};
  auto start = std::chrono::steady_clock::now();
  auto res = impatient.Post(PathOf(fake_.webhook_url()), h, body, "application/json");
  EXPECT_FALSE(res);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1400));
  // The request did arrive (a timeout is not a connection failure).
  EXPECT_EQ(fake_.Requests(Receiver::kWebhook).size(), 1u);

  // Other requests are not held up by the sleeping one.
  res = PostWebhook(body, "d-1");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(fake_.Accepted(Receiver::kWebhook).size(), 1u);
}

TEST_F(FakeChannelsTest, DelayOnlyFaultAnswersNormallyButSlowly) {
  fake_.PushFault(Receiver::kPagerDuty, Fault{.status = 202, .delay = milliseconds(300)});
  auto start = std::chrono::steady_clock::now();
  auto res = Post(fake_.pagerduty_url(), Dump(PagerDutyEvent("trigger", "slow")));
  ASSERT_TRUE(res);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(300));
  EXPECT_EQ(res->status, 202);
  EXPECT_EQ(Json::parse(res->body)["dedup_key"], "slow");
  EXPECT_EQ(fake_.Accepted(Receiver::kPagerDuty).size(), 1u);
}

TEST_F(FakeChannelsTest, ConcurrentClientsGetUniqueIncreasingSlackTs) {
  constexpr int kThreads = 6, kEach = 8;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      httplib::Client c("127.0.0.1", fake_.port());
      httplib::Headers auth = {{"Authorization", "Bearer " + fake_.slack_token()}};
      for (int j = 0; j < kEach; ++j) {
        Json m = {{"channel", fake_.slack_channel()},
                  {"text", "t" + std::to_string(i) + "-" + std::to_string(j)}};
        auto res = c.Post(PathOf(fake_.slack_api_url() + "/chat.postMessage"), auth, Dump(m),
                          "application/json");
        if (res && res->status == 200 && Json::parse(res->body)["ok"] == true) ++ok;
        auto pd = c.Post(PathOf(fake_.pagerduty_url()), Dump(PagerDutyEvent("trigger", "k")),
                         "application/json");
        if (pd && pd->status == 202) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 2 * kThreads * kEach);
  auto messages = fake_.SlackMessages();
  ASSERT_EQ(messages.size(), static_cast<size_t>(kThreads * kEach));
  std::set<std::string> seen;
  for (size_t i = 0; i < messages.size(); ++i) {
    seen.insert(messages[i].ts);
    // Same width, so string order is time order.
    if (i > 0) {
      EXPECT_LT(messages[i - 1].ts, messages[i].ts);
    }
  }
  EXPECT_EQ(seen.size(), messages.size());
  EXPECT_EQ(fake_.Accepted(Receiver::kPagerDuty).size(), static_cast<size_t>(kThreads * kEach));
}

TEST_F(FakeChannelsTest, ResetClearsRequestsFaultsAndMessages) {
  EXPECT_EQ(
      SlackApi("chat.postMessage", Json{{"channel", fake_.slack_channel()}, {"text", "x"}})["ok"],
      true);
  fake_.PushFault(Receiver::kPagerDuty, Fault{.status = 500});
  fake_.Reset();
  EXPECT_TRUE(fake_.SlackMessages().empty());
  EXPECT_TRUE(fake_.Requests(Receiver::kSlackApi).empty());
  auto res = Post(fake_.pagerduty_url(), Dump(PagerDutyEvent("trigger", "k")));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202);  // the fault went with the reset
}

}  // namespace
}  // namespace sre::testing
