#pragma once
// Kafka helpers for tests, outside the product's runner: read a whole topic, and ask the broker
// for a group's committed offset.
#include <cstdint>
#include <string>
#include <vector>

#include "shared/kafka.h"

namespace sre::testing {

// Every message currently in `topic` (all partitions, from the beginning).
std::vector<InboundMessage> ReadAll(const std::string& bootstrap, const std::string& topic);
// The committed offset of `group` for topic/partition; -1 when none.
int64_t CommittedOffset(const std::string& bootstrap, const std::string& group,
                        const std::string& topic, int32_t partition);
// Messages of `topic` that `group` has not committed yet, over every partition (high watermark
// minus committed offset, or minus the low watermark where the group committed nothing); -1 when
// the broker does not answer.
int64_t GroupLag(const std::string& bootstrap, const std::string& group, const std::string& topic);

}  // namespace sre::testing
