#include "shared/postgres.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "shared/ids.h"
#include "tests/support/test_stack.h"

namespace sre {
namespace {

TEST(PostgresIntegrationTest, MigrationsRunTwiceAndConcurrentlyWithoutError) {
  SRE_REQUIRE_STACK();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0}, applied{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      Database db(testing::Stack().database_url);
      auto r = db.Migrate();
      if (!r.ok()) {
        ADD_FAILURE() << r.status().message();
        ++failures;
      } else {
        applied += *r;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  Database db(testing::Stack().database_url);
  auto again = db.Migrate();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
  int64_t rows = -1;
  ASSERT_TRUE(db.Transact([&](pqxx::work& tx) {
                  rows = tx.exec1("SELECT count(*) FROM schema_migrations")[0].as<int64_t>();
                  return Status::Ok();
                }).ok());
  EXPECT_EQ(rows, static_cast<int64_t>(EmbeddedMigrations().size()));
  // Every table of ARCHITECTURE §5 exists.
  for (const char* table : {"incidents", "agent_events", "emails", "processed_events",
                            "knowledge_documents", "knowledge_chunks"}) {
    ASSERT_TRUE(db.Transact([&](pqxx::work& tx) {
                    tx.exec(std::string("SELECT 1 FROM ") + table + " LIMIT 1");
                    return Status::Ok();
                  }).ok())
        << table;
  }
}

TEST(PostgresIntegrationTest, ProcessOnceRunsTheEffectOnceAndReturnsStoredOutputs) {
  SRE_REQUIRE_STACK();
  Database db(testing::Stack().database_url);
  ASSERT_TRUE(db.Migrate().ok());
  std::string incident = NewUuid(), event = NewUuid();
  int calls = 0;
  auto fn = [&](pqxx::work& tx) -> Expected<std::vector<OutboundMessage>> {
    ++calls;
    RecordAgentEvent(tx, incident, "test", "EFFECT", Json{{"n", calls}}, 1763892000000);
    return std::vector<OutboundMessage>{
        {"incidents.resolved", incident, "{\"event_id\":\"" + NewUuid() + "\"}"}};
  };
  auto first = ProcessOnce(db, "sre-test", event, fn);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(first->fresh);
  auto second = ProcessOnce(db, "sre-test", event, fn);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->fresh);
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(second->outputs.size(), 1u);
  EXPECT_EQ(second->outputs[0].payload, first->outputs[0].payload);
  EXPECT_EQ(second->outputs[0].key, incident);
  // Another consumer processes the same event independently.
  auto other = ProcessOnce(db, "sre-other", event, fn);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->fresh);
  EXPECT_EQ(calls, 2);
}

TEST(PostgresIntegrationTest, ConcurrentDuplicatesRunTheEffectExactlyOnce) {
  SRE_REQUIRE_STACK();
  std::string event = NewUuid();
  std::atomic<int> calls{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      Database db(testing::Stack().database_url);
      auto r = ProcessOnce(db, "sre-race", event,
                           [&](pqxx::work&) -> Expected<std::vector<OutboundMessage>> {
                             ++calls;
                             std::this_thread::sleep_for(std::chrono::milliseconds(100));
                             return std::vector<OutboundMessage>{{"t", "k", "p"}};
                           });
      EXPECT_TRUE(r.ok());
      if (r.ok()) {
        EXPECT_EQ(r->outputs.size(), 1u);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(calls.load(), 1);
}

TEST(PostgresIntegrationTest, FailedEffectRollsBackTheClaim) {
  SRE_REQUIRE_STACK();
  Database db(testing::Stack().database_url);
  std::string event = NewUuid();
  auto failed =
      ProcessOnce(db, "sre-test", event, [](pqxx::work&) -> Expected<std::vector<OutboundMessage>> {
        return Status::Transient("smtp down");
      });
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(failed.status().transient());
  int calls = 0;
  auto retried = ProcessOnce(db, "sre-test", event,
                             [&](pqxx::work&) -> Expected<std::vector<OutboundMessage>> {
                               ++calls;
                               return std::vector<OutboundMessage>{};
                             });
  ASSERT_TRUE(retried.ok());
  EXPECT_TRUE(retried->fresh);
  EXPECT_EQ(calls, 1);
}

TEST(PostgresIntegrationTest, UnreachableDatabaseIsTransientAndSqlErrorsAreNot) {
  SRE_REQUIRE_STACK();
  Database down("postgresql://sre:sre@127.0.0.1:1/sre");
  Status s = down.Transact([](pqxx::work&) { return Status::Ok(); });
  EXPECT_TRUE(s.transient()) << s.ToString();
  EXPECT_NE(down.Ping(), "");

  Database db(testing::Stack().database_url);
  EXPECT_EQ(db.Ping(), "");
  Status bad = db.Transact([](pqxx::work& tx) {
    tx.exec("SELECT * FROM no_such_table");
    return Status::Ok();
  });
  EXPECT_TRUE(bad.internal()) << bad.ToString();
}

// Issue 14: what one bad value does to a statement is the input's problem (Invalid, dead-lettered),
// not a reason to stop; lost credentials stop the process.
TEST(PostgresIntegrationTest, ErrorClassesOfRealServerErrors) {
  SRE_REQUIRE_STACK();
  Database db(testing::Stack().database_url);
  Status nul = db.Transact([](pqxx::work& tx) {
    tx.exec_params("SELECT $1::jsonb", std::string(R"({"message": "a\u0000b"})"));
    return Status::Ok();
  });
  EXPECT_TRUE(nul.invalid()) << nul.ToString();
  Status range = db.Transact([](pqxx::work& tx) {
    tx.exec_params("SELECT to_timestamp($1::double precision / 1000.0)", int64_t{9300000000000000});
    return Status::Ok();
  });
  EXPECT_TRUE(range.invalid()) << range.ToString();
  Status thrown = db.Transact([](pqxx::work&) -> Status { throw std::runtime_error("boom"); });
  EXPECT_TRUE(thrown.internal()) << thrown.ToString();
  EXPECT_EQ(db.Ping(), "");  // the connection survived all three

  std::string url = testing::Stack().database_url;
  auto at = url.find('@');
  Database wrong(url.substr(0, url.rfind(':', at) + 1) + "not-the-password" + url.substr(at));
  Status denied = wrong.Transact([](pqxx::work&) { return Status::Ok(); });
  EXPECT_TRUE(denied.fatal()) << denied.ToString();
}

}  // namespace
}  // namespace sre
