#include "shared/llm/client.h"

#include <atomic>
#include <exception>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <utility>

#include "shared/llm/resilience.h"
#include "shared/llm/schema.h"
#include "shared/llm/text.h"
#include "shared/llm/transport.h"
#include "shared/llm/wire.h"
#include "shared/log.h"
#include "shared/metrics.h"

namespace sre::llm {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kMaxErrorLen = 500;
// What one tool result may add to the conversation; the rest is cut with "…".
constexpr size_t kMaxToolResult = 16000;
// Below this much time left an attempt cannot usefully start.
constexpr milliseconds kMinAttempt{20};

std::shared_ptr<spdlog::logger> Log() { return log::Get("llm"); }

// Replaces every occurrence of the key: provider error bodies sometimes echo what they were sent.
std::string Scrub(std::string text, const Secret& key) {
  const std::string& k = key.reveal();
  if (k.empty()) return text;
  for (size_t pos = text.find(k); pos != std::string::npos; pos = text.find(k, pos + 3))
    text.replace(pos, k.size(), "***");
  return text;
}

// A base URL for the log line, with any user:password@ masked.
std::string ShownUrl(const std::string& url) {
  auto scheme = url.find("://");
  auto at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return url;
  return url.substr(0, scheme + 3) + "***" + url.substr(at);
}

double Jitter() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

milliseconds Left(Clock::time_point deadline) {
  return std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
}

void Record(const CallAudit& audit) {
  auto& m = Metrics();
  m.GetCounter("sre_llm_calls_total", "LLM gateway calls by outcome",
               {{"provider", audit.provider},
                {"model", audit.model},
                {"outcome", std::string(ToString(audit.outcome))}})
      .Inc();
  if (audit.provider == "none") return;
  m.GetCounter("sre_llm_tokens_total", "LLM tokens used",
               {{"provider", audit.provider}, {"model", audit.model}, {"direction", "input"}})
      .Inc(static_cast<double>(audit.input_tokens));
  m.GetCounter("sre_llm_tokens_total", "LLM tokens used",
               {{"provider", audit.provider}, {"model", audit.model}, {"direction", "output"}})
      .Inc(static_cast<double>(audit.output_tokens));
  m.GetHistogram("sre_llm_latency_seconds", "LLM gateway call latency, retries included",
                 {{"provider", audit.provider}})
      .Observe(static_cast<double>(audit.latency_ms) / 1000.0);
}

class NoneClient final : public Client {
 public:
  StructuredResult Structured(const StructuredRequest&) override {
    StructuredResult r;
    r.audit = Audit();
    Record(r.audit);
    return r;
  }
  ToolLoopResult RunToolLoop(const ToolLoopRequest&) override {
    ToolLoopResult r;
    r.audit = Audit();
    Record(r.audit);
    return r;
  }
  Provider provider() const override { return Provider::kNone; }

 private:
  static CallAudit Audit() {
    CallAudit a;
    a.provider = "none";
    a.outcome = Outcome::kUnavailable;
    a.error = "no LLM provider configured (LLM_PROVIDER=none)";
    return a;
  }
};

// One call's accounting: started on entry, finished exactly once.
class Call {
 public:
  Call(Provider provider, std::string model, const Secret& key) : key_(key), start_(Clock::now()) {
    audit_.provider = std::string(ProviderName(provider));
    audit_.model = std::move(model);
  }
  CallAudit& audit() { return audit_; }
  void AddUsage(const wire::ChatResponse& r) {
    ++audit_.rounds;
    audit_.input_tokens += r.input_tokens;
    audit_.output_tokens += r.output_tokens;
  }
  int64_t tokens() const { return audit_.input_tokens + audit_.output_tokens; }

