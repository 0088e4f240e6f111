#include "tests/support/stack_control.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

namespace sre::testing {

OwnStack::OwnStack(std::string dir) : dir_(std::move(dir)) {
  const char* source = std::getenv("SRE_SOURCE_DIR");
  const char* bin = std::getenv("SRE_BIN_DIR");
  script_ = std::string(source ? source : ".") + "/infra/local/stack.sh";
  devbroker_ = std::string(bin ? bin : "./bin") + "/sre-devbroker";
}

OwnStack::~OwnStack() {
  if (up_) Down(purge_on_destruction_);
}

bool OwnStack::Up(std::string* output) {
  up_ = true;
  return Run({"up", "--dir", dir_, "--any-ports", "--fresh", "--devbroker", devbroker_}, output) ==
         0;
}

void OwnStack::Down(bool purge) {
  std::vector<std::string> args = {"down", "--dir", dir_};
  if (purge) args.push_back("--purge");
  Run(args, nullptr);
  up_ = false;
}

bool OwnStack::Service(const std::string& command, const std::string& name, std::string* output) {
  return Run({command, name, "--dir", dir_}, output) == 0;
}

StackEnv OwnStack::env() const { return LoadStackEnv(dir_ + "/stack.env"); }

int OwnStack::Run(const std::vector<std::string>& args, std::string* output) const {
  // The script starts long-lived services in the background: they must not inherit a pipe (the
  // read would wait for them) nor any other descriptor of the test, so output goes to a file.
  char path[] = "/tmp/sre-stack-sh.XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return -1;
  std::vector<std::string> argv_s = {"/bin/bash", script_};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY);
    dup2(in, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    close_range(3, ~0U, 0);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fd);
  int status = 0;
  if (pid > 0) waitpid(pid, &status, 0);
  if (output) {
    std::ifstream f(path);
    output->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  unlink(path);
  if (pid < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace sre::testing
