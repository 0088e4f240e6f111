#include <gtest/gtest.h>

#include "shared/postgres.h"

namespace sre {
namespace {

// Issue 14: what an SQL error means for the message being handled.
TEST(PostgresErrorTest, SqlStatesMapToTheConsumerPolicy) {
  struct Case {
    const char* state;
    ErrorKind kind;
  } cases[] = {
      {"08006", ErrorKind::kTransient},  // connection failure
      {"40001", ErrorKind::kTransient},  // serialization failure
      {"40P01", ErrorKind::kTransient},  // deadlock
      {"53100", ErrorKind::kTransient},  // disk full
      {"53200", ErrorKind::kTransient},  // out of memory
      {"53300", ErrorKind::kTransient},  // too many connections
      {"57014", ErrorKind::kTransient},  // query cancelled
      {"57P01", ErrorKind::kTransient},  // admin shutdown
      {"57P03", ErrorKind::kTransient},  // cannot connect now (starting up)
      {"58030", ErrorKind::kTransient},  // I/O error
      {"55P03", ErrorKind::kTransient},  // lock not available
      {"25006", ErrorKind::kTransient},  // read-only transaction (after a failover)
      {"22P05", ErrorKind::kInvalid},    // NUL in JSONB
      {"22008", ErrorKind::kInvalid},    // timestamp out of range
      {"22021", ErrorKind::kInvalid},    // invalid byte sequence
      {"28P01", ErrorKind::kFatal},      // wrong password
      {"3D000", ErrorKind::kFatal},      // no such database
      {"42501", ErrorKind::kFatal},      // privileges revoked
      {"23505", ErrorKind::kInternal},   // unique violation
      {"42P01", ErrorKind::kInternal},   // no such table
      {"P0001", ErrorKind::kInternal},   // raised by a trigger
  };
  for (const auto& c : cases) {
    Status s = ClassifySqlState(c.state, std::string("ERROR: something \xFF") + std::string(5000, 'x'));
    ASSERT_FALSE(s.ok()) << c.state;
    EXPECT_EQ(s.kind(), c.kind) << c.state << ": " << s.ToString();
    EXPECT_LE(s.message().size(), 1100u) << "the error text is bounded";
    EXPECT_TRUE(IsValidUtf8(s.message()));
  }
}

}  // namespace
}  // namespace sre
