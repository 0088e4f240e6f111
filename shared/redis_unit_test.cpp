#include <gtest/gtest.h>

#include <bit>
#include <cstring>

#include "shared/redis.h"
#include "shared/redis_keys.h"

namespace sre {
namespace {

TEST(RedisUrlTest, ParsesHostPortDbAndPassword) {
  struct Case {
    std::string url, host;
    int port, db;
    std::string password;
  } cases[] = {
      {"redis://localhost:6379/0", "localhost", 6379, 0, ""},
      {"redis://cache", "cache", 6379, 0, ""},
      {"redis://:pw@10.0.0.1:7000/3", "10.0.0.1", 7000, 3, "pw"},
      {"redis://user:pw@h:1/", "h", 1, 0, "pw"},
  };
  for (const auto& c : cases) {
    auto o = ParseRedisUrl(c.url);
    ASSERT_TRUE(o.ok()) << c.url << " " << o.status().message();
    EXPECT_EQ(o->host, c.host) << c.url;
    EXPECT_EQ(o->port, c.port) << c.url;
    EXPECT_EQ(o->db, c.db) << c.url;
    EXPECT_EQ(o->password, c.password) << c.url;
  }
}

TEST(RedisUrlTest, RejectsMalformedUrls) {
  for (std::string bad :
       {"http://x", "redis://", "redis://h:port", "redis://h:1/x", "redis://h:0"}) {
    auto o = ParseRedisUrl(bad);
    EXPECT_FALSE(o.ok()) << bad;
    EXPECT_TRUE(o.status().invalid()) << bad;
  }
}

TEST(RedisScriptTest, Sha1MatchesKnownVector) {
  EXPECT_EQ(Sha1Hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(RedisScript("return 1").sha1(), Sha1Hex("return 1"));
}


// Little-endian packed doubles, as the detection script's struct.pack('<d', ...) writes them.
std::string Packed(std::initializer_list<double> values) {
  std::string out;
  for (double v : values) keys::AppendPackedDouble(out, v);
  return out;
}

TEST(PackedDoubleTest, IsLittleEndianIeeeLikeLuaStructPack) {
  std::string one;
  keys::AppendPackedDouble(one, 1.0);  // 0x3FF0000000000000
  EXPECT_EQ(one, std::string("\x00\x00\x00\x00\x00\x00\xf0\x3f", 8));
  std::string blob = Packed({-2.5, 1e300, 0.1});
  ASSERT_EQ(blob.size(), 24u);
  EXPECT_EQ(keys::PackedDouble(blob, 0), -2.5);
  EXPECT_EQ(keys::PackedDouble(blob, 1), 1e300);
  EXPECT_EQ(keys::PackedDouble(blob, 2), 0.1);
}

TEST(SeriesWindowTest, DecodesTheBaselineFromThePackedHeader) {
  // 17 scalars (level 4 at [3], spread 1.5 at [4], 3 accepted at [6]), then the evidence ring
  // of 16 floats.
  std::string blob = Packed({7, 30000, 10000, 4, 1.5, 2.6, 3, 0, 0, 0, 0, 0, 0, -1, 0, 0, 1}) + std::string(64, '\0');
  auto s = keys::ParseSeriesWindow(blob);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->samples, 3);
  EXPECT_DOUBLE_EQ(s->mean, 4);
  EXPECT_DOUBLE_EQ(s->std, 1.5);
}

TEST(SeriesWindowTest, RejectsValuesThatAreNotAWindow) {
  EXPECT_FALSE(keys::ParseSeriesWindow("").has_value());
  EXPECT_FALSE(keys::ParseSeriesWindow("12.5").has_value());  // text, too short
  std::string header = Packed({7, 30000, 10000, 4, 1.5, 2.6, 3, 0, 0, 0, 0, 0, 0, -1, 0, 0, 1});
  EXPECT_FALSE(keys::ParseSeriesWindow(header).has_value());                          // truncated
  EXPECT_FALSE(keys::ParseSeriesWindow(Packed({12, 56, 3, 1, 30000, 4, 2, 4, 6, 50})).has_value());  // the former layout
  std::string empty = Packed({1, 30000, 30000, 0, 0, 2.6, 0, 0, 0, 0, 0, 0, 0, -1, 0, 0, 0}) + std::string(64, '\0');
  EXPECT_FALSE(keys::ParseSeriesWindow(empty).has_value());  // nothing accepted yet
}

}  // namespace
}  // namespace sre
