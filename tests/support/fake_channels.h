#pragma once
// Local doubles of the communication agent's receivers, on one cpp-httplib server (127.0.0.1, a
// free port). Each validates the exact request shape the real service documents and answers with
// that service's documented status codes and bodies, so a delivery test fails on a request the
// real service would refuse, not only on one the agent happens to notice:
//
//   Slack incoming webhook  POST /services/T0001/B0001/<24 chars>
//       200 text/html "ok" | 400 invalid_payload / no_text / invalid_blocks | 404 no_service
//   Slack Web API           POST /slack/api/chat.postMessage, /slack/api/chat.update (Bearer token)
//       200 {"ok":true,...} | 200 {"ok":false,"error":"not_authed" | "invalid_auth" |
//       "channel_not_found" | "no_text" | "invalid_blocks" | "thread_not_found" |
//       "message_not_found" | "invalid_post_type" | "invalid_json" | ...}
//   Teams Workflows         POST
//   /workflows/<id>/triggers/manual/paths/invoke?api-version=...&sig=...
//       202 (empty) | 400 InvalidRequestContent | 401 DirectApiAuthorizationRequired
//   PagerDuty Events API v2 POST /v2/enqueue
//       202 {"status":"success",...} | 400 {"status":"invalid event",...,"errors":[...]}
//   Generic signed webhook  POST /hooks/sre (X-SRE-Signature HMAC-SHA256, X-SRE-Delivery)
//       200 {"ok":true} | 400 {"error":...} | 401 {"error":"bad signature"}
//
// Block Kit and Adaptive Card checks cover the elements the agent renders plus the documented
// limits (50 blocks, header 150 chars, section text 3000, 10 fields of 2000, card version ≤ 1.4);
// characters are counted as UTF-8 code points, as Slack counts them. Where a service accepts more
// than the agent should send (Slack's form-encoded posts, Teams' non-card attachments), the fake is
// stricter on purpose.
//
// Faults are scripted per receiver (FIFO): the next request gets the fault's status, body,
// Retry-After and delay instead of the normal answer. A fault with a 2xx status and an empty body
// only delays a normal answer (a slow but healthy service). `after_accepting` delivers a valid
// request first (it counts in Accepted and, for chat.postMessage, creates the message) and then
// answers with the fault: the "sent, but the answer was lost" case a client must not turn into a
// duplicate. An invalid request consumes an after_accepting fault but gets its validation error.
//
// Every request is recorded (Requests), valid or not. Thread-safe: several client threads may
// post at once; a delay does not hold up other requests.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "shared/json_codec.h"

namespace sre::testing {

class LocalHttpServer;

enum class Receiver { kSlackWebhook, kSlackApi, kTeams, kPagerDuty, kWebhook };

struct ReceivedRequest {
  Receiver receiver = Receiver::kWebhook;
  std::string method, path, query /*raw, without '?'*/, content_type, body;
  std::map<std::string, std::string> headers;  // names lower-cased
  Json json;                                   // parsed body (null if not JSON)
  int status = 0;                              // what the fake answered
  std::string problem;   // empty when the request was valid; else why it was rejected
  bool faulted = false;  // answered by a scripted Fault (status/body are the fault's)
  bool delivered =
      false;  // counted in Accepted: valid and processed (2xx, or an after_accepting fault)
  std::chrono::steady_clock::time_point at;  // when it arrived
};

struct Fault {  // applied to the next request of a receiver (FIFO queue per receiver)
  int status = 500;
  std::string body = "";  // default: a body in that service's documented error format
  // Initialised so designated initializers (Fault{.status = 429}) compile without
  // -Wmissing-field-initializers.
  std::optional<int> retry_after_s = std::nullopt;  // sets Retry-After
  std::chrono::milliseconds delay{
      0};  // sleep before answering (use > the client's timeout to simulate a timeout)
  bool after_accepting =
      false;  // record the request as delivered (counted in Accepted) but answer with the fault
};

class FakeChannels {
 public:
  // Starts one server on 127.0.0.1 at a free port, in a thread; aborts the test binary if it cannot
  // bind.
  FakeChannels();
  ~FakeChannels();
  FakeChannels(const FakeChannels&) = delete;
  FakeChannels& operator=(const FakeChannels&) = delete;

  int port() const;
  std::string slack_webhook_url()
      const;  // http://127.0.0.1:<port>/services/T0001/B0001/<24 random chars>
  std::string slack_api_url()
      const;  // http://127.0.0.1:<port>/slack/api  (+ /chat.postMessage, /chat.update)
  std::string slack_token() const;    // "xoxb-..."
  std::string slack_channel() const;  // "C0SREPIPE" (the channel id the API echoes back)
  // http://127.0.0.1:<port>/workflows/<hex id>/triggers/manual/paths/invoke?api-version=2016-06-01
  //   &sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=<43 url-safe chars>
  // Every one of these query parameters must arrive exactly as issued (percent-encoding included).
  std::string teams_url() const;
  std::string pagerduty_url() const;          // http://127.0.0.1:<port>/v2/enqueue
  std::string pagerduty_routing_key() const;  // 32 chars
  std::string webhook_url() const;            // http://127.0.0.1:<port>/hooks/sre
  std::string webhook_secret() const;

  void PushFault(Receiver r, Fault f);
  std::vector<ReceivedRequest> Requests(Receiver r) const;  // every request, valid or not, in order
  std::vector<ReceivedRequest> Accepted(
      Receiver r) const;  // valid and delivered (2xx, or after_accepting)

  // Slack messages as the API holds them, in posting order: ts, the thread it replies in (empty for
  // a top-level message), the latest body (chat.postMessage's, with text/blocks replaced by each
  // chat.update) and how many updates it had.
  struct SlackMessage {
    std::string ts, thread_ts;
    Json body;
    int updates = 0;
  };
  std::vector<SlackMessage> SlackMessages() const;

  void Reset();  // clears requests, faults and Slack messages (URLs and credentials stay)

 private:
  struct Answer {
    int status = 200;
    std::string body;
    std::string content_type;
    std::string problem;  // empty when valid
  };
  // Validates `r` and, when `commit`, applies its effect (a Slack message posted or updated).
  // Called with mu_ held.
  Answer Handle(const ReceivedRequest& r, bool commit);
  Answer SlackWebhook(const ReceivedRequest& r);
  Answer SlackApi(const ReceivedRequest& r, bool commit);
  Answer Teams(const ReceivedRequest& r);
  Answer PagerDuty(const ReceivedRequest& r);
  Answer Webhook(const ReceivedRequest& r);
  Answer FaultAnswer(Receiver r, const Fault& f) const;
  std::string NextSlackTs();

  std::string slack_hook_path_, slack_token_, teams_id_, teams_query_, teams_sig_, pd_key_,
      webhook_secret_;
  std::unique_ptr<LocalHttpServer> http_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<Receiver, std::deque<Fault>> faults_;
  std::vector<ReceivedRequest> requests_;
  std::vector<SlackMessage> slack_messages_;
  int64_t last_ts_us_ = 0;
};

}  // namespace sre::testing
