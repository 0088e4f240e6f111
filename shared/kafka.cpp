#include "shared/kafka.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <set>
#include <thread>

#include "shared/ids.h"
#include "shared/log.h"
#include "shared/messages.h"
#include "shared/metrics.h"
#include "shared/text.h"

namespace sre {
namespace {

using Clock = std::chrono::steady_clock;

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaDeleter>;

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using ConfHandle = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

struct TplDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using TplHandle = std::unique_ptr<rd_kafka_topic_partition_list_t, TplDeleter>;

Status SetAll(rd_kafka_conf_t* conf, const std::map<std::string, std::string>& props) {
  char err[512];
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK)
      return Status::Fatal("kafka property " + k + ": " + err);
  }
  return Status::Ok();
}

void LogCallback(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  static auto logger = log::Get("librdkafka");
  if (level <= 3)
    logger->error("{}: {}", fac, buf);
  else if (level <= 4)
    logger->warn("{}: {}", fac, buf);
  else
    logger->debug("{}: {}", fac, buf);
}

// Delivery state shared by the messages of one Publish/PublishBatch call.
struct DeliveryGroup {
  std::mutex mu;
  std::condition_variable cv;
  size_t remaining = 0;
  std::string first_error;
  bool permanent = false;
};

// Enqueues one message (copied) with `opaque` for its delivery report. rd_kafka_produceva rather
// than the RD_KAFKA_V_* macros of rd_kafka_producev, which are GNU statement expressions with C
// casts that a pedantic C++ build warns about.
rd_kafka_resp_err_t Produce(rd_kafka_t* rk, const OutboundMessage& m, void* opaque) {
  rd_kafka_vu_t vus[5];
  vus[0].vtype = RD_KAFKA_VTYPE_TOPIC;
  vus[0].u.cstr = m.topic.c_str();
  vus[1].vtype = RD_KAFKA_VTYPE_KEY;
  vus[1].u.mem = {const_cast<char*>(m.key.data()), m.key.size()};
  vus[2].vtype = RD_KAFKA_VTYPE_VALUE;
  vus[2].u.mem = {const_cast<char*>(m.payload.data()), m.payload.size()};
  vus[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  vus[3].u.i = RD_KAFKA_MSG_F_COPY;
  vus[4].vtype = RD_KAFKA_VTYPE_OPAQUE;
  vus[4].u.ptr = opaque;
  rd_kafka_error_t* error = rd_kafka_produceva(rk, vus, 5);
  if (!error) return RD_KAFKA_RESP_ERR_NO_ERROR;
  rd_kafka_resp_err_t code = rd_kafka_error_code(error);
  rd_kafka_error_destroy(error);
  return code;
}

// Errors that no retry can cure: the message itself is unacceptable.
bool IsPermanent(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || err == RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE ||
         err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE;
}

void DeliveryCallback(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  auto* group = static_cast<DeliveryGroup*>(m->_private);
  if (!group) return;
  std::lock_guard<std::mutex> lock(group->mu);
  if (m->err && group->first_error.empty()) {
    group->first_error = rd_kafka_err2str(m->err);
    group->permanent = IsPermanent(m->err);
  }
  if (--group->remaining == 0) group->cv.notify_all();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Producer

struct Producer::Impl {
  KafkaHandle rk;
  std::thread poller;
  std::atomic<bool> stopping{false};
  std::chrono::milliseconds delivery_timeout{30000};
  std::mutex topics_mu;
  std::vector<rd_kafka_topic_t*> topics;  // held by Prepare() so librdkafka keeps them current

  ~Impl() {
    stopping = true;
    if (poller.joinable()) poller.join();
    for (auto* t : topics) rd_kafka_topic_destroy(t);
    if (rk) rd_kafka_flush(rk.get(), 5000);
  }
};

Producer::Producer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Producer::~Producer() = default;

Expected<std::unique_ptr<Producer>> Producer::Create(const KafkaOptions& options,
                                                     std::chrono::milliseconds delivery_timeout) {
  ConfHandle conf(rd_kafka_conf_new());
  std::map<std::string, std::string> props = {
      {"bootstrap.servers", options.bootstrap_servers},
      {"acks", "all"},
      {"enable.idempotence", "true"},
      {"linger.ms", "2"},
      {"message.timeout.ms", std::to_string(delivery_timeout.count())},
      {"client.id", "sre-producer"},
  };
  for (const auto& [k, v] : options.properties) props[k] = v;
  if (auto s = SetAll(conf.get(), props); !s.ok()) return s;
  rd_kafka_conf_set_dr_msg_cb(conf.get(), DeliveryCallback);
  rd_kafka_conf_set_log_cb(conf.get(), LogCallback);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof(err));
  if (!rk) return Status::Fatal(std::string("kafka producer: ") + err);
  conf.release();  // owned by rk now
  auto impl = std::make_unique<Impl>();
  impl->rk.reset(rk);
  impl->delivery_timeout = delivery_timeout;
  Impl* raw = impl.get();
  impl->poller = std::thread([raw] {
    while (!raw->stopping) rd_kafka_poll(raw->rk.get(), 50);
  });
  return std::unique_ptr<Producer>(new Producer(std::move(impl)));
}

Status Producer::Publish(const OutboundMessage& message) { return PublishBatch({message}); }

Status Producer::PublishBatch(const std::vector<OutboundMessage>& messages) {
  if (messages.empty()) return Status::Ok();
  DeliveryGroup group;
  group.remaining = messages.size();
  size_t enqueued = 0;
  std::string enqueue_error;
  bool permanent = false;
  for (const auto& m : messages) {
    rd_kafka_resp_err_t err;
    for (int attempt = 0;; ++attempt) {
      err = Produce(impl_->rk.get(), m, &group);
      // A full local queue drains as deliveries complete; wait a little instead of failing.
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || attempt > 200) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (err) {
      enqueue_error = rd_kafka_err2str(err);
      permanent = IsPermanent(err);
      if (permanent) enqueue_error += " (" + std::to_string(m.payload.size()) + " bytes to " + m.topic + ")";
      break;
    }
    ++enqueued;
  }
  std::unique_lock<std::mutex> lock(group.mu);
  group.remaining -= messages.size() - enqueued;
  // Deliveries time out inside librdkafka after message.timeout.ms; wait a bit longer than that.
  group.cv.wait_for(lock, impl_->delivery_timeout + std::chrono::seconds(5),
                    [&] { return group.remaining == 0; });
  if (group.remaining != 0) {
    // Cannot happen unless librdkafka lost a report; keep `group` alive until it arrives.
    lock.unlock();
    rd_kafka_flush(impl_->rk.get(), -1);
    return Status::Transient("kafka: delivery reports missing");
  }
  if (!enqueue_error.empty())
    return permanent ? Status::Internal("kafka produce: " + enqueue_error)
                     : Status::Transient("kafka produce: " + enqueue_error);
  if (!group.first_error.empty())
    return group.permanent ? Status::Internal("kafka delivery: " + group.first_error)
                           : Status::Transient("kafka delivery: " + group.first_error);
  for (const auto& m : messages)
    Metrics()
        .GetCounter("sre_messages_produced_total", "Messages acknowledged by the broker, by topic",
                    {{"topic", m.topic}})
        .Inc();
  return Status::Ok();
}

Status Producer::Prepare(const std::vector<std::string>& topics, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  Status first = Status::Ok();
  for (const auto& name : topics) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(impl_->rk.get(), name.c_str(), nullptr);
    if (!rkt) {
      if (first.ok()) first = Status::Fatal("kafka topic " + name + ": " + rd_kafka_err2str(rd_kafka_last_error()));
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(impl_->topics_mu);
      impl_->topics.push_back(rkt);
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    const rd_kafka_metadata_t* md = nullptr;
    auto err = rd_kafka_metadata(impl_->rk.get(), 0, rkt, &md, static_cast<int>(std::max<int64_t>(left.count(), 1)));
    if (err) {
      if (first.ok()) first = Status::Transient("kafka metadata for " + name + ": " + rd_kafka_err2str(err));
      continue;
    }
    if (md->topic_cnt != 1 || md->topics[0].err) {
      if (first.ok())
        first = Status::Transient("kafka topic " + name + ": " +
                                  (md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "not in metadata"));
    }
    rd_kafka_metadata_destroy(md);
  }
  return first;
}

std::string Producer::CheckBroker(std::chrono::milliseconds timeout) const {
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(impl_->rk.get(), 0, nullptr, &md, static_cast<int>(timeout.count()));
  if (err) return std::string("kafka: ") + rd_kafka_err2str(err);
  int brokers = md->broker_cnt;
  rd_kafka_metadata_destroy(md);
  return brokers > 0 ? "" : "kafka: no brokers";
}

// ---------------------------------------------------------------------------------------------
// Handler default

namespace {

// Handle() with exceptions turned into Internal: a handler that throws on one message fails that
// message, not the process.
Status HandleGuarded(MessageHandler& handler, const InboundMessage& m) {
  try {
    return handler.Handle(m);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("handler exception: ") + e.what());
  } catch (...) {
    return Status::Internal("handler exception of unknown type");
  }
}

// The default batch: Handle() per message; after a failure that rewinds a partition, the rest of
// that partition is not handled (it comes again after the rewind).
std::vector<Status> HandleEach(MessageHandler& handler, std::span<const InboundMessage> batch) {
  std::vector<Status> out;
  out.reserve(batch.size());
  std::set<std::pair<std::string, int32_t>> failed;
  for (const auto& m : batch) {
    if (failed.count({m.topic, m.partition})) {
      out.push_back(Status::Transient("an earlier message of this partition failed"));
      continue;
    }
    Status s = HandleGuarded(handler, m);
    if (s.transient() || s.internal()) failed.insert({m.topic, m.partition});
    bool fatal = s.fatal();
    out.push_back(std::move(s));
    if (fatal) break;
  }
  return out;
}

}  // namespace

