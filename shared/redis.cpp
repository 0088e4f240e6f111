#include "shared/redis.h"

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>

namespace sre {
namespace {

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using ContextHandle = std::unique_ptr<redisContext, ContextDeleter>;

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyHandle = std::unique_ptr<redisReply, ReplyDeleter>;

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = ms.count() / 1000;
  tv.tv_usec = (ms.count() % 1000) * 1000;
  return tv;
}

RedisReply Convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Convert(r->element[i]));
      break;
    default:
      out.type = RedisReply::Type::kNil;
      break;
  }
  return out;
}

bool IsNoScript(const RedisReply& r) { return r.is_error() && r.str.rfind("NOSCRIPT", 0) == 0; }

}  // namespace

std::string Sha1Hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha1(), nullptr);
  std::string hex;
  char buf[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof(buf), "%02x", md[i]);
    hex += buf;
  }
  return hex;
}

Expected<RedisOptions> ParseRedisUrl(const std::string& url) {
  RedisOptions o;
  const std::string scheme = "redis://";
  if (url.rfind(scheme, 0) != 0) return Status::Invalid("REDIS_URL must start with redis://");
  std::string rest = url.substr(scheme.size());
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    std::string cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = cred.find(':');
    o.password = colon == std::string::npos ? cred : cred.substr(colon + 1);
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    std::string db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      try {
        size_t used = 0;
        o.db = std::stoi(db, &used);
        if (used != db.size() || o.db < 0) throw std::invalid_argument(db);
      } catch (const std::exception&) {
        return Status::Invalid("REDIS_URL: database '" + db + "' is not a number");
      }
    }
  }
  if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    std::string port = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    try {
      size_t used = 0;
      o.port = std::stoi(port, &used);
      if (used != port.size() || o.port <= 0 || o.port > 65535) throw std::invalid_argument(port);
    } catch (const std::exception&) {
      return Status::Invalid("REDIS_URL: port '" + port + "' is not valid");
    }
  }
  if (rest.empty()) return Status::Invalid("REDIS_URL: missing host");
  o.host = rest;
  return o;
}

RedisScript::RedisScript(std::string source)
    : source_(std::move(source)), sha1_(Sha1Hex(source_)) {}

struct RedisClient::Impl {
  RedisOptions options;
  ContextHandle ctx;

  Status Connect() {
    if (ctx) return Status::Ok();
    redisContext* c = redisConnectWithTimeout(options.host.c_str(), options.port,
                                              ToTimeval(options.connect_timeout));
    if (!c) return Status::Transient("redis: cannot allocate context");
    ContextHandle h(c);
    if (c->err)
      return Status::Transient(std::string("redis connect ") + options.host + ":" +
                               std::to_string(options.port) + ": " + c->errstr);
    redisSetTimeout(c, ToTimeval(options.command_timeout));
    ctx = std::move(h);
    if (!options.password.empty()) {
      auto r = Raw({"AUTH", options.password});
      if (!r.ok()) return r.status();
      if (r->is_error()) {
        ctx.reset();
        return Status::Fatal("redis AUTH failed: " + r->str);
      }
    }
    if (options.db != 0) {
      auto r = Raw({"SELECT", std::to_string(options.db)});
      if (!r.ok()) return r.status();
      if (r->is_error()) return Status::Fatal("redis SELECT: " + r->str);
    }
    return Status::Ok();
  }

  Status Append(const std::vector<std::string>& argv) {
    std::vector<const char*> args;
    std::vector<size_t> lens;
    args.reserve(argv.size());
    lens.reserve(argv.size());
    for (const auto& a : argv) {
      args.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(ctx.get(), static_cast<int>(args.size()), args.data(),
                               lens.data()) != REDIS_OK)
      return Drop("append");
    return Status::Ok();
  }

  Status AppendEval(const std::string& sha, const std::string& numkeys, const ScriptCall& call) {
    const size_t n = 3 + call.first.size() + call.second.size();
    std::vector<const char*> args;
    std::vector<size_t> lens;
    args.reserve(n);
    lens.reserve(n);
    auto add = [&](const std::string& a) {
      args.push_back(a.data());
      lens.push_back(a.size());
    };
    static const std::string kEvalSha = "EVALSHA";
    add(kEvalSha);
    add(sha);
    add(numkeys);
    for (const auto& k : call.first) add(k);
    for (const auto& a : call.second) add(a);
    if (redisAppendCommandArgv(ctx.get(), static_cast<int>(n), args.data(), lens.data()) != REDIS_OK)
      return Drop("append");
    return Status::Ok();
  }

  // Writes out what is buffered (blocking until the kernel took all of it).
  Status Flush() {
    int done = 0;
    while (!done)
      if (redisBufferWrite(ctx.get(), &done) != REDIS_OK) return Drop("write");
    return Status::Ok();
  }

