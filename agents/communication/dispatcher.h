#pragma once
// The outbox of the chat, paging and webhook channels: the consumer writes one `notifications`
// row per incident, channel and stage (Enqueue, in its own transaction, before the email goes
// out), and one ChannelWorker thread per enabled channel delivers them — so an outage of Teams
// never delays a page, and a slow receiver never holds the consumer.
//
// A worker claims due rows (SENDING with a lease, committed before the request), sends, and
// records the outcome: SENT with the receiver's reference, PENDING again with next_attempt_at
// (capped exponential backoff with jitter, or Retry-After), or FAILED with the reason (a 4xx, or
// still failing after NOTIFY_GIVE_UP_S). A row found SENDING after its lease was being sent when
// its sender died: it is sent again with the same idempotency key and counted in
// in_doubt_resends. Stages of one incident go out in order on each channel (a later stage waits
// while an earlier one is pending), so a PagerDuty resolve never overtakes its trigger and Slack
// replies find their thread. Incident alerts wait `group_wait` and go out together: several
// alerts waiting at once become one grouped message.
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "agents/communication/delivery.h"
#include "agents/communication/routes.h"
#include "shared/llm/transport.h"
#include "shared/postgres.h"

namespace sre::communication {

struct ChannelEndpoint {
  Channel channel = Channel::kWebhook;
  std::string url;  // Slack incoming webhook, Teams Workflows URL, PagerDuty events URL, webhook URL
  // Slack with a bot token: chat.postMessage / chat.update on `slack_api_url` (threads, status
  // updates) instead of the incoming webhook.
  std::string slack_token, slack_channel, slack_api_url = "https://slack.com/api";
  std::string pagerduty_routing_key;
  std::string webhook_secret;  // empty: unsigned
  bool slack_api() const { return channel == Channel::kSlack && !slack_token.empty(); }
};

struct DispatchOptions {
  std::chrono::milliseconds poll{250};
  std::chrono::milliseconds http_timeout{10000};
  std::chrono::seconds give_up{3600};  // wall clock since the row was written
  BackoffPolicy backoff;
  int64_t group_wait_ms = 5000;
  double per_second = 0;
};

// Writes the rows of one stage for `channels` (the HTTP ones among them), idempotently: a
// redelivered message finds them and adds nothing. A PagerDuty resolve is written only when a
// trigger was (no resolve for an incident that never paged).
void Enqueue(pqxx::work& tx, const Notice& notice, const std::set<Channel>& channels);

class ChannelWorker {
 public:
  ChannelWorker(std::string database_url, ChannelEndpoint endpoint, DispatchOptions options,
                std::shared_ptr<llm::Transport> transport);
  // Until `stop`; each pass: RunOnce, then a pause of `poll` when nothing was due.
  void Run(const std::atomic<bool>& stop);
  // One pass: claims what is due and delivers it. Returns the number of rows it finished (sent,
  // failed or suppressed), or the database's error.
  Expected<int> RunOnce();
  Channel channel() const { return endpoint_.channel; }

 private:
  struct Row;
  struct Message;
  Expected<std::vector<Row>> Claim();
  std::vector<Message> Compose(std::vector<Row>& rows);
  DeliveryOutcome Send(Message& m);
  Status Record(const Message& m, const DeliveryOutcome& o);
  std::optional<std::string> ThreadOf(const Row& r);
  void UpdateSlackFirst(const Row& r);

  Database db_;
  ChannelEndpoint endpoint_;
  DispatchOptions options_;
  std::shared_ptr<llm::Transport> transport_;
  RateLimiter limiter_;
};

}  // namespace sre::communication