  CallAudit Finish(Outcome outcome, const std::string& error, const char* what) {
    audit_.outcome = outcome;
    audit_.error = Truncate(Scrub(error, key_), kMaxErrorLen);
    audit_.latency_ms = std::chrono::duration_cast<milliseconds>(Clock::now() - start_).count();
    Record(audit_);
    if (outcome == Outcome::kOk) {
      Log()->debug("{} ok: provider={} model={} rounds={} tokens={}+{} latency_ms={}", what,
                   audit_.provider, audit_.model, audit_.rounds, audit_.input_tokens,
                   audit_.output_tokens, audit_.latency_ms);
    } else {
      Log()->warn("{} failed ({}): {} provider={} model={} rounds={} latency_ms={}", what,
                  ToString(outcome), audit_.error, audit_.provider, audit_.model, audit_.rounds,
                  audit_.latency_ms);
    }
    return audit_;
  }

 private:
  const Secret& key_;
  Clock::time_point start_;
  CallAudit audit_;
};

std::string ToolNames(const std::vector<Tool>& tools) {
  std::string out;
  for (const auto& t : tools) out += (out.empty() ? "" : ", ") + t.name;
  return out;
}

class RemoteClient final : public Client {
 public:
  RemoteClient(LlmConfig config, std::unique_ptr<Transport> transport)
      : config_(std::move(config)),
        transport_(std::move(transport)),
        bucket_(ProcessTokenBucket(config_.max_rpm)),
        url_(wire::RequestUrl(config_.provider, config_.base_url)),
        headers_(wire::RequestHeaders(config_.provider, config_.api_key)) {}

  Provider provider() const override { return config_.provider; }

  StructuredResult Structured(const StructuredRequest& request) override {
    StructuredResult result;
    Call call(config_.provider, config_.Model(request.tier), config_.api_key);
    Clock::time_point deadline = Clock::now() + Budget(request.deadline);

    wire::ChatRequest chat;
    chat.model = config_.Model(request.tier);
    chat.system = request.system;
    chat.max_tokens = request.max_tokens > 0 ? request.max_tokens : config_.max_tokens;
    chat.json_output = true;
    chat.messages.push_back({wire::Message::Role::kUser,
                             request.prompt +
                                 "\n\nReply with a single JSON object and nothing else. It must "
                                 "conform to this JSON schema:\n" +
                                 Dump(request.schema),
                             {},
                             {}});
    for (int round = 1;; ++round) {
      Exchange ex = Send(chat, deadline);
      if (!ex.ok) {
        result.audit = call.Finish(ex.outcome, ex.error, "structured call");
        return result;
      }
      call.AddUsage(ex.response);
      std::optional<Json> value = ExtractJsonObject(ex.response.text);
      std::string problem = value ? ValidateAgainstSchema(*value, request.schema)
                                  : "the reply contained no JSON object";
      if (problem.empty()) {
        result.ok = true;
        result.value = std::move(*value);
        result.audit = call.Finish(Outcome::kOk, "", "structured call");
        return result;
      }
      if (round == 2) {
        result.audit =
            call.Finish(Outcome::kInvalidOutput, "invalid output after one repair: " + problem,
                        "structured call");
        return result;
      }
      chat.messages.push_back({wire::Message::Role::kAssistant,
                               ex.response.text.empty() ? "(no reply)" : ex.response.text,
                               {},
                               {}});
      chat.messages.push_back({wire::Message::Role::kUser,
                               "Your reply was not acceptable: " + problem +
                                   ". Reply again with only the corrected JSON object, "
                                   "conforming to the schema, and no other text.",
                               {},
                               {}});
    }
  }

