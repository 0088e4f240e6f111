#pragma once
// The plumbing the HTTP test doubles share. Header-only on purpose: it is compiled into both
// sre_test_support and sre_fake_llm (shared/llm), and neither library links the other. Include it
// from .cpp files only, so test headers stay free of <httplib.h>.
#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>

namespace sre::testing {

// A cpp-httplib server for test doubles on 127.0.0.1 and a port the OS picks, serving on its own
// thread. Idle keep-alive connections are closed after 1 s (so Stop() is quick) and TCP_NODELAY is
// set (no Nagle + delayed-ACK stalls between header and body writes). Add handlers to routes()
// before Start(); Start() and Stop() are called from one thread, handlers run on the server's.
class LocalHttpServer {
 public:
  // `name` only labels the abort message.
  explicit LocalHttpServer(std::string name) : name_(std::move(name)) {
    server_.set_keep_alive_timeout(1);
    server_.set_tcp_nodelay(true);
  }
  ~LocalHttpServer() { Stop(); }
  LocalHttpServer(const LocalHttpServer&) = delete;
  LocalHttpServer& operator=(const LocalHttpServer&) = delete;

  httplib::Server& routes() { return server_; }

  // Binds (aborting the test binary with "<name>: cannot bind 127.0.0.1" if it cannot), serves on
  // a new thread, and returns once the server is running.
  void Start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) {
      std::fprintf(stderr, "%s: cannot bind 127.0.0.1\n", name_.c_str());
      std::abort();
    }
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op until the listen loop runs; wait for it so Stop() always works.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  // Stops serving and joins the thread; idempotent.
  void Stop() {
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }

  // The bound port; -1 before Start().
  int port() const { return port_; }

 private:
  std::string name_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = -1;
};

}  // namespace sre::testing
