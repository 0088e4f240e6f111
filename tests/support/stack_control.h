#pragma once
// A native stack of a test's own, for tests that stop its services (the outage drill): runs
// infra/local/stack.sh from SRE_SOURCE_DIR on a state directory the test chooses, with the
// sre-devbroker of SRE_BIN_DIR. Not the ctest fixture's stack, which other tests share.
#include <string>
#include <vector>

#include "tests/support/test_stack.h"

namespace sre::testing {

class OwnStack {
 public:
  // Nothing is started until Up().
  explicit OwnStack(std::string dir);
  // Takes the stack down if Up() was called (Down(purge_on_destruction)).
  ~OwnStack();
  OwnStack(const OwnStack&) = delete;
  OwnStack& operator=(const OwnStack&) = delete;

  // `stack.sh up --dir DIR --any-ports --fresh --devbroker BIN/sre-devbroker`; true when it exited
  // 0. `output` gets what the script printed.
  bool Up(std::string* output = nullptr);
  // `stack.sh down --dir DIR` (with --purge: DIR deleted too). Safe to call more than once.
  void Down(bool purge);
  // `stack.sh COMMAND NAME --dir DIR`, e.g. ("stop-service", "redis"), ("pause-service",
  // "devbroker"); true when the script exited 0, `output` gets what it printed.
  bool Service(const std::string& command, const std::string& name, std::string* output = nullptr);
  // DIR/stack.env as written by Up().
  StackEnv env() const;
  const std::string& dir() const { return dir_; }
  // Whether the destructor deletes DIR (default true); keep it to read the services' logs.
  void set_purge_on_destruction(bool purge) { purge_on_destruction_ = purge; }

 private:
  int Run(const std::vector<std::string>& args, std::string* output) const;

  std::string dir_, script_, devbroker_;
  bool up_ = false;
  bool purge_on_destruction_ = true;
};

}  // namespace sre::testing
