// End to end with every channel enabled: the real executables, the simulator, MailDev, and local
// receivers validating Slack's (bot token: chat.postMessage / chat.update), Teams', PagerDuty's and
// the webhook's documented shapes (tests/support/fake_channels.h). One incident through its five
// stages: each stage arrives once per channel, the PagerDuty resolve carries the trigger's
// dedup_key, the Slack stages share one thread, and MailDev holds one thread of five emails. The
// communication agent is killed (SIGKILL) while a webhook request is in flight: after the restart
// the stage is sent again, once, with the same delivery id, and counted as in doubt.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>

#include "shared/ids.h"
#include "shared/postgres.h"
#include "tests/support/fake_channels.h"
#include "tests/support/pipeline_harness.h"
#include "tests/support/test_stack.h"

namespace sre {
namespace {

using namespace std::chrono_literals;
using testing::Receiver;
using testing::Stack;

Json MailDev() {
  std::string url = Stack().maildev_url.substr(7);
  auto colon = url.find(':');
  httplib::Client c(url.substr(0, colon), std::stoi(url.substr(colon + 1)));
  auto r = c.Get("/email");
  return r && r->status == 200 ? Json::parse(r->body, nullptr, false) : Json();
}

std::string Header(const Json& mail, const std::string& name) {
  const Json& h = mail.value("headers", Json::object());
  for (auto it = h.begin(); it != h.end(); ++it) {
    std::string key = it.key();
    std::transform(key.begin(), key.end(), key.begin(), ::tolower);
    if (key == name) return it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
  }
  return "";
}

class NotifyE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    SRE_REQUIRE_STACK();
    start_wall_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    testing::PipelineOptions options;
    options.logs_dir = std::filesystem::current_path().string() + "/notify-e2e-logs";
    options.sim_speed = 30;
    std::filesystem::create_directories(options.logs_dir);
    // Every stage to every channel (the shipped file pages HIGH and CRITICAL only; this test is
    // about delivery, whatever the scenario's severity).
    const std::string routing = options.logs_dir + "/routing.json";
    std::ofstream(routing) << R"({"group_wait_s": 1, "rules": [
      {"name": "page", "match": {"stage": ["INCIDENT_ALERT", "INCIDENT_RESOLVED"]}, "channels": ["pagerduty"]},
      {"name": "all", "match": {}, "channels": ["email", "slack", "teams", "webhook"]}]})";
    options.process_env["communication"] = {
        {"NOTIFY_ROUTING", routing},
        {"SLACK_WEBHOOK_URL", fake_.slack_webhook_url()},
        {"SLACK_BOT_TOKEN", fake_.slack_token()},
        {"SLACK_CHANNEL", fake_.slack_channel()},
        {"SLACK_API_URL", fake_.slack_api_url()},
        {"TEAMS_WEBHOOK_URL", fake_.teams_url()},
        {"PAGERDUTY_ROUTING_KEY", fake_.pagerduty_routing_key()},
        {"PAGERDUTY_EVENTS_URL", fake_.pagerduty_url()},
        {"WEBHOOK_URL", fake_.webhook_url()},
        {"WEBHOOK_SECRET", fake_.webhook_secret()},
        {"NOTIFY_HTTP_TIMEOUT_MS", "2000"},
        {"NOTIFY_RETRY_INITIAL_MS", "200"}};
    harness_ = std::make_unique<testing::PipelineHarness>(options);
    std::string error;
    ASSERT_TRUE(harness_->Start(&error)) << error;
    ASSERT_TRUE(testing::Eventually([&] { return harness_->SimNow() > 0; }, 60s, 200ms)) << "simulator API did not come up";
  }
  void TearDown() override { harness_.reset(); }

  std::string IncidentOn(const std::string& service, int64_t since_ms, std::string* status = nullptr) {
    std::string id;
    Database db(Stack().database_url);
    EXPECT_TRUE(db.Transact([&](pqxx::work& tx) {
                    auto r = tx.exec_params(
                        "SELECT id::text, status FROM incidents WHERE service = $1 "
                        " AND detection_time >= to_timestamp($2::double precision / 1000.0) "
                        " AND created_at >= to_timestamp($3::double precision / 1000.0) ORDER BY detection_time LIMIT 1",
                        service, since_ms, start_wall_ms_);
                    if (!r.empty()) {
                      id = r[0][0].as<std::string>();
                      if (status) *status = r[0][1].as<std::string>();
                    }
                    return Status::Ok();
                  }).ok());
    return id;
  }

  // channel -> stage -> status, in_doubt_resends
  std::map<std::string, std::map<std::string, std::pair<std::string, int>>> Rows(const std::string& id) {
    std::map<std::string, std::map<std::string, std::pair<std::string, int>>> out;
    Database db(Stack().database_url);
    EXPECT_TRUE(db.Transact([&](pqxx::work& tx) {
                    for (auto r : tx.exec_params("SELECT channel, stage, status, in_doubt_resends FROM notifications "
                                                 "WHERE incident_id = $1::uuid",
                                                 id))
                      out[r[0].as<std::string>()][r[1].as<std::string>()] = {r[2].as<std::string>(), r[3].as<int>()};
                    return Status::Ok();
                  }).ok());
    return out;
  }

  std::vector<testing::ReceivedRequest> For(Receiver r, const std::string& id) {
    std::vector<testing::ReceivedRequest> out;
    for (const auto& q : fake_.Accepted(r))
      if (q.body.find(id) != std::string::npos || q.body.find(IncidentNumber(id)) != std::string::npos)
        out.push_back(q);
    return out;
  }

  testing::FakeChannels fake_;
  std::unique_ptr<testing::PipelineHarness> harness_;
  int64_t start_wall_ms_ = 0;
};

