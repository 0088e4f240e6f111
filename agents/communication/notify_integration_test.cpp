// The chat, paging and webhook channels against real PostgreSQL (the outbox) and local receivers
// that validate Slack's, Teams', PagerDuty's and the webhook's documented shapes
// (tests/support/fake_channels.h): each stage arrives once per channel and a redelivery adds
// nothing; the Slack stages share one thread and the first message is updated; the PagerDuty
// resolve carries the trigger's dedup_key; 5xx, 429 with Retry-After and timeouts are retried,
// other 4xx failed with the reason; a row whose sender died mid-request is sent again, once,
// with the same idempotency key; a burst becomes one grouped notification (and one page, resolved
// with the last incident); an outage of one channel does not hold another back.
#include <gtest/gtest.h>

#include <thread>

#include "agents/communication/dispatcher.h"
#include "shared/ids.h"
#include "shared/metrics.h"
#include "tests/support/fake_channels.h"
#include "tests/support/test_stack.h"

namespace sre::communication {
namespace {

using namespace std::chrono_literals;
using testing::Receiver;

const NotificationType kStages[] = {NotificationType::INCIDENT_ALERT, NotificationType::RCA_COMPLETE,
                                    NotificationType::REMEDIATION_PLAN, NotificationType::INCIDENT_RESOLVED,
                                    NotificationType::POSTMORTEM};
const std::set<Channel> kAll = {Channel::kSlack, Channel::kTeams, Channel::kPagerDuty, Channel::kWebhook};

struct Row {
  std::string stage, status, last_error, external_ref;
  int attempts = 0, in_doubt = 0;
  std::optional<int64_t> group_id;
  double next_in_s = 0;
};

class NotifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SRE_REQUIRE_STACK();
    db_ = std::make_unique<Database>(testing::Stack().database_url);
    ASSERT_TRUE(db_->Migrate().ok());
    // The workers deliver every due row of their channel: an earlier test's leftovers must not
    // take this test's faults or join its bursts.
    ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                     tx.exec("UPDATE notifications SET status = 'FAILED', last_error = 'left by an earlier test' "
                             "WHERE status IN ('PENDING', 'SENDING')");
                     return Status::Ok();
                   }).ok());
  }

  std::string NewIncident(const std::string& service = "payment-service", const std::string& severity = "HIGH") {
    std::string id = NewUuid();
    Status s = db_->Transact([&](pqxx::work& tx) {
                     tx.exec_params(
                         "INSERT INTO incidents (id, status, anomaly_type, severity, service, trigger_metric, "
                         "detection_time) VALUES ($1::uuid, 'INVESTIGATING', 'LATENCY_SPIKE', $3, $2, 'latency_p99_ms', "
                         "to_timestamp(1790000000))",
                         id, service, severity);
                     return Status::Ok();
                   });
    EXPECT_TRUE(s.ok()) << s.message();
    return id;
  }

  void SetStatus(const std::string& id, const std::string& status) {
    ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                     tx.exec_params("UPDATE incidents SET status = $2 WHERE id = $1::uuid", id, status);
                     return Status::Ok();
                   }).ok());
  }

  static Notice MakeNotice(const std::string& id, NotificationType stage, Severity severity = Severity::HIGH,
                           const std::string& service = "payment-service") {
    Notice n;
    n.stage = stage;
    n.incident_id = id;
    n.incident_number = IncidentNumber(id);
    n.service = service;
    n.team = "payments";
    n.owner = "payments-team@example.com";
    n.severity = severity;
    n.anomaly_type = "LATENCY_SPIKE";
    n.title = "[" + std::string(ToString(severity)) + "] " + n.incident_number + " " + std::string(ToString(stage));
    n.summary = "p99 latency 9x its baseline <!channel> & more";
    n.facts = {{"Trigger metric", "latency_p99_ms"}, {"Observed", "1800 ms"}};
    n.link = "http://dash.example/#/incidents/" + id;
    n.ts = 1'790'000'000'000 + 1000 * static_cast<int64_t>(stage);
    n.status = "INVESTIGATING";
    return n;
  }

  void Enqueue(const Notice& n, const std::set<Channel>& channels = kAll) {
    Status s = db_->Transact([&](pqxx::work& tx) {
      communication::Enqueue(tx, n, channels);
      return Status::Ok();
    });
    ASSERT_TRUE(s.ok()) << s.message();
  }

  void EnqueueAllStages(const std::string& id, const std::set<Channel>& channels = kAll) {
    for (auto s : kStages) Enqueue(MakeNotice(id, s), channels);
  }

  std::vector<Row> Rows(const std::string& id, Channel c) {
    std::vector<Row> out;
    EXPECT_TRUE(db_->Transact([&](pqxx::work& tx) {
                     for (auto r : tx.exec_params(
                              "SELECT stage, status, COALESCE(last_error, ''), COALESCE(external_ref, ''), attempts, "
                              " in_doubt_resends, group_id, extract(epoch from next_attempt_at - now())::float8 "
                              "FROM notifications WHERE incident_id = $1::uuid AND channel = $2 ORDER BY stage_rank",
                              id, ChannelName(c))) {
                       Row row;
                       row.stage = r[0].as<std::string>();
                       row.status = r[1].as<std::string>();
                       row.last_error = r[2].as<std::string>();
                       row.external_ref = r[3].as<std::string>();
                       row.attempts = r[4].as<int>();
                       row.in_doubt = r[5].as<int>();
                       if (!r[6].is_null()) row.group_id = r[6].as<int64_t>();
                       row.next_in_s = r[7].as<double>();
                       out.push_back(row);
                     }
                     return Status::Ok();
                   }).ok());
    return out;
  }
  // The stage's row, or one with status "MISSING" (so a missing row fails the test, not the binary).
  Row Stage(const std::string& id, Channel c, NotificationType stage = NotificationType::INCIDENT_ALERT) {
    for (auto& r : Rows(id, c))
      if (r.stage == ToString(stage)) return r;
    Row missing;
    missing.status = "MISSING";
    return missing;
  }

  ChannelEndpoint Endpoint(Channel c, bool slack_api = true) {
    ChannelEndpoint e;
    e.channel = c;
    switch (c) {
      case Channel::kSlack:
        e.url = fake_.slack_webhook_url();
        if (slack_api) {
          e.slack_token = fake_.slack_token();
          e.slack_channel = fake_.slack_channel();
          e.slack_api_url = fake_.slack_api_url();
        }
        break;
      case Channel::kTeams: e.url = fake_.teams_url(); break;
      case Channel::kPagerDuty:
        e.url = fake_.pagerduty_url();
        e.pagerduty_routing_key = fake_.pagerduty_routing_key();
        break;
      case Channel::kWebhook:
        e.url = fake_.webhook_url();
        e.webhook_secret = fake_.webhook_secret();
        break;
      case Channel::kEmail: break;
    }
    return e;
  }

  static DispatchOptions Options() {
    DispatchOptions o;
    o.poll = 50ms;
    o.http_timeout = 2000ms;
    o.backoff = {100ms, 1000ms};
    o.group_wait_ms = 0;
    o.per_second = 0;
    return o;
  }

  std::unique_ptr<ChannelWorker> Worker(Channel c, DispatchOptions o = Options(), bool slack_api = true) {
    return std::make_unique<ChannelWorker>(testing::Stack().database_url, Endpoint(c, slack_api), o, transport_);
  }

  // Runs passes until every row of `id` on the worker's channel is settled, or `within`.
  bool Drain(ChannelWorker& w, const std::string& id, std::chrono::milliseconds within = 15s) {
    return testing::Eventually(
        [&] {
          auto done = w.RunOnce();
          EXPECT_TRUE(done.ok()) << done.status().message();
          for (const auto& r : Rows(id, w.channel()))
            if (r.status == "PENDING" || r.status == "SENDING") return false;
          return true;
        },
        within, 50ms);
  }

  std::unique_ptr<Database> db_;
  testing::FakeChannels fake_;
  std::shared_ptr<llm::Transport> transport_ = llm::MakeCurlTransport();
};

