#include "tools/mutate/mutator.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "shared/messages.h"

namespace sre::mutate {
namespace {

constexpr uint64_t kSeed = 20261204;
constexpr uint64_t kMessages = 3000;

TEST(MutatorTest, SeedsAreValidMessagesOnMutantServices) {
  for (const auto& topic : InputTopics()) {
    for (uint64_t n = 0; n < 40; ++n) {
      std::string seed = SeedPayload(topic, kSeed, n);
      auto error = DecodeError(topic, seed);
      ASSERT_FALSE(error) << topic << ": " << *error << "\n" << seed;
      Json j = Json::parse(seed);
      for (const char* field : {"source_service", "service"}) {
        if (j.contains(field)) {
          EXPECT_EQ(j[field].get<std::string>().rfind("mutant-svc-", 0), 0u);
        }
      }
    }
  }
}

TEST(MutatorTest, SameSeedSameMessagesOtherSeedOthers) {
  int same = 0;
  for (uint64_t n = 0; n < 200; ++n) {
    Mutant a = Generate(kSeed, n), b = Generate(kSeed, n), c = Generate(kSeed + 1, n);
    EXPECT_EQ(a.payload, b.payload);
    EXPECT_EQ(a.mutation, b.mutation);
    EXPECT_EQ(a.topic, c.topic);
    same += a.payload == c.payload;
  }
  EXPECT_LT(same, 20);  // only empty payloads and a few fixed texts coincide
}

TEST(MutatorTest, EveryTopicAndMutationOccursEvenly) {
  std::map<std::string, int> topics, mutations;
  for (uint64_t n = 0; n < kMessages; ++n) {
    Mutant m = Generate(kSeed, n);
    ++topics[m.topic];
    ++mutations[m.mutation];
  }
  ASSERT_EQ(topics.size(), InputTopics().size());
  for (const auto& [t, count] : topics) EXPECT_NEAR(count, kMessages / 9.0, 1) << t;
  ASSERT_EQ(mutations.size(), MutationNames().size());
  for (const auto& name : MutationNames()) EXPECT_GT(mutations[name], 10) << name;
}

// Each mutation does what its name says, checked on the bytes.
TEST(MutatorTest, MutationsDoWhatTheirNamesSay) {
  for (uint64_t n = 0; n < kMessages; ++n) {
    Mutant m = Generate(kSeed, n);
    const std::string seed = SeedPayload(m.topic, kSeed, n);
    SCOPED_TRACE(m.topic + " " + m.mutation + " #" + std::to_string(n));
    if (m.mutation == "empty") {
      EXPECT_TRUE(m.payload.empty());
    } else if (m.mutation == "truncate") {
      EXPECT_LT(m.payload.size(), seed.size());
      EXPECT_EQ(seed.compare(0, m.payload.size(), m.payload), 0);
    } else if (m.mutation == "bit_flip") {
      EXPECT_EQ(m.payload.size(), seed.size());
    } else if (m.mutation == "nul_char") {
      EXPECT_NE(m.payload.find("\\u0000"), std::string::npos);
    } else if (m.mutation == "bad_utf8") {
      EXPECT_FALSE(IsValidUtf8(m.payload));
    } else if (m.mutation == "huge_string") {
      EXPECT_GT(m.payload.size(), 64u * 1024);
      EXPECT_LT(m.payload.size(), kMaxHugeStringBytes + seed.size());
      EXPECT_TRUE(IsValidUtf8(m.payload));
    } else if (m.mutation == "deep_nesting") {
      EXPECT_TRUE(m.payload.find("[[[[[[[[") != std::string::npos ||
                  m.payload.find(R"({"a":{"a":{"a":{"a":)") != std::string::npos);
    } else if (m.mutation == "missing_field") {
      EXPECT_LT(m.payload.size(), seed.size());
    }
  }
}

// What the report calls malformed is exactly what the agents' decoder rejects, and a run has both.
TEST(MutatorTest, MalformedIsTheAgentsVerdict) {
  std::map<bool, int> verdicts;
  for (uint64_t n = 0; n < kMessages; ++n) {
    Mutant m = Generate(kSeed, n);
    bool malformed = DecodeError(m.topic, m.payload).has_value();
    ++verdicts[malformed];
    if (m.topic == topics::kRawMetrics) {
      EXPECT_EQ(malformed, !Decode<RawMetric>(m.payload).ok());
    }
    if (m.topic == topics::kRcaCompleted) {
      EXPECT_EQ(malformed, !Decode<RcaCompleted>(m.payload).ok());
    }
    if (m.mutation == "empty" || m.mutation == "truncate") {
      EXPECT_TRUE(malformed) << m.payload;
    }
  }
  EXPECT_GT(verdicts[true], static_cast<int>(kMessages / 2));
  EXPECT_GT(verdicts[false], static_cast<int>(kMessages / 20));
  EXPECT_EQ(DecodeError("sim.ground_truth", "{}"), "not an input topic: sim.ground_truth");
}

}  // namespace
}  // namespace sre::mutate
