#include <gtest/gtest.h>

#include "shared/kafka.h"

namespace sre {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, DoublesUpToTheCap) {
  EXPECT_EQ(Backoff(0, milliseconds(200), milliseconds(5000)), milliseconds(200));
  EXPECT_EQ(Backoff(1, milliseconds(200), milliseconds(5000)), milliseconds(400));
  EXPECT_EQ(Backoff(4, milliseconds(200), milliseconds(5000)), milliseconds(3200));
  EXPECT_EQ(Backoff(5, milliseconds(200), milliseconds(5000)), milliseconds(5000));
  EXPECT_EQ(Backoff(60, milliseconds(200), milliseconds(5000)), milliseconds(5000));
}

class ScriptedHandler : public MessageHandler {
 public:
  std::vector<int64_t> handled;
  Status Handle(const InboundMessage& m) override {
    handled.push_back(m.offset);
    if (m.payload == "transient") return Status::Transient("down");
    if (m.payload == "bad") return Status::Invalid("bad");
    return Status::Ok();
  }
};

TEST(MessageHandlerTest, DefaultBatchStopsAPartitionAfterATransientFailure) {
  std::vector<InboundMessage> batch = {{"t", 0, 10, "", "ok"},
                                       {"t", 0, 11, "", "transient"},
                                       {"t", 1, 5, "", "bad"},
                                       {"t", 0, 12, "", "ok"},
                                       {"t", 1, 6, "", "ok"}};
  ScriptedHandler h;
  auto results = h.HandleBatch(batch);
  ASSERT_EQ(results.size(), 5u);
  EXPECT_TRUE(results[0].ok());
  EXPECT_TRUE(results[1].transient());
  EXPECT_TRUE(results[2].invalid());
  EXPECT_TRUE(results[3].transient());  // not handled: partition 0 is being retried
  EXPECT_TRUE(results[4].ok());
  EXPECT_EQ(h.handled, (std::vector<int64_t>{10, 11, 5, 6}));
}

}  // namespace
}  // namespace sre