  Expected<RedisReply> Read() {
    void* raw = nullptr;
    if (redisGetReply(ctx.get(), &raw) != REDIS_OK || !raw) return Drop("read");
    ReplyHandle r(static_cast<redisReply*>(raw));
    return Convert(r.get());
  }

  Status Drop(const char* what) {
    std::string msg = std::string("redis ") + what + ": " +
                      (ctx && ctx->errstr[0] ? ctx->errstr : "connection lost");
    ctx.reset();
    return Status::Transient(msg);
  }

  Expected<RedisReply> Raw(const std::vector<std::string>& argv) {
    if (auto s = Append(argv); !s.ok()) return s;
    return Read();
  }

  Expected<std::vector<RedisReply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands) {
    if (auto s = Connect(); !s.ok()) return s;
    for (const auto& c : commands)
      if (auto s = Append(c); !s.ok()) return s;
    std::vector<RedisReply> out;
    out.reserve(commands.size());
    for (size_t i = 0; i < commands.size(); ++i) {
      auto r = Read();
      if (!r.ok()) return r.status();
      out.push_back(std::move(r).value());
    }
    return out;
  }
};

RedisClient::RedisClient(RedisOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}
RedisClient::~RedisClient() = default;
RedisClient::RedisClient(RedisClient&&) noexcept = default;
RedisClient& RedisClient::operator=(RedisClient&&) noexcept = default;

Expected<RedisReply> RedisClient::Command(const std::vector<std::string>& argv) {
  auto r = impl_->Pipeline({argv});
  if (!r.ok()) return r.status();
  return std::move(r->front());
}

Expected<std::vector<RedisReply>> RedisClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  return impl_->Pipeline(commands);
}

Expected<RedisReply> RedisClient::Eval(const RedisScript& script,
                                       const std::vector<std::string>& keys,
                                       const std::vector<std::string>& args) {
  auto r = EvalPipeline(script, {{keys, args}});
  if (!r.ok()) return r.status();
  return std::move(r->front());
}

Expected<std::vector<RedisReply>> RedisClient::EvalPipeline(const RedisScript& script,
                                                           const std::vector<ScriptCall>& calls) {
  EvalStream stream(*this, script, calls.size() + 1);
  for (const auto& c : calls) stream.Add(c);
  return stream.Finish();
}

EvalStream::EvalStream(RedisClient& client, const RedisScript& script, size_t flush_every)
    : client_(client), script_(script), flush_every_(std::max<size_t>(flush_every, 1)) {}

EvalStream::~EvalStream() {
  if (!finished_ && !calls_.empty() && status_.ok()) (void)client_.impl_->Drop("stream abandoned");
}

void EvalStream::Add(ScriptCall call) {
  auto& impl = *client_.impl_;
  if (status_.ok() && calls_.empty()) status_ = impl.Connect();
  if (status_.ok()) status_ = impl.AppendEval(script_.sha1(), std::to_string(call.first.size()), call);
  calls_.push_back(std::move(call));
  if (status_.ok() && ++unflushed_ >= flush_every_) {
    status_ = impl.Flush();
    unflushed_ = 0;
  }
}

Expected<std::vector<RedisReply>> EvalStream::Finish() {
  auto& impl = *client_.impl_;
  finished_ = true;
  if (!status_.ok()) return status_;
  if (calls_.empty()) return std::vector<RedisReply>{};
  if (auto s = impl.Flush(); !s.ok()) return s;
  std::vector<RedisReply> replies;
  replies.reserve(calls_.size());
  bool noscript = false;
  for (size_t i = 0; i < calls_.size(); ++i) {
    auto r = impl.Read();
    if (!r.ok()) return r.status();
    noscript = noscript || IsNoScript(*r);
    replies.push_back(std::move(r).value());
  }
  if (!noscript) return replies;
  // The server does not know the script (restart, SCRIPT FLUSH): load it, redo only those calls.
  auto loaded = impl.Pipeline({{"SCRIPT", "LOAD", script_.source()}});
  if (!loaded.ok()) return loaded.status();
  if (loaded->front().is_error()) return Status::Fatal("redis SCRIPT LOAD: " + loaded->front().str);
  std::vector<size_t> redo;
  for (size_t i = 0; i < replies.size(); ++i)
    if (IsNoScript(replies[i])) {
      if (auto s = impl.AppendEval(script_.sha1(), std::to_string(calls_[i].first.size()), calls_[i]); !s.ok()) return s;
      redo.push_back(i);
    }
  for (size_t i : redo) {
    auto r = impl.Read();
    if (!r.ok()) return r.status();
    replies[i] = std::move(r).value();
  }
  return replies;
}

std::string RedisClient::Ping() {
  auto r = Command({"PING"});
  if (!r.ok()) return r.status().message();
  if (r->is_error()) return "redis: " + r->str;
  return "";
}

}  // namespace sre
