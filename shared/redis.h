#pragma once
// Redis through hiredis, behind an owner that hides the C handle.
//   - Connects lazily from a redis:// URL (host, port, /db, optional :password@), with timeouts.
//   - Any I/O error drops the connection and returns Status::Transient; the next call reconnects.
//   - Scripts run by EVALSHA, falling back to SCRIPT LOAD on NOSCRIPT (e.g. after a restart).
//   - Pipeline() sends many commands in one round trip; EvalStream sends script calls while the
//     caller is still preparing the next ones, so Redis and the caller work at the same time.
// Not thread-safe: one RedisClient per thread.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "shared/status.h"

namespace sre {

struct RedisReply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  int64_t integer = 0;
  std::string str;  // kString, kStatus, kError
  std::vector<RedisReply> elements;

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
};

struct RedisOptions {
  std::string host = "localhost";
  int port = 6379;
  int db = 0;
  std::string password;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{5000};
};

// Parses redis://[:password@]host[:port][/db]. Status::Invalid on a malformed URL.
Expected<RedisOptions> ParseRedisUrl(const std::string& url);

class RedisScript {
 public:
  explicit RedisScript(std::string source);
  const std::string& source() const { return source_; }
  const std::string& sha1() const { return sha1_; }

 private:
  std::string source_, sha1_;
};

class RedisClient;

using ScriptCall = std::pair<std::vector<std::string>, std::vector<std::string>>;  // KEYS, ARGV

// A pipeline of EVALSHA calls of one script that goes to the server as it is built: every
// `flush_every` calls the buffered commands are written out, so Redis executes them while the
// caller decodes and formats the next. Finish() writes the rest and reads every reply, in order;
// NOSCRIPT replies are retried once after SCRIPT LOAD. An I/O error drops the connection and is
// returned (Status::Transient) by Finish(). Uses its client exclusively until Finish().
class EvalStream {
 public:
  EvalStream(RedisClient& client, const RedisScript& script, size_t flush_every = 128);
  ~EvalStream();  // without Finish(), drops the connection (its replies would be read by the next command)
  EvalStream(const EvalStream&) = delete;
  EvalStream& operator=(const EvalStream&) = delete;
  void Add(ScriptCall call);
  size_t size() const { return calls_.size(); }
  Expected<std::vector<RedisReply>> Finish();

 private:
  RedisClient& client_;
  const RedisScript& script_;
  size_t flush_every_, unflushed_ = 0;
  std::vector<ScriptCall> calls_;
  Status status_ = Status::Ok();
  bool finished_ = false;
};

class RedisClient {
 public:
  explicit RedisClient(RedisOptions options);
  ~RedisClient();
  RedisClient(RedisClient&&) noexcept;
  RedisClient& operator=(RedisClient&&) noexcept;

  // One command. A Redis error reply is returned as a reply of type kError (not a Status).
  Expected<RedisReply> Command(const std::vector<std::string>& argv);
  // Many commands, one round trip; replies in order.
  Expected<std::vector<RedisReply>> Pipeline(const std::vector<std::vector<std::string>>& commands);
  Expected<RedisReply> Eval(const RedisScript& script, const std::vector<std::string>& keys,
                            const std::vector<std::string>& args);
  // EVALSHA for each call, pipelined; NOSCRIPT replies are retried once after SCRIPT LOAD.
  Expected<std::vector<RedisReply>> EvalPipeline(
      const RedisScript& script,
      const std::vector<ScriptCall>& calls);
  // Empty when PING answers, else the problem.
  std::string Ping();

 private:
  friend class EvalStream;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// SHA1 hex digest (Redis script ids). Exposed for tests.
std::string Sha1Hex(const std::string& data);

}  // namespace sre
