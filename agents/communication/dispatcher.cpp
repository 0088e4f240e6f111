#include "agents/communication/dispatcher.h"

#include <random>
#include <thread>

#include "shared/log.h"
#include "shared/metrics.h"

namespace sre::communication {
namespace {

constexpr const char* kAgent = "communication";

int StageRank(NotificationType t) {
  switch (t) {
    case NotificationType::INCIDENT_ALERT: return 0;
    case NotificationType::RCA_COMPLETE: return 1;
    case NotificationType::REMEDIATION_PLAN: return 2;
    case NotificationType::INCIDENT_RESOLVED: return 3;
    case NotificationType::POSTMORTEM: return 4;
  }
  return 0;
}

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Slack Web API references are "<channel id>/<ts>": chat.update needs both.
std::pair<std::string, std::string> SplitSlackRef(const std::string& ref) {
  auto slash = ref.find('/');
  if (slash == std::string::npos) return {"", ref};
  return {ref.substr(0, slash), ref.substr(slash + 1)};
}

}  // namespace

void Enqueue(pqxx::work& tx, const Notice& notice, const std::set<Channel>& channels) {
  const std::string stage(ToString(notice.stage));
  const std::string body = Dump(NoticeToJson(notice));
  for (Channel c : kHttpChannels) {
    if (!channels.count(c)) continue;
    if (c == Channel::kPagerDuty && notice.stage != NotificationType::INCIDENT_ALERT &&
        notice.stage != NotificationType::INCIDENT_RESOLVED)
      continue;  // PagerDuty pages and resolves; the story goes to the other channels
    // A resolve only for an incident that paged.
    const std::string only_if_paged =
        c == Channel::kPagerDuty && notice.stage == NotificationType::INCIDENT_RESOLVED
            ? " WHERE EXISTS (SELECT 1 FROM notifications WHERE incident_id = $1::uuid AND channel = 'pagerduty' "
              " AND stage = 'INCIDENT_ALERT')"
            : "";
    tx.exec_params(
        "INSERT INTO notifications (incident_id, channel, stage, stage_rank, notice, event_time) "
        "SELECT $1::uuid, $2, $3, $4, $5::jsonb, to_timestamp($6::double precision / 1000.0)" +
            only_if_paged + " ON CONFLICT (incident_id, channel, stage) DO NOTHING",
        notice.incident_id, ChannelName(c), stage, StageRank(notice.stage), body, notice.ts);
  }
}

struct ChannelWorker::Row {
  int64_t id = 0;
  std::string incident_id;
  NotificationType stage = NotificationType::INCIDENT_ALERT;
  int attempts = 0;
  bool in_doubt = false;
  double age_s = 0;
  Notice notice;
};

struct ChannelWorker::Message {
  std::vector<Row> rows;  // one, or a burst of incident alerts
  std::string url, body;
  llm::wire::Headers headers;
  std::string reference;        // the idempotency key or reference recorded when no answer gives one
  std::string suppressed;       // non-empty: nothing to send, recorded as SUPPRESSED with this reason
  std::string failed;           // non-empty: cannot be composed, recorded as FAILED with this reason
};

ChannelWorker::ChannelWorker(std::string database_url, ChannelEndpoint endpoint, DispatchOptions options,
                             std::shared_ptr<llm::Transport> transport)
    : db_(std::move(database_url)),
      endpoint_(std::move(endpoint)),
      options_(options),
      transport_(std::move(transport)),
      limiter_(options.per_second) {}

void ChannelWorker::Run(const std::atomic<bool>& stop) {
  auto logger = log::Get(kAgent);
  int failures = 0;
  while (!stop.load()) {
    auto done = RunOnce();
    if (!done.ok()) {
      // PostgreSQL down: the rows wait in the outbox (nothing is lost), the worker backs off.
      if (failures++ % 20 == 0)
        logger->warn("{} notifications: {} (retrying)", ChannelName(endpoint_.channel), done.status().message());
    } else {
      failures = 0;
      if (*done > 0) continue;
    }
    for (auto waited = std::chrono::milliseconds(0); waited < options_.poll && !stop.load();
         waited += std::chrono::milliseconds(50))
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Expected<int> ChannelWorker::RunOnce() {
  int finished = 0;
  for (int i = 0; i < 50; ++i) {
    auto rows = Claim();
    if (!rows.ok()) return rows.status();
    if (rows->empty()) break;
    for (Message& m : Compose(*rows)) {
      DeliveryOutcome o;
      if (!m.suppressed.empty()) {
        o.verdict = Verdict::kDelivered;
        o.reason = m.suppressed;
      } else if (!m.failed.empty()) {
        o.verdict = Verdict::kFailed;
        o.reason = m.failed;
      } else {
        o = Send(m);
      }
      if (Status s = Record(m, o); !s.ok()) return s;  // the lease runs out; the row is retried in doubt
      if (o.verdict != Verdict::kRetry) finished += static_cast<int>(m.rows.size());
      if (o.verdict == Verdict::kDelivered && m.suppressed.empty() && endpoint_.slack_api() &&
          m.rows.size() == 1 && m.rows[0].stage != NotificationType::INCIDENT_ALERT)
        UpdateSlackFirst(m.rows[0]);
    }
  }
  // The backlog an operator alerts on: notifications written but not delivered yet.
  Status s = db_.Transact([&](pqxx::work& tx) {
    const double waiting =
        tx.exec_params1("SELECT count(*) FROM notifications WHERE channel = $1 AND status IN ('PENDING', 'SENDING')",
                        ChannelName(endpoint_.channel))[0]
            .as<double>();
    Metrics()
        .GetGauge("sre_notifications_pending", "Chat, paging and webhook notifications not delivered yet",
                  {{"channel", ChannelName(endpoint_.channel)}})
        .Set(waiting);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return finished;
}

Expected<std::vector<ChannelWorker::Row>> ChannelWorker::Claim() {
  std::vector<Row> rows;
  // Long enough for the request and the rate limit's wait; a row SENDING after it was being sent
  // by a process that died.
  const double lease_s = 2.0 * static_cast<double>(options_.http_timeout.count()) / 1000.0 + 10.0 +
                         (options_.per_second > 0 ? 1.0 / options_.per_second : 0.0);
  Status s = db_.Transact([&](pqxx::work& tx) {
    rows.clear();
    const std::string channel = ChannelName(endpoint_.channel);
    auto claim = [&](const std::string& due_where, int limit) {
      return tx.exec_params(
          "WITH due AS (SELECT n.id, n.status = 'SENDING' AS in_doubt FROM notifications n WHERE n.channel = $1 "
          " AND n.next_attempt_at <= now() AND (n.status = 'PENDING' OR (n.status = 'SENDING' AND n.lease_until < now())) "
          " AND " + due_where +
              " ORDER BY n.created_at, n.id LIMIT " + std::to_string(limit) +
              " FOR UPDATE SKIP LOCKED) "
              "UPDATE notifications t SET status = 'SENDING', attempts = t.attempts + 1, "
              " in_doubt_resends = t.in_doubt_resends + due.in_doubt::int, "
              " lease_until = now() + make_interval(secs => $3::double precision) "
              "FROM due WHERE t.id = due.id "
              "RETURNING t.id, t.incident_id::text, t.stage, t.attempts, due.in_doubt, t.notice::text, "
              " extract(epoch from now() - t.created_at)::double precision",
          channel, static_cast<double>(options_.group_wait_ms) / 1000.0, lease_s);
    };
    // 1. Incident alerts: once the oldest first-time alert has waited group_wait, every alert
    // due goes out together (a retry does not wait again).
    auto result = claim(
        "n.stage = 'INCIDENT_ALERT' AND ($2::double precision = 0 OR n.attempts > 0 OR EXISTS ("
        " SELECT 1 FROM notifications o WHERE o.channel = n.channel AND o.stage = 'INCIDENT_ALERT' "
        " AND o.status = 'PENDING' AND o.attempts = 0 AND o.created_at <= now() - make_interval(secs => $2::double precision)))",
        options_.group_wait_ms > 0 ? 100 : 1);
    // 2. Otherwise the oldest later stage whose earlier stages on this channel are done.
    if (result.empty())
      result = claim(
          "n.stage <> 'INCIDENT_ALERT' AND $2::double precision >= 0 AND NOT EXISTS (SELECT 1 FROM notifications p "
          " WHERE p.incident_id = n.incident_id AND p.channel = n.channel AND p.stage_rank < n.stage_rank "
          " AND p.status IN ('PENDING', 'SENDING'))",
          1);
    for (const auto& r : result) {
      Row row;
      row.id = r[0].as<int64_t>();
      row.incident_id = r[1].as<std::string>();
      row.stage = ParseEnum<NotificationType>(r[2].as<std::string>()).value_or(NotificationType::INCIDENT_ALERT);
      row.attempts = r[3].as<int>();
      row.in_doubt = r[4].as<bool>();
      auto notice = NoticeFromJson(Json::parse(r[5].as<std::string>(), nullptr, false));
      row.notice = notice.ok() ? *notice : Notice{};
      row.age_s = r[6].as<double>();
      rows.push_back(std::move(row));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return rows;
}

std::optional<std::string> ChannelWorker::ThreadOf(const Row& r) {
  std::optional<std::string> ts;
  (void)db_.Transact([&](pqxx::work& tx) {
    auto rows = tx.exec_params(
        "SELECT external_ref FROM notifications WHERE incident_id = $1::uuid AND channel = 'slack' "
        " AND stage = 'INCIDENT_ALERT' AND status = 'SENT' AND external_ref IS NOT NULL",
        r.incident_id);
    if (!rows.empty()) ts = SplitSlackRef(rows[0][0].as<std::string>()).second;
    return Status::Ok();
  });
  return ts;
}

std::vector<ChannelWorker::Message> ChannelWorker::Compose(std::vector<Row>& rows) {
  std::vector<Message> out;
  auto json_headers = [&](Message& m) { m.headers.push_back({"Content-Type", "application/json; charset=utf-8"}); };
  auto one = [&](Message& m, const Json& body) {
    m.body = Dump(body);
    json_headers(m);
  };
  // A burst of alerts is one message; anything else one message per row.
  std::vector<std::vector<Row>> batches;
  if (rows.size() > 1 && rows[0].stage == NotificationType::INCIDENT_ALERT) {
    batches.push_back(std::move(rows));
  } else {
    for (auto& r : rows) batches.push_back({std::move(r)});
  }
  for (auto& batch : batches) {
    Message m;
    m.rows = std::move(batch);
    std::vector<Notice> notices;
    for (const auto& r : m.rows) notices.push_back(r.notice);
    const Notice& n = notices.front();
    const bool group = notices.size() > 1;
    for (const auto& r : m.rows)
      if (r.notice.incident_id.empty()) m.failed = "the stored notice does not decode";
    switch (endpoint_.channel) {
      case Channel::kSlack:
        if (endpoint_.slack_api()) {
          m.url = endpoint_.slack_api_url + "/chat.postMessage";
          m.headers.push_back({"Authorization", "Bearer " + endpoint_.slack_token});
          Json body;
          if (group) {
            body = SlackGroupMessage(notices);
            body["channel"] = endpoint_.slack_channel;
          } else {
            std::optional<std::string> thread;
            if (n.stage != NotificationType::INCIDENT_ALERT) thread = ThreadOf(m.rows[0]);
            body = SlackPostMessage(n, endpoint_.slack_channel, thread);
          }
          one(m, body);
        } else {
          m.url = endpoint_.url;
          one(m, group ? SlackGroupMessage(notices) : SlackMessage(n));
        }
        break;
      case Channel::kTeams:
        m.url = endpoint_.url;
        one(m, group ? TeamsGroupMessage(notices) : TeamsMessage(n));
        break;
      case Channel::kPagerDuty: {
        m.url = endpoint_.url;
        if (n.stage == NotificationType::INCIDENT_RESOLVED) {
          // The page this incident raised: its own, or its burst's (resolved when the last one is).
          std::string key = PagerDutyDedupKey(n.incident_id);
          int64_t open_in_group = 0;
          (void)db_.Transact([&](pqxx::work& tx) {
            auto a = tx.exec_params(
                "SELECT COALESCE(external_ref, ''), group_id FROM notifications WHERE incident_id = $1::uuid "
                " AND channel = 'pagerduty' AND stage = 'INCIDENT_ALERT'",
                n.incident_id);
            if (a.empty()) return Status::Ok();
            if (!a[0][0].as<std::string>().empty()) key = a[0][0].as<std::string>();
            if (!a[0][1].is_null())
              open_in_group = tx.exec_params1(
                                    "SELECT count(*) FROM notifications g JOIN incidents i ON i.id = g.incident_id "
                                    "WHERE g.channel = 'pagerduty' AND g.stage = 'INCIDENT_ALERT' AND g.group_id = $1 "
                                    " AND g.incident_id <> $2::uuid AND i.status NOT IN ('RESOLVED', 'CLOSED')",
                                    a[0][1].as<int64_t>(), n.incident_id)[0]
                                  .as<int64_t>();
            return Status::Ok();
          });
          if (open_in_group > 0) {
            m.suppressed = "the page " + key + " also covers " + std::to_string(open_in_group) +
                           " incident(s) of its burst still open: resolved with the last of them";
            break;
          }
          m.reference = key;
          one(m, *PagerDutyEvent(n, endpoint_.pagerduty_routing_key, key));
        } else if (group) {
          m.reference = PagerDutyDedupKey(n.incident_id);
          one(m, PagerDutyGroupTrigger(notices, endpoint_.pagerduty_routing_key, m.reference));
        } else {
          m.reference = PagerDutyDedupKey(n.incident_id);
          auto event = PagerDutyEvent(n, endpoint_.pagerduty_routing_key, m.reference);
          if (!event) {
            m.suppressed = "PagerDuty takes only the alert and the resolution";
            break;
          }
          one(m, *event);
        }
        break;
      }
      case Channel::kWebhook: {
        m.url = endpoint_.url;
        const std::string delivery = (group ? "grp-" : "ntf-") + std::to_string(m.rows.front().id);
        m.reference = delivery;
        m.body = Dump(group ? WebhookGroupBody(notices, delivery) : WebhookBody(n, delivery));
        json_headers(m);
        m.headers.push_back({"X-SRE-Delivery", delivery});
        if (!endpoint_.webhook_secret.empty())
          m.headers.push_back({"X-SRE-Signature", WebhookSignature(endpoint_.webhook_secret, UnixNow(), m.body)});
        break;
      }
      case Channel::kEmail:
        m.failed = "email is not an outbox channel";
        break;
    }
    out.push_back(std::move(m));
  }
  return out;
}

DeliveryOutcome ChannelWorker::Send(Message& m) {
  std::this_thread::sleep_until(limiter_.Next(RateLimiter::Clock::now()));
  llm::HttpResult answer = transport_->Post(m.url, m.headers, m.body, options_.http_timeout);
  static thread_local std::mt19937 rng{std::random_device{}()};
  const double jitter = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  int attempt = 0;
  for (const auto& r : m.rows) attempt = std::max(attempt, r.attempts);
  DeliveryOutcome o =
      Classify(endpoint_.channel, endpoint_.slack_api(), answer, attempt, jitter, options_.backoff, UnixNow());
  const std::string channel = ChannelName(endpoint_.channel);
  Metrics()
      .GetCounter("sre_notification_attempts_total", "HTTP attempts of the chat, paging and webhook channels",
                  {{"channel", channel},
                   {"result", o.verdict == Verdict::kDelivered ? "delivered"
                              : o.verdict == Verdict::kRetry   ? "retry"
                                                               : "failed"}})
      .Inc();
  if (o.verdict == Verdict::kDelivered && endpoint_.slack_api()) {
    Json j = Json::parse(answer.body, nullptr, false);
    if (j.is_object()) o.reference = j.value("channel", endpoint_.slack_channel) + "/" + o.reference;
  }
  return o;
}

Status ChannelWorker::Record(const Message& m, const DeliveryOutcome& o) {
  const std::string channel = ChannelName(endpoint_.channel);
  double age = 0;
  for (const auto& r : m.rows) age = std::max(age, r.age_s);
  const bool give_up = o.verdict == Verdict::kRetry && age >= static_cast<double>(options_.give_up.count());
  std::string reason = o.reason;
  if (give_up) reason = "gave up after " + std::to_string(static_cast<int64_t>(age)) + " s: " + o.reason;
  const std::string reference = o.reference.empty() ? m.reference : o.reference;
  Status s = db_.Transact([&](pqxx::work& tx) {
    for (const auto& r : m.rows) {
      if (o.verdict == Verdict::kDelivered) {
        tx.exec_params(
            "UPDATE notifications SET status = $2, sent_at = now(), last_error = $3, external_ref = NULLIF($4, ''), "
            " group_id = $5, lease_until = NULL WHERE id = $1",
            r.id, m.suppressed.empty() ? "SENT" : "SUPPRESSED",
            m.suppressed.empty() ? std::optional<std::string>() : std::optional<std::string>(m.suppressed), reference,
            m.rows.front().id);
      } else if (o.verdict == Verdict::kRetry && !give_up) {
        tx.exec_params(
            "UPDATE notifications SET status = 'PENDING', last_error = $2, lease_until = NULL, "
            " next_attempt_at = now() + make_interval(secs => $3::double precision) WHERE id = $1",
            r.id, reason, static_cast<double>(o.retry_in.count()) / 1000.0);
      } else {
        tx.exec_params(
            "UPDATE notifications SET status = 'FAILED', last_error = $2, lease_until = NULL WHERE id = $1", r.id,
            reason);
      }
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  for (const auto& r : m.rows) {
    log::LogScope scope("incident_id", r.incident_id);
    const std::string stage(ToString(r.stage));
    const char* outcome = !m.suppressed.empty()                 ? "suppressed"
                          : o.verdict == Verdict::kDelivered    ? "sent"
                          : o.verdict == Verdict::kRetry && !give_up ? "retry"
                                                                : "failed";
    if (std::string(outcome) != "retry")
      Metrics()
          .GetCounter("sre_notifications_total", "Chat, paging and webhook notifications by channel, stage and outcome",
                      {{"channel", channel}, {"stage", stage}, {"outcome", outcome}})
          .Inc();
    auto logger = log::Get(kAgent);
    if (std::string(outcome) == "sent")
      logger->info("{} {} sent{}{}", channel, stage, m.rows.size() > 1 ? " (grouped with the burst)" : "",
                   r.in_doubt ? " again (in doubt: the last sender died mid-request)" : "");
    else if (std::string(outcome) == "suppressed")
      logger->info("{} {} not sent: {}", channel, stage, m.suppressed);
    else if (std::string(outcome) == "retry")
      logger->warn("{} {} attempt {} failed: {}; retry in {} ms", channel, stage, r.attempts, o.reason,
                   o.retry_in.count());
    else
      logger->error("{} {} failed for good: {}", channel, stage, reason);
  }
  return Status::Ok();
}

void ChannelWorker::UpdateSlackFirst(const Row& r) {
  // The incident's first message shows where it is now; a burst's grouped message is left alone.
  std::string ref;
  Notice first;
  (void)db_.Transact([&](pqxx::work& tx) {
    auto a = tx.exec_params(
        "SELECT external_ref, notice::text, (SELECT count(*) FROM notifications g WHERE g.channel = 'slack' "
        " AND g.group_id = a.group_id) FROM notifications a WHERE a.incident_id = $1::uuid AND a.channel = 'slack' "
        " AND a.stage = 'INCIDENT_ALERT' AND a.status = 'SENT' AND a.external_ref IS NOT NULL",
        r.incident_id);
    if (a.empty() || a[0][2].as<int64_t>() != 1) return Status::Ok();
    auto n = NoticeFromJson(Json::parse(a[0][1].as<std::string>(), nullptr, false));
    if (!n.ok()) return Status::Ok();
    ref = a[0][0].as<std::string>();
    first = *n;
    return Status::Ok();
  });
  if (ref.empty()) return;
  auto [channel, ts] = SplitSlackRef(ref);
  Json body = SlackUpdate(first, r.notice, channel.empty() ? endpoint_.slack_channel : channel, ts);
  std::this_thread::sleep_until(limiter_.Next(RateLimiter::Clock::now()));
  llm::HttpResult answer = transport_->Post(
      endpoint_.slack_api_url + "/chat.update",
      {{"Content-Type", "application/json; charset=utf-8"}, {"Authorization", "Bearer " + endpoint_.slack_token}},
      Dump(body), options_.http_timeout);
  DeliveryOutcome o = Classify(Channel::kSlack, true, answer, 1, 0.5, options_.backoff, UnixNow());
  Metrics()
      .GetCounter("sre_slack_updates_total", "chat.update of an incident's first Slack message, by outcome",
                  {{"outcome", o.verdict == Verdict::kDelivered ? "updated" : "failed"}})
      .Inc();
  if (o.verdict != Verdict::kDelivered) {
    // Cosmetic: the thread has the stage; the next stage updates the first message again.
    log::LogScope scope("incident_id", r.incident_id);
    log::Get(kAgent)->warn("slack: updating the incident's first message failed: {}", o.reason);
  }
}

}  // namespace sre::communication