std::vector<Status> MessageHandler::HandleBatch(std::span<const InboundMessage> batch) {
  return HandleEach(*this, batch);
}

// ---------------------------------------------------------------------------------------------
// Consumer runner

OutboundMessage DeadLetterFor(const std::string& agent, const InboundMessage& m, const std::string& error,
                              int attempts) {
  sre::DeadLetter dl;
  // One dead letter per consumer of a message: the agent is part of its identity.
  dl.event_id = UuidFromName("dead-letter/" + agent + "/" + m.topic + "/" + std::to_string(m.partition) + "/" +
                             std::to_string(m.offset) + (m.topic.rfind("http:", 0) == 0 ? "/" + Sha256Hex(m.payload + error) : ""));
  dl.timestamp = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  dl.agent = agent;
  dl.topic = m.topic;
  dl.partition = m.partition;
  dl.offset = m.offset;
  dl.error = TruncateUtf8(SanitizeUtf8(std::string_view(error).substr(0, kDeadLetterErrorMax * 2)), kDeadLetterErrorMax);
  if (dl.error.empty()) dl.error = "unknown error";
  std::string payload = SanitizeUtf8(std::string_view(m.payload).substr(0, kDeadLetterPayloadMax + 4), false);
  dl.payload = TruncateUtf8(payload, kDeadLetterPayloadMax, false);
  dl.payload_bytes = static_cast<int64_t>(m.payload.size());
  dl.payload_sha256 = Sha256Hex(m.payload);
  dl.payload_truncated = m.payload.size() > kDeadLetterPayloadMax || dl.payload.size() < payload.size();
  dl.attempts = attempts;
  return {topics::kDeadLetters, TruncateUtf8(m.key, 256, false), Encode(dl)};
}

