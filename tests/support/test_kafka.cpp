#include "tests/support/test_kafka.h"

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <memory>

namespace sre::testing {
namespace {

rd_kafka_t* NewConsumer(const std::string& bootstrap, const std::string& group) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof(err));
  rd_kafka_conf_set(conf, "group.id", group.c_str(), err, sizeof(err));
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (rk) rd_kafka_poll_set_consumer(rk);
  return rk;
}

}  // namespace

std::vector<InboundMessage> ReadAll(const std::string& bootstrap, const std::string& topic) {
  std::vector<InboundMessage> out;
  rd_kafka_t* rk = NewConsumer(bootstrap, "sre-test-reader");
  if (!rk) return out;
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  int partitions = 0;
  if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1)
    partitions = md->topics[0].partition_cnt;
  if (md) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  int64_t remaining = 0;
  for (int p = 0; p < partitions; ++p) {
    int64_t lo = 0, hi = 0;
    rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &lo, &hi, 5000);
    remaining += hi - lo;
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (remaining > 0 && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 200);
    if (!m) continue;
    if (!m->err) {
      InboundMessage in;
      in.topic = topic;
      in.partition = m->partition;
      in.offset = m->offset;
      if (m->key) in.key.assign(static_cast<const char*>(m->key), m->key_len);
      if (m->payload) in.payload.assign(static_cast<const char*>(m->payload), m->len);
      out.push_back(std::move(in));
      --remaining;
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return out;
}

int64_t CommittedOffset(const std::string& bootstrap, const std::string& group,
                        const std::string& topic, int32_t partition) {
  rd_kafka_t* rk = NewConsumer(bootstrap, group);
  if (!rk) return -2;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), partition);
  int64_t offset = -2;
  if (rd_kafka_committed(rk, list, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR)
    offset = list->elems[0].offset < 0 ? -1 : list->elems[0].offset;
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_destroy(rk);
  return offset;
}

int64_t GroupLag(const std::string& bootstrap, const std::string& group, const std::string& topic) {
  rd_kafka_t* rk = NewConsumer(bootstrap, group);
  if (!rk) return -1;
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  int partitions = -1;
  if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
      !md->topics[0].err)
    partitions = md->topics[0].partition_cnt;
  if (md) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  int64_t lag = partitions < 0 ? -1 : 0;
  if (partitions > 0) {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(list, topic.c_str(), p);
    if (rd_kafka_committed(rk, list, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      lag = -1;
    } else {
      for (int p = 0; p < partitions && lag >= 0; ++p) {
        int64_t lo = 0, hi = 0;
        if (rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &lo, &hi, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
          lag = -1;
          break;
        }
        int64_t committed = list->elems[p].offset;
        lag += hi - (committed < 0 ? lo : committed);
      }
    }
    rd_kafka_topic_partition_list_destroy(list);
  }
  rd_kafka_destroy(rk);
  return lag;
}

}  // namespace sre::testing