TEST_F(NotifyE2E, EveryStageOncePerChannelOneSlackThreadOneMailThreadAndACrashMidRequest) {
  int64_t settle = harness_->SimNow() + 120000;
  ASSERT_TRUE(testing::Eventually([&] { return harness_->SimNow() >= settle; }, 60s, 200ms));
  const int64_t before = harness_->SimNow();
  // The first webhook request hangs past the client's timeout: the agent is killed while it waits.
  fake_.PushFault(Receiver::kWebhook, {.status = 200, .delay = 4000ms, .after_accepting = true});
  int status = 0;
  Json injected = harness_->SimApi("POST", "/api/scenarios/LATENCY_SPIKE", &status);
  ASSERT_EQ(status, 201) << injected.dump();

  ASSERT_TRUE(testing::Eventually([&] { return !fake_.Requests(Receiver::kWebhook).empty(); }, 120s, 20ms))
      << "no webhook request; logs in notify-e2e-logs";
  // The other channels' alerts are recorded (their receivers answer at once), so only the webhook's
  // request is in flight at the crash; the client waits 2 s for its answer.
  ASSERT_TRUE(testing::Eventually(
      [&] {
        std::string st;
        std::string id = IncidentOn("payment-service", before, &st);
        if (id.empty()) return false;
        auto rows = Rows(id);
        for (const char* c : {"slack", "teams", "pagerduty"})
          if (rows[c]["INCIDENT_ALERT"].first != "SENT") return false;
        return true;
      },
      1500ms, 20ms));
  harness_->Restart("communication");  // SIGKILL mid-request, then a new process

  std::string id, incident_status;
  ASSERT_TRUE(testing::Eventually(
      [&] {
        id = IncidentOn("payment-service", before, &incident_status);
        if (id.empty() || incident_status != "CLOSED") return false;
        auto rows = Rows(id);
        if (rows["slack"].size() < 5 || rows["teams"].size() < 5 || rows["webhook"].size() < 5 ||
            rows["pagerduty"].size() < 2)
          return false;
        for (const auto& [channel, stages] : rows)
          for (const auto& [stage, s] : stages)
            if (s.first != "SENT") return false;
        return true;
      },
      240s, 500ms))
      << "not every stage was sent on every channel; logs in notify-e2e-logs";

  // Slack: one thread — the alert, four replies, the first message updated.
  std::vector<testing::FakeChannels::SlackMessage> slack;
  for (const auto& m : fake_.SlackMessages())
    if (Dump(m.body).find(IncidentNumber(id)) != std::string::npos) slack.push_back(m);
  ASSERT_EQ(slack.size(), 5u);
  EXPECT_TRUE(slack[0].thread_ts.empty()) << "the alert starts the thread";
  for (size_t i = 1; i < slack.size(); ++i) EXPECT_EQ(slack[i].thread_ts, slack[0].ts) << i;
  EXPECT_GE(slack[0].updates, 1);

  // Teams: five cards, one per stage.
  EXPECT_EQ(For(Receiver::kTeams, id).size(), 5u);
  // PagerDuty: a trigger and a resolve with its dedup_key.
  auto pd = For(Receiver::kPagerDuty, id);
  ASSERT_EQ(pd.size(), 2u);
  EXPECT_EQ(pd[0].json["event_action"], "trigger");
  EXPECT_EQ(pd[1].json["event_action"], "resolve");
  EXPECT_EQ(pd[1].json["dedup_key"], pd[0].json["dedup_key"]);
  // The webhook: five stages; the one in flight at the crash arrived twice with one delivery id.
  auto hooks = For(Receiver::kWebhook, id);
  std::map<std::string, int> by_delivery;
  for (const auto& h : hooks) ++by_delivery[h.headers.at("x-sre-delivery")];
  EXPECT_EQ(by_delivery.size(), 5u);
  int in_doubt = 0;
  auto rows = Rows(id);
  for (const auto& [stage, s] : rows["webhook"]) in_doubt += s.second;
  EXPECT_EQ(in_doubt, 1) << "the request in flight at the crash was not resent as in doubt";
  EXPECT_EQ(hooks.size(), 6u);

  // MailDev: five emails, one thread (the later four answer the alert).
  std::vector<Json> mails;
  ASSERT_TRUE(testing::Eventually(
      [&] {
        mails.clear();
        Json all = MailDev();
        if (all.is_array())
          for (const auto& m : all)
            if (m.value("subject", std::string()).find(IncidentNumber(id)) != std::string::npos) mails.push_back(m);
        return mails.size() >= 5;
      },
      30s, 250ms));
  EXPECT_EQ(mails.size(), 5u);
  std::string alert_id;
  for (const auto& m : mails)
    if (Header(m, "in-reply-to").empty()) alert_id = Header(m, "message-id");
  ASSERT_FALSE(alert_id.empty());
  int answers = 0;
  for (const auto& m : mails) answers += Header(m, "in-reply-to") == alert_id && Header(m, "references") == alert_id;
  EXPECT_EQ(answers, 4) << "the emails are not one thread";
}

}  // namespace
}  // namespace sre