struct ConsumerRunner::Impl {
  ConsumerOptions options;
  Producer* producer = nullptr;
  KafkaHandle rk;
  std::shared_ptr<spdlog::logger> logger;
  std::atomic<int> assigned{0};

  struct PartitionState {
    bool paused = false;
    Clock::time_point resume_at;
  };
  std::map<std::pair<std::string, int32_t>, PartitionState> partitions;
  RetryStates retry;  // consecutive failures of each rewound partition's head message

  static void Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                        rd_kafka_topic_partition_list_t* parts, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      rd_kafka_assign(rk, parts);
      self->assigned = parts->cnt;
      self->logger->info("assigned {} partition(s)", parts->cnt);
    } else {
      rd_kafka_assign(rk, nullptr);
      self->assigned = 0;
      self->partitions.clear();
      self->retry.clear();
      self->logger->info("partitions revoked");
    }
  }

  // Publishes the dead letters of a batch in one round trip. Returns the indices (into `batch`)
  // of messages whose dead letter is not known to be published: on a failure, the first dead
  // letter of each partition (so nothing after it in that partition is committed).
  std::set<size_t> PublishDeadLetters(std::span<const InboundMessage> batch, const BatchPlan& plan) {
    std::vector<size_t> index;
    std::vector<OutboundMessage> letters;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (plan.steps[i] != Step::kDeadLetter) continue;
      index.push_back(i);
      letters.push_back(DeadLetterFor(options.agent, batch[i], plan.reasons[i], plan.attempts[i]));
    }
    std::set<size_t> unpublished;
    if (letters.empty()) return unpublished;
    Status s = producer->PublishBatch(letters);
    if (!s.ok()) {
      logger->error("cannot publish {} dead letter(s) (the messages are retried): {}", letters.size(), s.message());
      std::set<std::pair<std::string, int32_t>> seen;
      for (size_t i : index)
        if (seen.insert({batch[i].topic, batch[i].partition}).second) unpublished.insert(i);
      return unpublished;
    }
    for (size_t i : index) {
      const auto& m = batch[i];
      logger->warn("dead-lettered {}[{}]@{} after {} attempt(s): {}", m.topic, m.partition, m.offset, plan.attempts[i],
                   TruncateUtf8(plan.reasons[i], 300));
      Metrics()
          .GetCounter("sre_messages_dead_lettered_total", "Messages sent to dead-letters (malformed, or failing)",
                      {{"topic", m.topic}})
          .Inc();
    }
    return unpublished;
  }

  void PauseAndRewind(const PartitionRetry& r) {
    auto& st = partitions[{r.tp.topic, r.tp.partition}];
    st.paused = true;
    st.resume_at = Clock::now() + r.delay;
    TplHandle tpl(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(tpl.get(), r.tp.topic.c_str(), r.tp.partition)->offset = r.offset;
    rd_kafka_pause_partitions(rk.get(), tpl.get());
    if (auto* err = rd_kafka_seek_partitions(rk.get(), tpl.get(), 5000)) {
      logger->warn("seek {}[{}]@{} failed: {}", r.tp.topic, r.tp.partition, r.offset, rd_kafka_error_string(err));
      rd_kafka_error_destroy(err);
    }
    Metrics()
        .GetCounter("sre_handler_retries_total", "Failed messages retried (transient or internal failures)",
                    {{"topic", r.tp.topic}})
        .Inc();
    if (r.why.internal())
      logger->error("failure on {}[{}]@{} (attempt {} of {}), retrying in {} ms: {}", r.tp.topic, r.tp.partition,
                    r.offset, r.attempt, options.max_attempts, r.delay.count(), TruncateUtf8(r.why.message(), 500));
    else
      logger->warn("transient failure on {}[{}]@{} (attempt {}), retrying in {} ms: {}", r.tp.topic, r.tp.partition,
                   r.offset, r.attempt, r.delay.count(), TruncateUtf8(r.why.message(), 500));
  }

  void ResumeDue() {
    auto now = Clock::now();
    for (auto& [tp, st] : partitions) {
      if (!st.paused || st.resume_at > now) continue;
      TplHandle tpl(rd_kafka_topic_partition_list_new(1));
      rd_kafka_topic_partition_list_add(tpl.get(), tp.first.c_str(), tp.second);
      rd_kafka_resume_partitions(rk.get(), tpl.get());
      st.paused = false;
    }
  }

  bool IsPaused(const std::string& topic, int32_t partition) {
    auto it = partitions.find({topic, partition});
    return it != partitions.end() && it->second.paused;
  }

  // Per-message metrics, looked up once per (topic, outcome): the registry's lookup builds label
  // maps, too slow to repeat for every message at tens of thousands per second.
  std::map<std::pair<std::string, std::string>, Counter*> consumed_counters;
  std::map<std::string, Histogram*> duration_histograms;
  Counter& Consumed(const std::string& topic, const char* outcome) {
    Counter*& c = consumed_counters[{topic, outcome}];
    if (!c)
      c = &Metrics().GetCounter("sre_messages_consumed_total", "Messages handled, by topic and outcome",
                                {{"topic", topic}, {"outcome", outcome}});
    return *c;
  }
  Histogram& HandlerDuration(const std::string& topic) {
    Histogram*& h = duration_histograms[topic];
    if (!h) h = &Metrics().GetHistogram("sre_handler_duration_seconds", "Handler time per message", {{"topic", topic}});
    return *h;
  }

  // Polls up to max_batch messages: waits poll_timeout for the first, then takes what is ready.
  Status Poll(std::vector<InboundMessage>& batch) {
    std::map<std::pair<std::string, int32_t>, int64_t> newest;  // for the lag gauge
    for (size_t i = 0; i < options.max_batch; ++i) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(
          rk.get(), i == 0 ? static_cast<int>(options.poll_timeout.count()) : 0);
      if (!m) break;
      std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> owner(
          m, rd_kafka_message_destroy);
      if (m->err) {
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
        std::string what = rd_kafka_message_errstr(m);
        if (m->err == RD_KAFKA_RESP_ERR__FATAL) return Status::Fatal("kafka consumer: " + what);
        logger->warn("consumer error: {}", what);
        continue;
      }
      InboundMessage in;
      in.topic = rd_kafka_topic_name(m->rkt);
      in.partition = m->partition;
      in.offset = m->offset;
      if (m->key) in.key.assign(static_cast<const char*>(m->key), m->key_len);
      if (m->payload) in.payload.assign(static_cast<const char*>(m->payload), m->len);
      // Messages fetched before a pause/rewind come again after the resume.
      if (IsPaused(in.topic, in.partition)) continue;
      newest[{in.topic, in.partition}] = in.offset;
      batch.push_back(std::move(in));
    }
    RecordLag(newest);
    return Status::Ok();
  }

  // Consumer lag per partition: the high watermark librdkafka last saw (cached from fetch
  // responses, no broker round trip) minus the position after the newest message fetched.
  void RecordLag(const std::map<std::pair<std::string, int32_t>, int64_t>& newest) {
    for (const auto& [tp, offset] : newest) {
      int64_t low = 0, high = 0;
      if (rd_kafka_get_watermark_offsets(rk.get(), tp.first.c_str(), tp.second, &low, &high) !=
              RD_KAFKA_RESP_ERR_NO_ERROR ||
          high < 0)
        continue;
      Metrics()
          .GetGauge("sre_consumer_lag",
                    "Messages behind the partition's high watermark when last fetched, by topic "
                    "and partition",
                    {{"topic", tp.first}, {"partition", std::to_string(tp.second)}})
          .Set(static_cast<double>(std::max<int64_t>(0, high - offset - 1)));
    }
  }

  void Commit(const std::map<std::pair<std::string, int32_t>, int64_t>& next_offsets, bool sync) {
    if (next_offsets.empty()) return;
    TplHandle tpl(rd_kafka_topic_partition_list_new(static_cast<int>(next_offsets.size())));
    for (const auto& [tp, off] : next_offsets)
      rd_kafka_topic_partition_list_add(tpl.get(), tp.first.c_str(), tp.second)->offset = off;
    auto err = rd_kafka_commit(rk.get(), tpl.get(), sync ? 0 : 1);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
      logger->warn("offset commit failed (will be retried with the next batch): {}",
                   rd_kafka_err2str(err));
  }
};

