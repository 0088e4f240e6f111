#include <gtest/gtest.h>

#include "shared/redis.h"

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

}  // namespace
}  // namespace sre
