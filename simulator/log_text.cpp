#include "simulator/log_text.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace sre::sim {

int64_t LogContext::Int(int64_t lo, int64_t hi) const { return UniformInt(rng, lo, hi); }

std::string LogContext::Hex(size_t digits) const { return RandomHex(rng, digits); }

std::string LogContext::Pick(std::initializer_list<const char*> options) const {
  auto it = options.begin();
  std::advance(it, UniformInt(rng, 0, static_cast<int64_t>(options.size()) - 1));
  return *it;
}

std::string LogContext::Id(const char* prefix) const {
  return fmt::format("{}{}", prefix, UniformInt(rng, 1000000, 9999999));
}

int64_t LogContext::LatencyMs(double fraction_lo, double fraction_hi) const {
  double p99 = std::max(1.0, values[kLatencyP99]);
  return std::max<int64_t>(1, std::llround(p99 * Uniform(rng, fraction_lo, fraction_hi)));
}

std::string RandomHex(std::mt19937_64& rng, size_t digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(digits);
  uint64_t bits = 0;
  for (size_t i = 0; i < digits; ++i) {
    if (i % 16 == 0) bits = rng();
    out.push_back(kDigits[bits & 0xF]);
    bits >>= 4;
  }
  return out;
}

namespace {

LogRule Info(LogTemplate t) { return {LogLevel::INFO, std::move(t), 0}; }
LogRule Debug(LogTemplate t) { return {LogLevel::DEBUG, std::move(t), 0}; }

std::string Amount(const LogContext& c) {
  return fmt::format("{}.{:02d}", c.Int(5, 480), c.Int(0, 99));
}

const std::map<std::string, std::vector<LogRule>>& Catalogue() {
  static const auto* kLogs = new std::map<std::string, std::vector<LogRule>>{
      {"api-gateway",
       {Info([](const LogContext& c) {
          return fmt::format("GET /v1/orders/{} 200 {}ms upstream=order-service bytes={}",
                             c.Id("ord-"), c.LatencyMs(0.2, 0.6), c.Int(800, 6400));
        }),
        Info([](const LogContext& c) {
          return fmt::format("POST /v1/payments 201 {}ms upstream=payment-service bytes={}",
                             c.LatencyMs(0.3, 0.7), c.Int(300, 900));
        }),
        Info([](const LogContext& c) {
          return fmt::format("GET /v1/users/me 200 {}ms upstream=user-service bytes={}",
                             c.LatencyMs(0.1, 0.4), c.Int(400, 2000));
        }),
        Debug([](const LogContext& c) {
          return fmt::format("jwt validated kid={} sub={} exp_in={}s", c.Hex(8), c.Id("u_"),
                             c.Int(30, 899));
        }),
        Debug([](const LogContext& c) {
          return fmt::format("rate limiter: client={} tokens={}/500",
                             c.Pick({"web-spa", "ios-app", "android-app", "partner-acme"}),
                             c.Int(180, 500));
        })}},
      {"payment-service",
       {Info([](const LogContext& c) {
          return fmt::format("Authorised payment {} amount={} {} psp={} in {} ms", c.Id("pay_"),
                             Amount(c), c.Pick({"EUR", "GBP", "USD"}), c.Pick({"adyen", "stripe"}),
                             c.LatencyMs(0.2, 0.7));
        }),
        Info([](const LogContext& c) {
          return fmt::format("Captured payment {} for order {}", c.Id("pay_"), c.Id("ord-"));
        }),
        Info([](const LogContext& c) {
          return fmt::format("Refund {} accepted by {} for {}", c.Id("ref_"),
                             c.Pick({"adyen", "stripe"}), c.Id("pay_"));
        }),
        Debug([](const LogContext& c) {
          auto active = std::llround(c.Value(kDbConnections));
          return fmt::format("HikariPool-1 - Pool stats (total={}, active={}, idle={}, waiting=0)",
                             c.Pool(), active, std::max<int64_t>(0, c.Pool() - active));
        }),
        Debug([](const LogContext& c) {
          return fmt::format("Idempotency key {} stored in payments-idempotency (ttl 86400s)",
                             c.Hex(32));
        })}},
      {"order-service",
       {Info([](const LogContext& c) {
          return fmt::format("Order {} created: {} items, total {} EUR, customer {}", c.Id("ord-"),
                             c.Int(1, 6), Amount(c), c.Id("u_"));
        }),
        Info([](const LogContext& c) {
          return fmt::format("Reserved stock for order {} via inventory-service in {} ms",
                             c.Id("ord-"), c.LatencyMs(0.05, 0.2));
        }),
        Info([](const LogContext& c) {
          return fmt::format(
              "Order {} status {}", c.Id("ord-"),
              c.Pick({"CREATED -> PAID", "PAID -> FULFILLING", "FULFILLING -> SHIPPED"}));
        }),
        Debug([](const LogContext& c) {
          return fmt::format("Consumed payments.completed partition {} offset {}", c.Int(0, 5),
                             c.Int(1000000, 1900000));
        }),
        Debug([](const LogContext& c) {
          return fmt::format("Applied promotion {} to order {} (-{}.{:02d} EUR)",
                             c.Pick({"WELCOME10", "SPRING5", "FREESHIP", "LOYAL15"}), c.Id("ord-"),
                             c.Int(1, 40), c.Int(0, 99));
        })}},
      {"user-service",
       {Info([](const LogContext& c) {
          return fmt::format("Login succeeded for {} (mfa={}) in {} ms", c.Id("u_"),
                             c.Pick({"true", "false", "false"}), c.LatencyMs(0.3, 0.8));
        }),
        Info([](const LogContext& c) {
          return fmt::format("Issued access token for {} (ttl 900 s, kid {})", c.Id("u_"),
                             c.Hex(8));
        }),
        Info([](const LogContext& c) {
          return fmt::format("Profile updated for {}: fields=[{}]", c.Id("u_"),
                             c.Pick({"marketing_opt_in", "phone", "display_name", "locale"}));
        }),
        Debug([](const LogContext& c) {
          return fmt::format("Session s_{} refreshed in sessions-cache", c.Hex(16));
        })}},
      {"inventory-service",
       {Info([](const LogContext& c) {
          return fmt::format("reserved qty={} sku=SKU-{} warehouse={} order={}", c.Int(1, 4),
                             c.Int(10000, 99999), c.Pick({"ams-1", "fra-2", "dub-1"}),
                             c.Id("ord-"));
        }),
        Info([](const LogContext& c) {
          return fmt::format("released expired reservation {} sku=SKU-{}", c.Id("res_"),
                             c.Int(10000, 99999));
        }),
        Debug([](const LogContext& c) {
          return fmt::format("stock level sku=SKU-{} available={} reserved={}", c.Int(10000, 99999),
                             c.Int(0, 900), c.Int(0, 40));
        }),
        Debug([](const LogContext& c) {
          return fmt::format("consumed orders.created partition={} offset={}", c.Int(0, 5),
                             c.Int(2000000, 2900000));
        })}},
      {"notification-service",
       {Info([](const LogContext& c) {
          return fmt::format("Sent email template={} to {} via sendgrid in {}ms",
                             c.Pick({"order_confirmation", "payment_receipt", "shipping_update",
                                     "password_reset"}),
                             c.Id("u_"), c.LatencyMs(0.2, 0.8));
        }),
        Info([](const LogContext& c) {
          return fmt::format("Delivered push notification to device {} via fcm", c.Hex(12));
        }),
        Info([](const LogContext& c) {
          return fmt::format("Sent SMS template=otp to {} via twilio (segments=1)", c.Id("u_"));
        }),
        Debug([](const LogContext& c) {
          return fmt::format("Looked up contact preferences for {} from user-service in {}ms",
                             c.Id("u_"), c.LatencyMs(0.05, 0.2));
        })}},
  };
  return *kLogs;
}

}  // namespace