  ToolLoopResult RunToolLoop(const ToolLoopRequest& request) override {
    ToolLoopResult result;
    Call call(config_.provider, config_.Model(request.tier), config_.api_key);
    Clock::time_point deadline = Clock::now() + Budget(request.deadline);
    const std::string& terminal = request.terminal_tool;
    auto finish = [&](Outcome outcome, const std::string& error) {
      result.audit = call.Finish(outcome, error, "tool loop");
      return std::move(result);
    };

    const Tool* terminal_tool = nullptr;
    wire::ChatRequest chat;
    chat.model = config_.Model(request.tier);
    chat.system = request.system;
    chat.max_tokens = request.max_tokens > 0 ? request.max_tokens : config_.max_tokens;
    for (const auto& t : request.tools) {
      chat.tools.push_back({t.name, t.description, t.input_schema});
      if (t.name == terminal) terminal_tool = &t;
    }
    if (terminal_tool == nullptr)
      return finish(Outcome::kInvalidOutput,
                    "terminal tool '" + terminal + "' is not one of the tools");
    chat.messages.push_back({wire::Message::Role::kUser, request.prompt, {}, {}});

    for (int round = 1; round <= request.max_rounds; ++round) {
      if (Clock::now() >= deadline)
        return finish(Outcome::kTimeout,
                      "deadline reached after " + std::to_string(round - 1) + " rounds");
      if (request.token_budget > 0 && call.tokens() >= request.token_budget)
        return finish(Outcome::kInvalidOutput,
                      "token budget of " + std::to_string(request.token_budget) +
                          " exhausted after " + std::to_string(round - 1) + " rounds (" +
                          std::to_string(call.tokens()) + " used)");
      Exchange ex = Send(chat, deadline);
      if (!ex.ok) return finish(ex.outcome, ex.error);
      call.AddUsage(ex.response);
      chat.messages.push_back(
          {wire::Message::Role::kAssistant, ex.response.text, ex.response.tool_calls, {}});

      wire::Message reply{wire::Message::Role::kUser, "", {}, {}};
      if (ex.response.tool_calls.empty()) {
        reply.text = "Continue by calling one of the tools. When you have the answer, call `" +
                     terminal + "` with it.";
      }
      for (const auto& tc : ex.response.tool_calls) {
        auto started = Clock::now();
        ToolCallRecord record;
        record.name = Truncate(tc.name, 128);
        record.input = tc.input.is_string()
                           ? Json{{"_raw", Truncate(tc.input.get<std::string>(), 2000)}}
                           : tc.input;
        wire::ToolResult tool_result{tc.id, "", true};
        const Tool* tool = nullptr;
        for (const auto& t : request.tools) {
          if (t.name == tc.name) tool = &t;
        }
        std::string problem = !tc.parse_error.empty() ? tc.parse_error
                              : tool ? ValidateAgainstSchema(tc.input, tool->input_schema)
                                     : "";
        if (tool == nullptr) {
          tool_result.content = "Unknown tool `" + Truncate(tc.name, 128) +
                                "`. Available tools: " + ToolNames(request.tools) + ".";
        } else if (!problem.empty()) {
          tool_result.content =
              "Invalid arguments for `" + tc.name + "`: " + problem +
              (tool == terminal_tool ? ". Fix them and call `" + terminal + "` again."
                                     : ". The tool was not run; fix the arguments and retry.");
        } else if (tool == terminal_tool) {
          record.duration_ms = ElapsedMs(started);
          result.transcript.push_back(std::move(record));
          result.ok = true;
          result.terminal_input = tc.input;
          return finish(Outcome::kOk, "");
        } else {
          tool_result = RunHandler(*tool, tc);
        }
        record.is_error = tool_result.is_error;
        record.duration_ms = ElapsedMs(started);
        result.transcript.push_back(std::move(record));
        reply.tool_results.push_back(std::move(tool_result));
      }
      if (round + 1 == request.max_rounds) {
        reply.text += std::string(reply.text.empty() ? "" : "\n") +
                      "This is your last round: call `" + terminal + "` now with your best answer.";
      }
      chat.messages.push_back(std::move(reply));
    }
    return finish(Outcome::kInvalidOutput, "no valid `" + terminal + "` call within " +
                                               std::to_string(request.max_rounds) + " rounds");
  }

 private:
  struct Exchange {
    bool ok = false;
    wire::ChatResponse response;
    Outcome outcome = Outcome::kUnavailable;
    std::string error;
  };

