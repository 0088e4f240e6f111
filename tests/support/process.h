#pragma once
// Runs the real executables for end-to-end tests: fork/exec with extra environment variables,
// output to a log file, SIGTERM (then SIGKILL) on Stop() or destruction.
#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace sre::testing {

class Process {
 public:
  Process(std::string name, std::string exe, std::vector<std::string> args, std::map<std::string, std::string> env,
          std::string log_path);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  void Start();
  bool Running();
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit code (-signal when killed).
  int Stop(std::chrono::milliseconds grace = std::chrono::seconds(15));
  // SIGKILL at once: a crash.
  void Kill();
  const std::string& name() const { return name_; }
  const std::string& log_path() const { return log_path_; }

 private:
  std::string name_, exe_;
  std::vector<std::string> args_;
  std::map<std::string, std::string> env_;
  std::string log_path_;
  pid_t pid_ = -1;
};

// Runs a command to completion; returns its exit code and output.
int RunToCompletion(const std::string& exe, const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env, std::string* output);

// A TCP port nothing listens on right now.
int FreePort();

}  // namespace sre::testing
