#include "tests/support/test_stack.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "shared/config.h"

namespace sre::testing {

StackEnv LoadStackEnv(const std::string& path) {
  StackEnv e;
  std::ifstream f(path);
  if (!f) return e;
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto vars = ParseDotEnv(text);
  e.kafka_bootstrap = vars["KAFKA_BOOTSTRAP_SERVERS"];
  e.redis_url = vars["REDIS_URL"];
  e.database_url = vars["DATABASE_URL"];
  e.smtp_url = vars["SMTP_URL"];
  e.maildev_url = vars["MAILDEV_URL"];
  e.kafka_fetch_wait_max_ms = vars["KAFKA_FETCH_WAIT_MAX_MS"];
  return e;
}

const StackEnv& Stack() {
  static const StackEnv env = [] {
    const char* path = std::getenv("SRE_STACK_ENV");
    return path ? LoadStackEnv(path) : StackEnv{};
  }();
  return env;
}

std::string Unique(const std::string& suffix) {
  static std::atomic<int> counter{0};
  // Appended piece by piece: GCC 12 at -O2 reports a false -Wrestrict on "t" + std::string.
  std::string out = "t";
  out.append(std::to_string(getpid())).append("-").append(std::to_string(counter++)).append("-").append(suffix);
  return out;
}

bool Eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(every);
  }
  return condition();
}

}  // namespace sre::testing
