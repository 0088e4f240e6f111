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
  // window {2, 4, 6}, a breaching run of one sample (50), newest ts 30000, 4 samples seen
  std::string blob = Packed({12, 56, 3, 1, 30000, 4, 2, 4, 6, 50});
  auto s = keys::ParseSeriesWindow(blob);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->samples, 3);
  EXPECT_DOUBLE_EQ(s->mean, 4);
  EXPECT_NEAR(s->std, std::sqrt(8.0 / 3.0), 1e-12);
}

TEST(SeriesWindowTest, RejectsValuesThatAreNotAWindow) {
  EXPECT_FALSE(keys::ParseSeriesWindow("").has_value());
  EXPECT_FALSE(keys::ParseSeriesWindow("12.5").has_value());                           // text, too short
  EXPECT_FALSE(keys::ParseSeriesWindow(Packed({12, 56, 3, 1, 30000, 4, 2, 4})).has_value());  // truncated
  EXPECT_FALSE(keys::ParseSeriesWindow(Packed({0, 0, 0, 0, 30000, 1})).has_value());          // empty window
}

}  // namespace
}  // namespace sre
