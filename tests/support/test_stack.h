#pragma once
// Access to the native stack the CTest fixture started (tests/CMakeLists.txt): reads the
// stack.env file named by SRE_STACK_ENV. Tests skip with a clear message when it is absent
// (running a test binary by hand without the fixture).
#include <chrono>
#include <functional>
#include <string>

namespace sre::testing {

struct StackEnv {
  std::string kafka_bootstrap, redis_url, database_url, smtp_url, maildev_url;
  std::string kafka_fetch_wait_max_ms;  // KAFKA_FETCH_WAIT_MAX_MS of the stack, may be empty
};

// Loads the stack environment; empty optional-like (kafka_bootstrap empty) when not available.
const StackEnv& Stack();
// The stack environment written by `infra/local/stack.sh up` to `path` (a stack a test started
// itself); empty kafka_bootstrap when unreadable.
StackEnv LoadStackEnv(const std::string& path);
// A name unique to this test process ("t<pid>-<counter>-<suffix>").
std::string Unique(const std::string& suffix);
// Polls `condition` until true or timeout; returns the final result.
bool Eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(30),
                std::chrono::milliseconds every = std::chrono::milliseconds(50));

}  // namespace sre::testing

#define SRE_REQUIRE_STACK()                                                       \
  do {                                                                            \
    if (::sre::testing::Stack().kafka_bootstrap.empty())                          \
      GTEST_SKIP() << "no native stack (SRE_STACK_ENV unset); run through ctest"; \
  } while (0)