  milliseconds Budget(milliseconds requested) const {
    return requested.count() > 0 && requested < config_.timeout ? requested : config_.timeout;
  }

  static int64_t ElapsedMs(Clock::time_point since) {
    return std::chrono::duration_cast<milliseconds>(Clock::now() - since).count();
  }

  static wire::ToolResult RunHandler(const Tool& tool, const wire::ToolCall& tc) {
    wire::ToolResult r{tc.id, "", true};
    if (!tool.handler) {
      r.content = "The tool `" + tool.name + "` is not available.";
      return r;
    }
    try {
      Expected<Json> out = tool.handler(tc.input);
      if (out.ok()) {
        r.is_error = false;
        r.content =
            Truncate(out->is_string() ? out->get<std::string>() : Dump(*out), kMaxToolResult);
      } else {
        r.content = Truncate(out.status().message(), kMaxToolResult);
      }
    } catch (const std::exception& e) {
      r.content = std::string("The tool failed: ") + e.what();
    } catch (...) {
      r.content = "The tool failed.";
    }
    return r;
  }

  // One model request with rate limiting and retries, never past `deadline`.
  Exchange Send(const wire::ChatRequest& chat, Clock::time_point deadline) {
    const std::string provider(ProviderName(config_.provider));
    const std::string body = Dump(wire::RequestBody(config_.provider, chat));
    Exchange ex;
    auto fail = [&](Outcome outcome, std::string error) {
      ex.ok = false;
      ex.outcome = outcome;
      ex.error = Scrub(std::move(error), config_.api_key);
      return ex;
    };
    for (int attempt = 1;; ++attempt) {
      milliseconds left = Left(deadline);
      if (left < kMinAttempt) return fail(Outcome::kTimeout, "deadline reached before a request");
      std::optional<milliseconds> wait = bucket_.Reserve(left - kMinAttempt);
      if (!wait)
        return fail(Outcome::kTimeout, "LLM_MAX_RPM=" + std::to_string(config_.max_rpm) +
                                           " leaves no request slot before the deadline");
      if (wait->count() > 0) {
        Log()->debug("rate limiter: waiting {} ms for a request slot", wait->count());
        std::this_thread::sleep_for(*wait);
      }
      left = Left(deadline);
      if (left < kMinAttempt) return fail(Outcome::kTimeout, "deadline reached before a request");

      HttpResult r = transport_->Post(url_, headers_, body, std::min(left, config_.timeout));
      // The provider's bytes are outside input: ill-formed UTF-8 in an error page must not reach
      // an audit row or a log (issue 14).
      codec::CountRepairs(SanitizeUtf8InPlace(r.body, /*replace_nul=*/false));
      std::optional<milliseconds> retry_after;
      std::string retry_reason;
      if (r.error != HttpResult::Error::kNone) {
        bool timeout = r.error == HttpResult::Error::kTimeout;
        ex.outcome = timeout ? Outcome::kTimeout : Outcome::kUnavailable;
        ex.error = (timeout ? "request timed out: " : "request failed: ") + r.error_text;
        retry_reason = timeout ? "timeout" : "connect";
      } else {
        std::string status = "HTTP " + std::to_string(r.status);
        switch (ClassifyStatus(r.status)) {
          case StatusClass::kSuccess: {
            auto parsed = wire::ParseResponse(config_.provider, r.body);
            if (!parsed.ok())
              return fail(Outcome::kInvalidOutput,
                          "malformed response body: " + parsed.status().message());
            ex.ok = true;
            ex.response = std::move(parsed).value();
            codec::CleanString(ex.response.text);
            for (auto& call : ex.response.tool_calls) codec::CleanJson(call.input);
            return ex;
          }
          case StatusClass::kAuth: {
            std::string error = Scrub(status + ": " + wire::ErrorSummary(r.body), config_.api_key);
            static std::atomic<bool> logged{false};
            if (!logged.exchange(true)) {
              Log()->error(
                  "LLM provider {} rejected the credentials ({}); check {}. No retries: every "
                  "LLM call fails and agents use their fallbacks.",
                  provider, error,
                  config_.provider == Provider::kAnthropic ? "ANTHROPIC_API_KEY"
                                                           : "OPENAI_API_KEY");
            }
            return fail(Outcome::kHttpError, error);
          }
          case StatusClass::kFatal:
            return fail(Outcome::kHttpError, status + ": " + wire::ErrorSummary(r.body));
          case StatusClass::kRateLimited:
            retry_after = ParseRetryAfter(r.retry_after, r.retry_after_ms);
            [[fallthrough]];
          case StatusClass::kRetryable:
            ex.outcome = Outcome::kHttpError;
            ex.error = status + ": " + wire::ErrorSummary(r.body);
            retry_reason = std::to_string(r.status);
            break;
        }
      }
      if (attempt >= config_.retry.max_attempts)
        return fail(ex.outcome, ex.error + " (after " + std::to_string(attempt) + " attempts)");
      milliseconds delay = RetryDelay(config_.retry, attempt, Jitter(), retry_after);
      if (delay + kMinAttempt >= Left(deadline))
        return fail(ex.outcome, ex.error + " (no time left before the deadline to retry in " +
                                    std::to_string(delay.count()) + " ms)");
      Metrics()
          .GetCounter("sre_llm_retries_total", "LLM requests retried, by cause",
                      {{"provider", provider}, {"reason", retry_reason}})
          .Inc();
      Log()->info("LLM request attempt {}/{} failed ({}); retrying in {} ms", attempt,
                  config_.retry.max_attempts, Scrub(ex.error, config_.api_key), delay.count());
      std::this_thread::sleep_for(delay);
    }
  }