std::vector<testing::ReceivedRequest> For(const std::vector<testing::ReceivedRequest>& all, const std::string& id) {
  std::vector<testing::ReceivedRequest> out;
  for (const auto& r : all)
    if (r.body.find(id) != std::string::npos || r.body.find(IncidentNumber(id)) != std::string::npos)
      out.push_back(r);
  return out;
}

TEST_F(NotifyTest, EveryStageOncePerChannelInOrderAndARedeliveryAddsNothing) {
  const std::string id = NewIncident();
  EnqueueAllStages(id);
  for (Channel c : kAll) {
    auto w = Worker(c);
    ASSERT_TRUE(Drain(*w, id)) << ChannelName(c);
    for (const auto& r : Rows(id, c)) EXPECT_EQ(r.status, "SENT") << ChannelName(c) << " " << r.stage << r.last_error;
  }
  // PagerDuty: the trigger and the resolve only, one dedup_key.
  ASSERT_EQ(Rows(id, Channel::kPagerDuty).size(), 2u);
  auto pd = fake_.Accepted(Receiver::kPagerDuty);
  ASSERT_EQ(pd.size(), 2u);
  EXPECT_EQ(pd[0].json["event_action"], "trigger");
  EXPECT_EQ(pd[1].json["event_action"], "resolve");
  EXPECT_EQ(pd[0].json["dedup_key"], pd[1].json["dedup_key"]);
  EXPECT_EQ(pd[0].json["dedup_key"], PagerDutyDedupKey(id));
  // Slack with a bot token: the first message, four replies in its thread, and the first message
  // updated with where the incident is.
  auto slack = fake_.SlackMessages();
  ASSERT_EQ(slack.size(), 5u);
  EXPECT_TRUE(slack[0].thread_ts.empty());
  for (size_t i = 1; i < slack.size(); ++i) EXPECT_EQ(slack[i].thread_ts, slack[0].ts) << i;
  EXPECT_EQ(slack[0].updates, 4);
  EXPECT_NE(Dump(slack[0].body).find("Postmortem"), std::string::npos) << Dump(slack[0].body);
  EXPECT_EQ(Stage(id, Channel::kSlack).external_ref, fake_.slack_channel() + "/" + slack[0].ts);
  // Teams and the webhook: five each, in stage order; the webhook's delivery ids are unique.
  EXPECT_EQ(fake_.Accepted(Receiver::kTeams).size(), 5u);
  auto hooks = fake_.Accepted(Receiver::kWebhook);
  ASSERT_EQ(hooks.size(), 5u);
  std::set<std::string> deliveries;
  for (size_t i = 0; i < hooks.size(); ++i) {
    EXPECT_EQ(hooks[i].json["stage"], ToString(kStages[i]));
    deliveries.insert(hooks[i].headers["x-sre-delivery"]);
  }
  EXPECT_EQ(deliveries.size(), 5u);
  // Every request was in the receiver's documented shape.
  for (Receiver r : {Receiver::kSlackApi, Receiver::kTeams, Receiver::kPagerDuty, Receiver::kWebhook})
    for (const auto& req : fake_.Requests(r)) EXPECT_TRUE(req.problem.empty()) << req.path << ": " << req.problem;

  // Redelivery of every stage: no new rows, nothing sent.
  EnqueueAllStages(id);
  for (Channel c : kAll) {
    auto w = Worker(c);
    ASSERT_TRUE(w->RunOnce().ok());
  }
  EXPECT_EQ(fake_.Accepted(Receiver::kPagerDuty).size(), 2u);
  EXPECT_EQ(fake_.Accepted(Receiver::kTeams).size(), 5u);
  EXPECT_EQ(fake_.Accepted(Receiver::kWebhook).size(), 5u);
  EXPECT_EQ(fake_.SlackMessages().size(), 5u);
}