ConsumerRunner::ConsumerRunner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ConsumerRunner::~ConsumerRunner() {
  if (impl_ && impl_->rk) rd_kafka_consumer_close(impl_->rk.get());
}

Expected<std::unique_ptr<ConsumerRunner>> ConsumerRunner::Create(ConsumerOptions options,
                                                                 Producer& producer) {
  auto impl = std::make_unique<Impl>();
  if (options.group_id.empty()) options.group_id = "sre-" + options.agent;
  impl->options = options;
  impl->producer = &producer;
  impl->logger = log::Get("consumer");
  ConfHandle conf(rd_kafka_conf_new());
  std::map<std::string, std::string> props = {
      {"bootstrap.servers", options.kafka.bootstrap_servers},
      {"group.id", options.group_id},
      {"client.id", "sre-" + options.agent},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "false"},
      {"session.timeout.ms", "10000"},
      {"heartbeat.interval.ms", "1000"},
      // Hand-offs between agents should not wait for a fetch to fill: cap the broker-side wait.
      // Agents take it from KAFKA_FETCH_WAIT_MAX_MS (RunConsumer); a real broker answers as soon
      // as data arrives, sre-devbroker (librdkafka's mock cluster) only when the wait is over.
      {"fetch.wait.max.ms", "50"},
  };
  for (const auto& [k, v] : options.kafka.properties) props[k] = v;
  if (auto s = SetAll(conf.get(), props); !s.ok()) return s;
  rd_kafka_conf_set_log_cb(conf.get(), LogCallback);
  rd_kafka_conf_set_rebalance_cb(conf.get(), &Impl::Rebalance);
  rd_kafka_conf_set_opaque(conf.get(), impl.get());
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof(err));
  if (!rk) return Status::Fatal(std::string("kafka consumer: ") + err);
  conf.release();
  impl->rk.reset(rk);
  rd_kafka_poll_set_consumer(rk);
  TplHandle topics(rd_kafka_topic_partition_list_new(static_cast<int>(options.topics.size())));
  for (const auto& t : options.topics)
    rd_kafka_topic_partition_list_add(topics.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  if (auto e = rd_kafka_subscribe(rk, topics.get()))
    return Status::Fatal(std::string("kafka subscribe: ") + rd_kafka_err2str(e));
  return std::unique_ptr<ConsumerRunner>(new ConsumerRunner(std::move(impl)));
}