  const LlmConfig config_;
  std::unique_ptr<Transport> transport_;
  TokenBucket& bucket_;
  const std::string url_;
  const wire::Headers headers_;
};

}  // namespace

std::unique_ptr<Client> MakeClient(const LlmConfig& config) {
  if (config.provider == Provider::kNone) return MakeClient(config, nullptr);
  return MakeClient(config, MakeCurlTransport());
}

namespace {
// Running without an LLM is the documented default: said once at start-up (MakeClient), not at
// every fallback.
std::atomic<bool> g_fallback_expected{false};
}  // namespace

std::unique_ptr<Client> MakeClient(const LlmConfig& config, std::unique_ptr<Transport> transport) {
  if (config.provider == Provider::kNone || transport == nullptr) {
    g_fallback_expected = true;
    Log()->info("LLM provider: none (LLM_PROVIDER); every agent uses its deterministic fallback, counted in "
                "sre_llm_fallbacks_total");
    return std::make_unique<NoneClient>();
  }
  g_fallback_expected = false;
  Log()->info(
      "LLM provider: {} at {} (fast model {}, reasoning model {}, LLM_MAX_RPM={}, "
      "LLM_TIMEOUT_S={})",
      ProviderName(config.provider), ShownUrl(config.base_url), config.model_fast,
      config.model_reasoning, config.max_rpm,
      std::chrono::duration_cast<std::chrono::seconds>(config.timeout).count());
  return std::make_unique<RemoteClient>(config, std::move(transport));
}

void CountFallback(const std::string& agent, const std::string& purpose) {
  Metrics()
      .GetCounter("sre_llm_fallbacks_total", "Deterministic fallbacks used in place of the LLM",
                  {{"agent", agent}, {"purpose", purpose}})
      .Inc();
  static std::mutex mu;
  static std::set<std::pair<std::string, std::string>> seen;
  bool first;
  {
    std::lock_guard<std::mutex> lock(mu);
    first = seen.emplace(agent, purpose).second;
  }
  if (first && !g_fallback_expected)
    log::Get(agent)->warn(
        "LLM unavailable or unusable for {}; using the deterministic fallback "
        "(counted in sre_llm_fallbacks_total)",
        purpose);
}

}  // namespace sre::llm
