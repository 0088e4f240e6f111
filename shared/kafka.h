#pragma once
// Kafka: a producer that returns only once the broker acknowledged, and the one consumer runner
// of the project (ARCHITECTURE §2 items 1, 4, 5, 7):
//   - consumer group `sre-<agent>`, auto commit off, earliest reset;
//   - offsets committed only after the handler returned Ok for the message (and for every earlier
//     message of its partition), or after its dead letter was acknowledged;
//   - what happens to a failed message is PlanBatch's decision (shared/consumer_policy.h):
//     Invalid → dead letter; Internal → retried, dead-lettered after max_attempts; Transient →
//     the partition is paused and rewound to that message and retried after a capped exponential
//     backoff while the consumer keeps polling (so it keeps its group membership); Fatal → stop;
//   - a handler that throws is treated as Internal for the message it was handling;
//   - dead letters are bounded (payload cut at a UTF-8 boundary with its size and SHA-256, error
//     text cut), so one can always be published;
//   - a stop request: finish the batch in hand, commit, close the consumer (leaving the group).
// librdkafka handles live in the .cpp; this header does not include rdkafka.h.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "shared/consumer_policy.h"
#include "shared/status.h"

namespace sre {

struct OutboundMessage {
  std::string topic, key, payload;
};

struct InboundMessage {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key, payload;
};

struct KafkaOptions {
  std::string bootstrap_servers = "localhost:9092";
  // Extra librdkafka properties (e.g. {"session.timeout.ms", "6000"}).
  std::map<std::string, std::string> properties;
};

class Producer {
 public:
  // Status::Fatal when the configuration is rejected.
  static Expected<std::unique_ptr<Producer>> Create(
      const KafkaOptions& options,
      std::chrono::milliseconds delivery_timeout = std::chrono::seconds(30));
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Blocks until the broker acknowledged the message. Status::Transient when it was not
  // delivered within the delivery timeout (broker down) — nothing is known to be published then;
  // Status::Internal when the broker or the client refuses it for good (larger than the maximum
  // message size). Thread-safe.
  Status Publish(const OutboundMessage& message);
  // The same guarantee for a batch: Ok only when every message was acknowledged.
  Status PublishBatch(const std::vector<OutboundMessage>& messages);
  // Looks up the partitions and leaders of `topics` now, so the first Publish() to each does not
  // wait for librdkafka's lazy topic discovery (about a second per new topic). Best effort:
  // returns the first problem (broker down, unknown topic) but publishing works either way.
  Status Prepare(const std::vector<std::string>& topics, std::chrono::milliseconds timeout);
  // Empty when the broker answers a metadata request within the timeout; else the problem.
  std::string CheckBroker(std::chrono::milliseconds timeout) const;

 private:
  struct Impl;
  explicit Producer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The one handler shape. Handle() must be safe to call again for a message it already handled
// (at-least-once delivery): effects idempotent, outputs re-published with the same event ids.
class MessageHandler {
 public:
  virtual ~MessageHandler() = default;
  virtual Status Handle(const InboundMessage& message) = 0;
  // One result per message, in order. Override to amortise round trips over a batch (detection
  // pipelines Redis); the default calls Handle() per message and, after a transient failure,
  // reports the rest of that partition as transient without calling Handle().
  virtual std::vector<Status> HandleBatch(std::span<const InboundMessage> batch);
};

struct ConsumerOptions {
  std::string agent;  // "detection": group "sre-detection", dead letters name this agent
  std::vector<std::string> topics;
  KafkaOptions kafka;
  std::string group_id;  // default "sre-" + agent
  size_t max_batch = 200;
  std::chrono::milliseconds poll_timeout{100};
  std::chrono::milliseconds retry_initial{200};
  std::chrono::milliseconds retry_max{15000};
  int max_attempts = 3;  // handler runs of a message failing with Internal before its dead letter
};

// Dead letters carry at most this much of the original payload (cut at a UTF-8 boundary) and of
// the error text.
inline constexpr size_t kDeadLetterPayloadMax = 64 * 1024;
inline constexpr size_t kDeadLetterErrorMax = 2048;

// A bounded dead letter for `m`: at most kDeadLetterPayloadMax bytes of the payload (cut on a
// UTF-8 boundary, ill-formed bytes replaced) with its full size and SHA-256, and at most
// kDeadLetterErrorMax bytes of the error. Input that never was a Kafka message (an HTTP body
// rejected by sre-ingest) uses topic "http:<path>", partition -1 and offset 0.
OutboundMessage DeadLetterFor(const std::string& agent, const InboundMessage& m, const std::string& error,
                              int attempts);

class ConsumerRunner {
 public:
  // `producer` publishes dead letters; it must outlive the runner.
  static Expected<std::unique_ptr<ConsumerRunner>> Create(ConsumerOptions options,
                                                          Producer& producer);
  ~ConsumerRunner();
  ConsumerRunner(const ConsumerRunner&) = delete;
  ConsumerRunner& operator=(const ConsumerRunner&) = delete;

  // Consumes until `stop` becomes true, then commits and leaves the group. Returns Ok on a clean
  // stop, the handler's Status when it returned Fatal (a process-level condition), or a Fatal
  // consumer error. No message, whatever it contains, ends Run() otherwise.
  Status Run(MessageHandler& handler, const std::atomic<bool>& stop);

  // Number of partitions currently assigned (for tests and health).
  int AssignedPartitions() const;

 private:
  struct Impl;
  explicit ConsumerRunner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// SIGTERM and SIGINT set the returned flag (installed once per process).
const std::atomic<bool>& InstallStopSignals();

}  // namespace sre