const std::vector<LogRule>& NormalLogs(const std::string& service) {
  static const auto* kGeneric = new std::vector<LogRule>{
      Info([](const LogContext& c) {
        return fmt::format("GET /api/v1/items/{} 200 {} ms", c.Int(1, 99999),
                           c.LatencyMs(0.1, 0.6));
      }),
      Info([](const LogContext& c) {
        return fmt::format("POST /api/v1/items 201 {} ms", c.LatencyMs(0.2, 0.7));
      }),
      Debug([](const LogContext& c) {
        return fmt::format("connection pool: active={} max={}",
                           std::llround(c.Value(kDbConnections)), c.Pool());
      })};
  const auto& all = Catalogue();
  auto it = all.find(service);
  return it == all.end() ? *kGeneric : it->second;
}

std::string DeploymentLogLine(const std::string& service, const std::string& version,
                              const std::string& previous_version, ChangeType change_type) {
  if (change_type == ChangeType::CONFIG)
    return fmt::format("Configuration {} applied (was {}); {} beans refreshed", version,
                       previous_version, service);
  return fmt::format("Rollout of {} {} complete: all pods ready (previous {})", service, version,
                     previous_version);
}

std::string CascadeErrorLine(const LogContext& ctx, const std::string& callee, bool timeout) {
  static const std::map<std::string, std::vector<const char*>> kRoutes = {
      {"payment-service", {"POST /v1/payments/authorize", "GET /v1/payments/{id}"}},
      {"order-service", {"POST /v1/orders", "GET /v1/orders/{id}"}},
      {"user-service", {"GET /v1/users/{id}/preferences", "POST /v1/sessions/verify"}},
      {"inventory-service", {"POST /v1/reservations", "GET /v1/stock/{sku}"}},
  };
  std::string route = "GET /";
  if (auto it = kRoutes.find(callee); it != kRoutes.end())
    route =
        it->second[static_cast<size_t>(ctx.Int(0, static_cast<int64_t>(it->second.size()) - 1))];
  if (timeout)
    return fmt::format("timeout calling {} after {} ms ({})", callee, ctx.Pick({"2000", "3000"}),
                       route);
  return fmt::format("upstream {} returned 503 ({}) after {} ms", callee, route, ctx.Int(2, 40));
}

std::string SlowCalleeWarnLine(const LogContext& ctx, const std::string& callee,
                               int64_t callee_p99_ms) {
  return fmt::format("slow response from {}: {} ms (p99 {} ms); request still within its deadline",
                     callee,
                     std::llround(static_cast<double>(callee_p99_ms) * Uniform(ctx.rng, 0.6, 0.95)),
                     callee_p99_ms);
}

}  // namespace sre::sim