int ConsumerRunner::AssignedPartitions() const { return impl_->assigned.load(); }

Status ConsumerRunner::Run(MessageHandler& handler, const std::atomic<bool>& stop) {
  auto& d = *impl_;
  d.logger->info(
      "consuming {} as group {}",
      [&] {
        std::string s;
        for (const auto& t : d.options.topics) s += (s.empty() ? "" : ",") + t;
        return s;
      }(),
      d.options.group_id);
  Status result = Status::Ok();
  while (!stop.load()) {
    d.ResumeDue();
    std::vector<InboundMessage> batch;
    if (Status s = d.Poll(batch); !s.ok()) {
      result = s;
      break;
    }
    if (batch.empty()) continue;

    auto started = Clock::now();
    std::vector<Status> results;
    try {
      results = handler.HandleBatch(batch);
    } catch (const std::exception& e) {
      // A batch handler that throws: handle the batch message by message to find the culprit.
      d.logger->error("batch handler exception, handling the {} message(s) one by one: {}", batch.size(), e.what());
      results = HandleEach(handler, batch);
    }
    double per_message = std::chrono::duration<double>(Clock::now() - started).count() /
                         static_cast<double>(batch.size());

    std::vector<MessagePosition> positions;
    positions.reserve(batch.size());
    for (const auto& m : batch) positions.push_back({{m.topic, m.partition}, m.offset});
    RetryPolicy policy{d.options.max_attempts, d.options.retry_initial, d.options.retry_max};
    BatchPlan plan = PlanBatch(positions, results, d.retry, policy);
    if (std::set<size_t> unpublished = d.PublishDeadLetters(batch, plan); !unpublished.empty())
      plan = PlanBatch(positions, results, d.retry, policy, unpublished);

    for (size_t i = 0; i < batch.size(); ++i) {
      if (plan.steps[i] == Step::kSkip) continue;
      const Status& s = i < results.size() ? results[i] : Status::Ok();
      d.Consumed(batch[i].topic, s.ok()         ? "ok"
                                 : s.invalid()  ? "invalid"
                                 : s.internal() ? "internal"
                                 : s.transient() ? "retry"
                                                 : "fatal")
          .Inc();
      d.HandlerDuration(batch[i].topic).Observe(per_message);
      if (plan.steps[i] == Step::kStop)
        d.logger->error("fatal error handling {}[{}]@{}: {}", batch[i].topic, batch[i].partition, batch[i].offset,
                        s.message());
    }
    for (const auto& r : plan.retries) d.PauseAndRewind(r);
    std::map<std::pair<std::string, int32_t>, int64_t> commit;
    for (const auto& [tp, off] : plan.commit) commit[{tp.topic, tp.partition}] = off;
    d.retry = std::move(plan.states);
    d.Commit(commit, /*sync=*/true);
    if (plan.stop) {
      result = *plan.stop;
      break;
    }
  }
  d.logger->info("stopping: committing and leaving the group");
  rd_kafka_consumer_close(d.rk.get());
  d.rk.reset();
  return result;
}

namespace {
std::atomic<bool> g_stop{false};
void OnStopSignal(int) { g_stop.store(true); }
}  // namespace

const std::atomic<bool>& InstallStopSignals() {
  static bool installed = [] {
    struct sigaction sa {};
    sa.sa_handler = OnStopSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    return true;
  }();
  (void)installed;
  return g_stop;
}

}  // namespace sre
