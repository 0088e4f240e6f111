#include "shared/redis.h"

#include <gtest/gtest.h>

#include "tests/support/test_stack.h"

namespace sre {
namespace {

RedisClient Client() { return RedisClient(*ParseRedisUrl(testing::Stack().redis_url)); }

TEST(RedisIntegrationTest, ScriptsRunByShaAndReloadAfterFlush) {
  SRE_REQUIRE_STACK();
  RedisClient c = Client();
  ASSERT_EQ(c.Ping(), "");
  RedisScript script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  std::string key = testing::Unique("script");
  auto r = c.Eval(script, {key}, {"5"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->integer, 5);
  ASSERT_TRUE(c.Command({"SCRIPT", "FLUSH"}).ok());
  auto again = c.Eval(script, {key}, {"2"});  // NOSCRIPT → SCRIPT LOAD → retried
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->type, RedisReply::Type::kInteger) << again->str;
  EXPECT_EQ(again->integer, 7);
}

TEST(RedisIntegrationTest, PipelineReturnsRepliesInOrder) {
  SRE_REQUIRE_STACK();
  RedisClient c = Client();
  std::string key = testing::Unique("pipe");
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < 1000; ++i) cmds.push_back({"RPUSH", key, std::to_string(i)});
  cmds.push_back({"LRANGE", key, "998", "-1"});
  auto r = c.Pipeline(cmds);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1001u);
  EXPECT_EQ((*r)[999].integer, 1000);
  ASSERT_EQ(r->back().elements.size(), 2u);
  EXPECT_EQ(r->back().elements[1].str, "999");
}

TEST(RedisIntegrationTest, EvalStreamRepliesInOrderAcrossFlushesAndReloadsTheScript) {
  SRE_REQUIRE_STACK();
  RedisClient c = Client();
  RedisScript script("return redis.call('RPUSH', KEYS[1], ARGV[1])");
  std::string key = testing::Unique("stream");
  ASSERT_TRUE(c.Command({"SCRIPT", "FLUSH"}).ok());  // every call first meets NOSCRIPT
  EvalStream stream(c, script, 7);                   // flushed every 7 calls
  for (int i = 0; i < 100; ++i) stream.Add({{key}, {std::to_string(i)}});
  EXPECT_EQ(stream.size(), 100u);
  auto r = stream.Finish();
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ((*r)[static_cast<size_t>(i)].integer, i + 1) << i;
  auto list = c.Command({"LRANGE", key, "0", "-1"});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->elements.size(), 100u);  // each call ran exactly once
  EXPECT_EQ(list->elements[42].str, "42");
}

TEST(RedisIntegrationTest, AbandonedEvalStreamDoesNotLeaveRepliesForTheNextCommand) {
  SRE_REQUIRE_STACK();
  RedisClient c = Client();
  RedisScript script("return 'from-the-stream'");
  ASSERT_TRUE(c.Eval(script, {}, {}).ok());
  {
    EvalStream stream(c, script, 1);  // written out at once, never read
    stream.Add({{}, {}});
    stream.Add({{}, {}});
  }
  auto pong = c.Command({"PING"});
  ASSERT_TRUE(pong.ok()) << pong.status().message();
  EXPECT_EQ(pong->str, "PONG");
}

TEST(RedisIntegrationTest, ReconnectsAfterTheServerDropsTheConnection) {
  SRE_REQUIRE_STACK();
  RedisClient c = Client();
  auto id = c.Command({"CLIENT", "ID"});
  ASSERT_TRUE(id.ok());
  RedisClient admin = Client();
  ASSERT_TRUE(admin.Command({"CLIENT", "KILL", "ID", std::to_string(id->integer)}).ok());
  auto failed = c.Command({"PING"});
  EXPECT_FALSE(failed.ok());
  EXPECT_TRUE(failed.status().transient());
  auto recovered = c.Command({"PING"});
  ASSERT_TRUE(recovered.ok()) << recovered.status().message();
  EXPECT_EQ(recovered->str, "PONG");
}

TEST(RedisIntegrationTest, UnreachableServerIsTransient) {
  RedisOptions o;
  o.host = "127.0.0.1";
  o.port = 1;  // nothing listens on port 1
  RedisClient c(o);
  auto r = c.Command({"PING"});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().transient()) << r.status().ToString();
}

}  // namespace
}  // namespace sre