TEST_F(NotifyTest, SlackIncomingWebhookSendsEachStageAsItsOwnMessage) {
  const std::string id = NewIncident();
  EnqueueAllStages(id, {Channel::kSlack});
  auto w = Worker(Channel::kSlack, Options(), /*slack_api=*/false);
  ASSERT_TRUE(Drain(*w, id));
  auto got = fake_.Accepted(Receiver::kSlackWebhook);
  ASSERT_EQ(got.size(), 5u);
  for (const auto& r : got) {
    EXPECT_TRUE(r.json.contains("blocks"));
    EXPECT_EQ(r.body.find("<!channel>"), std::string::npos) << "untrusted text reached Slack unescaped";
  }
}

TEST_F(NotifyTest, TransientFailuresAreRetriedOthersFailWithTheReason) {
  const std::string id = NewIncident();
  fake_.PushFault(Receiver::kTeams, {.status = 500});
  fake_.PushFault(Receiver::kTeams, {.status = 502});
  Enqueue(MakeNotice(id, NotificationType::INCIDENT_ALERT), {Channel::kTeams});
  auto teams = Worker(Channel::kTeams);
  ASSERT_TRUE(Drain(*teams, id));
  auto rows = std::vector<Row>{Stage(id, Channel::kTeams)};
  EXPECT_EQ(rows[0].status, "SENT");
  EXPECT_EQ(rows[0].attempts, 3);
  EXPECT_EQ(fake_.Accepted(Receiver::kTeams).size(), 1u);

  // 429 with Retry-After: the next attempt waits at least that long.
  const std::string id2 = NewIncident();
  fake_.PushFault(Receiver::kWebhook, {.status = 429, .retry_after_s = 2});
  Enqueue(MakeNotice(id2, NotificationType::INCIDENT_ALERT), {Channel::kWebhook});
  auto hook = Worker(Channel::kWebhook);
  ASSERT_TRUE(hook->RunOnce().ok());
  rows = {Stage(id2, Channel::kWebhook)};
  EXPECT_EQ(Metrics().GetGauge("sre_notifications_pending", "", {{"channel", "webhook"}}).Value(), 1)
      << "the row waiting for Retry-After is the backlog";
  EXPECT_EQ(rows[0].status, "PENDING");
  EXPECT_GT(rows[0].next_in_s, 1.5) << "Retry-After 2 s not honoured";
  EXPECT_NE(rows[0].last_error.find("429"), std::string::npos) << rows[0].last_error;
  ASSERT_TRUE(hook->RunOnce().ok());
  EXPECT_EQ(fake_.Accepted(Receiver::kWebhook).size(), 0u) << "retried before Retry-After";
  ASSERT_TRUE(Drain(*hook, id2));
  EXPECT_EQ(Stage(id2, Channel::kWebhook).status, "SENT");

  // A timeout is retried (the receiver may have it: the webhook's delivery id lets it tell).
  const std::string id3 = NewIncident();
  fake_.PushFault(Receiver::kPagerDuty, {.status = 202, .delay = 3000ms});
  Enqueue(MakeNotice(id3, NotificationType::INCIDENT_ALERT), {Channel::kPagerDuty});
  auto pd = Worker(Channel::kPagerDuty);
  ASSERT_TRUE(Drain(*pd, id3));
  rows = {Stage(id3, Channel::kPagerDuty)};
  EXPECT_EQ(rows[0].status, "SENT");
  EXPECT_EQ(rows[0].attempts, 2);

  // 400: failed for good with the receiver's reason, not retried.
  const std::string id4 = NewIncident();
  fake_.PushFault(Receiver::kTeams, {.status = 400});
  Enqueue(MakeNotice(id4, NotificationType::INCIDENT_ALERT), {Channel::kTeams});
  ASSERT_TRUE(Drain(*teams, id4));
  rows = {Stage(id4, Channel::kTeams)};
  EXPECT_EQ(rows[0].status, "FAILED");
  EXPECT_EQ(rows[0].attempts, 1);
  EXPECT_NE(rows[0].last_error.find("HTTP 400"), std::string::npos) << rows[0].last_error;

  // Slack's Web API says no with 200 {"ok": false}: a bad channel fails, a rate limit retries.
  const std::string id5 = NewIncident();
  Enqueue(MakeNotice(id5, NotificationType::INCIDENT_ALERT), {Channel::kSlack});
  ChannelEndpoint wrong = Endpoint(Channel::kSlack);
  wrong.slack_channel = "C0NOSUCH";
  ChannelWorker bad(testing::Stack().database_url, wrong, Options(), transport_);
  ASSERT_TRUE(Drain(bad, id5));
  rows = {Stage(id5, Channel::kSlack)};
  EXPECT_EQ(rows[0].status, "FAILED");
  EXPECT_EQ(rows[0].last_error, "slack: channel_not_found");
}

TEST_F(NotifyTest, GivesUpAfterTheConfiguredTime) {
  const std::string id = NewIncident();
  for (int i = 0; i < 20; ++i) fake_.PushFault(Receiver::kTeams, {.status = 503});
  Enqueue(MakeNotice(id, NotificationType::INCIDENT_ALERT), {Channel::kTeams});
  DispatchOptions o = Options();
  o.give_up = 1s;
  auto w = Worker(Channel::kTeams, o);
  ASSERT_TRUE(Drain(*w, id));
  auto rows = std::vector<Row>{Stage(id, Channel::kTeams)};
  EXPECT_EQ(rows[0].status, "FAILED");
  EXPECT_NE(rows[0].last_error.find("gave up after"), std::string::npos) << rows[0].last_error;
  EXPECT_GE(rows[0].attempts, 2);
  // Nothing left waiting on the channel: the backlog gauge says so.
  EXPECT_EQ(Metrics().GetGauge("sre_notifications_pending", "", {{"channel", "teams"}}).Value(), 0);
}

TEST_F(NotifyTest, ARowWhoseSenderDiedMidRequestIsSentAgainOnceWithTheSameKey) {
  const std::string id = NewIncident();
  Enqueue(MakeNotice(id, NotificationType::INCIDENT_ALERT), {Channel::kPagerDuty, Channel::kWebhook});
  // A sender that died after the request left: the receivers took it, the row says SENDING.
  fake_.PushFault(Receiver::kPagerDuty, {.status = 202, .delay = 1500ms, .after_accepting = true});
  fake_.PushFault(Receiver::kWebhook, {.status = 200, .delay = 1500ms, .after_accepting = true});
  DispatchOptions quick = Options();
  quick.http_timeout = 300ms;  // the answer never arrives in time: as if the process died waiting
  for (Channel c : {Channel::kPagerDuty, Channel::kWebhook}) {
    auto w = Worker(c, quick);
    ASSERT_TRUE(w->RunOnce().ok());
  }
  // Simulate the crash: the claim stands (SENDING) with its lease run out.
  ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                   tx.exec_params("UPDATE notifications SET status = 'SENDING', lease_until = now() - interval '1 s', "
                                  " next_attempt_at = now() WHERE incident_id = $1::uuid",
                                  id);
                   return Status::Ok();
                 }).ok());
  for (Channel c : {Channel::kPagerDuty, Channel::kWebhook}) {
    auto w = Worker(c);
    ASSERT_TRUE(Drain(*w, id));
    auto rows = std::vector<Row>{Stage(id, c)};
    EXPECT_EQ(rows[0].status, "SENT") << ChannelName(c);
    EXPECT_EQ(rows[0].in_doubt, 1) << ChannelName(c);
  }
  auto pd = For(fake_.Accepted(Receiver::kPagerDuty), id);
  ASSERT_EQ(pd.size(), 2u);
  EXPECT_EQ(pd[0].json["dedup_key"], pd[1].json["dedup_key"]) << "PagerDuty cannot drop the copy";
  auto hooks = For(fake_.Accepted(Receiver::kWebhook), id);
  ASSERT_EQ(hooks.size(), 2u);
  EXPECT_EQ(hooks[0].headers.at("x-sre-delivery"), hooks[1].headers.at("x-sre-delivery"))
      << "the receiver cannot drop the copy";
  // Settled rows are never claimed again.
  auto w = Worker(Channel::kPagerDuty);
  ASSERT_TRUE(w->RunOnce().ok());
  EXPECT_EQ(For(fake_.Accepted(Receiver::kPagerDuty), id).size(), 2u);
}

TEST_F(NotifyTest, ABurstIsOneGroupedNotificationAndOnePageResolvedWithTheLast) {
  std::vector<std::string> ids = {NewIncident("payment-service", "CRITICAL"), NewIncident("order-service"),
                                  NewIncident("inventory-service")};
  Enqueue(MakeNotice(ids[0], NotificationType::INCIDENT_ALERT, Severity::CRITICAL));
  Enqueue(MakeNotice(ids[1], NotificationType::INCIDENT_ALERT));
  Enqueue(MakeNotice(ids[2], NotificationType::INCIDENT_ALERT));
  DispatchOptions o = Options();
  o.group_wait_ms = 400;
  std::vector<std::unique_ptr<ChannelWorker>> workers;
  for (Channel c : kAll) workers.push_back(Worker(c, o));
  // Within the wait nothing goes out.
  for (auto& w : workers) ASSERT_TRUE(w->RunOnce().ok());
  EXPECT_TRUE(fake_.Accepted(Receiver::kPagerDuty).empty());
  std::this_thread::sleep_for(500ms);
  for (auto& w : workers)
    for (const auto& id : ids) ASSERT_TRUE(Drain(*w, id)) << ChannelName(w->channel());
  // One message per channel, listing all three.
  auto pd = fake_.Accepted(Receiver::kPagerDuty);
  ASSERT_EQ(pd.size(), 1u);
  EXPECT_EQ(pd[0].json["payload"]["severity"], "critical");
  auto hooks = fake_.Accepted(Receiver::kWebhook);
  ASSERT_EQ(hooks.size(), 1u);
  EXPECT_EQ(hooks[0].json["incidents"].size(), 3u);
  ASSERT_EQ(fake_.Accepted(Receiver::kTeams).size(), 1u);
  ASSERT_EQ(fake_.SlackMessages().size(), 1u);
  for (const auto& id : ids) {
    const std::string number = IncidentNumber(id);
    EXPECT_NE(Dump(fake_.SlackMessages()[0].body).find(number), std::string::npos) << number;
    EXPECT_NE(fake_.Accepted(Receiver::kTeams)[0].body.find(number), std::string::npos) << number;
    EXPECT_EQ(Stage(id, Channel::kPagerDuty).external_ref, pd[0].json["dedup_key"]);
  }

  // Later stages stay per incident, in the group's Slack thread.
  Enqueue(MakeNotice(ids[1], NotificationType::RCA_COMPLETE));
  ASSERT_TRUE(Drain(*workers[0], ids[1]));
  auto slack = fake_.SlackMessages();
  ASSERT_EQ(slack.size(), 2u);
  EXPECT_EQ(slack[1].thread_ts, slack[0].ts);
  EXPECT_EQ(slack[0].updates, 0) << "a burst's grouped message is not rewritten for one incident";

  // The page covers the burst: resolved when the last of them is, with the group's dedup_key.
  auto pager = Worker(Channel::kPagerDuty, o);
  for (size_t i = 0; i < ids.size(); ++i) {
    SetStatus(ids[i], "RESOLVED");
    Enqueue(MakeNotice(ids[i], NotificationType::INCIDENT_RESOLVED), {Channel::kPagerDuty});
    ASSERT_TRUE(Drain(*pager, ids[i]));
    auto rows = Rows(ids[i], Channel::kPagerDuty);
    ASSERT_EQ(rows.size(), 2u) << i;
    EXPECT_EQ(rows[1].status, i + 1 < ids.size() ? "SUPPRESSED" : "SENT") << i << " " << rows[1].last_error;
  }
  pd = fake_.Accepted(Receiver::kPagerDuty);
  ASSERT_EQ(pd.size(), 2u);
  EXPECT_EQ(pd[1].json["event_action"], "resolve");
  EXPECT_EQ(pd[1].json["dedup_key"], pd[0].json["dedup_key"]);
}

TEST_F(NotifyTest, NoResolveForAnIncidentThatNeverPaged) {
  const std::string id = NewIncident("user-service", "LOW");
  Enqueue(MakeNotice(id, NotificationType::INCIDENT_RESOLVED, Severity::LOW), {Channel::kPagerDuty});
  EXPECT_TRUE(Rows(id, Channel::kPagerDuty).empty());
  Enqueue(MakeNotice(id, NotificationType::RCA_COMPLETE, Severity::LOW), {Channel::kPagerDuty});
  EXPECT_TRUE(Rows(id, Channel::kPagerDuty).empty()) << "PagerDuty takes the alert and the resolution only";
}

TEST_F(NotifyTest, AnOutageOfOneChannelDoesNotHoldAnotherBack) {
  const std::string id = NewIncident();
  // Teams hangs on every request; Slack works.
  for (int i = 0; i < 5; ++i) fake_.PushFault(Receiver::kTeams, {.status = 202, .delay = 5000ms});
  EnqueueAllStages(id, {Channel::kTeams, Channel::kSlack});
  std::atomic<bool> stop{false};
  DispatchOptions o = Options();
  o.http_timeout = 4000ms;
  auto teams = Worker(Channel::kTeams, o);
  auto slack = Worker(Channel::kSlack, o);
  std::thread t1([&] { teams->Run(stop); });
  std::thread t2([&] { slack->Run(stop); });
  bool slack_done = testing::Eventually([&] { return fake_.SlackMessages().size() == 5u; }, 3s, 50ms);
  const std::string teams_alert = Stage(id, Channel::kTeams).status;
  stop = true;
  t1.join();
  t2.join();
  EXPECT_TRUE(slack_done) << "Slack waited for Teams";
  EXPECT_NE(teams_alert, "SENT") << "Teams was not down";
  for (const auto& r : Rows(id, Channel::kSlack)) EXPECT_EQ(r.status, "SENT") << r.stage;
}

TEST_F(NotifyTest, TheRateLimitSpacesMessages) {
  const std::string id = NewIncident();
  EnqueueAllStages(id, {Channel::kWebhook});
  DispatchOptions o = Options();
  o.per_second = 4;
  auto w = Worker(Channel::kWebhook, o);
  ASSERT_TRUE(Drain(*w, id));
  auto got = For(fake_.Accepted(Receiver::kWebhook), id);
  ASSERT_EQ(got.size(), 5u);
  // Never faster than 4 per second (slower is fine: this machine is shared).
  for (size_t i = 1; i < got.size(); ++i) EXPECT_GE(got[i].at - got[i - 1].at, 200ms) << i;
}

}  // namespace
}  // namespace sre::communication
