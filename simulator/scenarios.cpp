#include "simulator/scenarios.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cmath>

namespace sre::sim {

std::vector<std::string> ScenarioDef::TriggerMetrics() const {
  std::vector<std::string> out;
  for (const auto& e : effects)
    if (e.trigger) out.push_back(MetricName(e.metric));
  return out;
}

double ScenarioDef::Intensity(int64_t t_ms, int64_t symptom_start_ms) const {
  double out = 0;
  for (const auto& e : effects)
    out = std::max(out,
                   EffectIntensity(e.shape, t_ms, symptom_start_ms, symptom_start_ms + duration_ms,
                                   e.delay_ms, e.ramp_ms, recovery_ms));
  return out;
}

int64_t ScenarioDef::RampEndMs() const {
  int64_t out = 0;
  for (const auto& e : effects) out = std::max(out, e.delay_ms + e.ramp_ms);
  return out;
}

bool ActionFixes(RemediationAction action, const ScenarioDef& def) {
  using A = RemediationAction;
  using C = RootCauseCategory;
  const C cause = def.root_cause_category;
  const std::optional<ChangeType> deployed =
      def.deployment ? std::optional<ChangeType>(def.deployment->change_type) : std::nullopt;
  switch (action) {
    case A::ROLLBACK:
      return deployed == ChangeType::CODE || deployed == ChangeType::CONFIG;
    case A::REVERT_CONFIG:
      return deployed == ChangeType::CONFIG;
    case A::RESTART:
      return cause == C::RESOURCE_LEAK || cause == C::INFRASTRUCTURE_FAILURE;
    case A::SCALE_OUT:
      return !deployed && (cause == C::CPU_EXHAUSTION || cause == C::TRAFFIC_SURGE);
    case A::FAILOVER_DB:
    case A::KILL_LONG_QUERIES:
      return cause == C::DATABASE_BOTTLENECK;
    case A::PAUSE_CONSUMER:
    case A::RESET_CONSUMER:
      return cause == C::CONSUMER_STALL;
    case A::DISABLE_FLAG:
      return cause == C::APPLICATION_BUG;
    case A::ESCALATE:
      return false;
  }
  return false;
}

Json ScenarioJson(const ScenarioDef& def) {
  Json effects = Json::array();
  for (const auto& e : def.effects)
    effects.push_back({{"metric", MetricName(e.metric)},
                       {"peak", e.peak},
                       {"shape", ToString(e.shape)},
                       {"delay_s", static_cast<double>(e.delay_ms) / 1000.0},
                       {"ramp_s", static_cast<double>(e.ramp_ms) / 1000.0},
                       {"trigger", e.trigger}});
  Json deployment = nullptr;
  if (def.deployment)
    deployment = {{"change_type", ToString(def.deployment->change_type)},
                  {"description", def.deployment->description},
                  {"lead_s_min", static_cast<double>(def.deployment->lead_min_ms) / 1000.0},
                  {"lead_s_max", static_cast<double>(def.deployment->lead_max_ms) / 1000.0}};
  return {{"name", def.name},
          {"description", def.description},
          {"service", def.service},
          {"duration_s", static_cast<double>(def.duration_ms) / 1000.0},
          {"recovery_s", static_cast<double>(def.recovery_ms) / 1000.0},
          {"trigger_metrics", def.TriggerMetrics()},
          {"effects", effects},
          {"deployment", deployment},
          {"cascade", def.cascade},
          {"custom", def.custom},
          {"ground_truth",
           {{"root_cause_service", def.root_cause_service},
            {"root_cause_category", ToString(def.root_cause_category)}}}};
}

namespace {

constexpr int64_t kSecond = 1000;

LogRule Warn(LogTemplate t) { return {LogLevel::WARN, std::move(t), 0}; }
LogRule Error(LogTemplate t) { return {LogLevel::ERROR, std::move(t), 0}; }
LogRule Fatal(LogTemplate t, double min_intensity) {
  return {LogLevel::FATAL, std::move(t), min_intensity};
}

// Builds one scenario against the catalogue's numbers for its service.
class Builder {
 public:
  Builder(const ServiceInfo& service, std::string name, int64_t duration_s) : service_(service) {
    def_.name = std::move(name);
    def_.service = service.name;
    def_.root_cause_service = service.name;
    def_.duration_ms = duration_s * kSecond;
    def_.recovery_ms = std::llround(static_cast<double>(def_.duration_ms) * kRecoveryFraction);
  }
  double Base(Metric m) const {
    auto it = service_.baseline.find(MetricName(m));
    return it == service_.baseline.end() ? 0.0 : it->second;
  }
  Builder& Describe(std::string text) {
    def_.description = std::move(text);
    return *this;
  }
  Builder& Cause(RootCauseCategory category) {
    def_.root_cause_category = category;
    return *this;
  }
  // `peak` absolute; delay and ramp in seconds after the symptoms start.
  Builder& Effect(Metric m, double peak, Shape shape, int64_t delay_s, int64_t ramp_s,
                  bool trigger) {
    def_.effects.push_back({m, peak, shape, delay_s * kSecond, ramp_s * kSecond, trigger});
    return *this;
  }
  Builder& Early(LogRule r) {
    def_.early_logs.push_back(std::move(r));
    return *this;
  }
  Builder& Errors(std::vector<LogRule> rules) {
    for (auto& r : rules) def_.error_logs.push_back(std::move(r));
    return *this;
  }
  Builder& Deploy(ChangeType type, std::string description) {
    def_.deployment = DeploymentSpec{type, "", std::move(description), 60 * kSecond, 120 * kSecond};
    return *this;
  }
  Builder& Cascade() {
    def_.cascade = true;
    return *this;
  }
  ScenarioDef Build() { return std::move(def_); }

 private:
  const ServiceInfo& service_;
  ScenarioDef def_;
};

std::string Gib(const LogContext& c, double lo, double hi) {
  return fmt::format("{:.2f}", Uniform(c.rng, lo, hi));
}

}  // namespace

std::vector<ScenarioDef> BuiltInScenarios(const ServiceCatalog& catalog) {
  std::vector<ScenarioDef> out;
  const ServiceInfo* payment = catalog.Find("payment-service");
  const ServiceInfo* order = catalog.Find("order-service");
  const ServiceInfo* gateway = catalog.Find("api-gateway");
  const ServiceInfo* notification = catalog.Find("notification-service");
  const ServiceInfo* user = catalog.Find("user-service");

  if (payment) {
    Builder b(*payment, "LATENCY_SPIKE", 240);
    out.push_back(
        b.Describe("payment-service p99 latency climbs from ~380 ms to ~7.4 s: a query on "
                   "payment_transactions turned into a sequential scan (stale planner "
                   "statistics). Slow-query logs; pool usage rises as queries hold connections "
                   "longer, but the pool is not exhausted.")
            .Cause(RootCauseCategory::DATABASE_BOTTLENECK)
            .Effect(kLatencyP99, 7400, Shape::kExponential, 0, 108, true)
            .Effect(kDbConnections, b.Base(kDbConnections) * 1.6, Shape::kSigmoid, 40, 70, false)
            .Early(Warn([](const LogContext& c) {
              return fmt::format(
                  "Slow query (threshold 1000 ms): SELECT id, amount, status FROM "
                  "payment_transactions WHERE merchant_id = $1 AND created_at > $2 ORDER BY "
                  "created_at DESC took {} ms",
                  c.LatencyMs(0.7, 1.0));
            }))
            .Errors(
                {Error([](const LogContext& c) {
                   return fmt::format(
                       "slow query: SELECT pt.id, pt.amount, pt.status FROM payments pt JOIN "
                       "payment_transactions ptx ON ptx.payment_id = pt.id WHERE "
                       "pt.merchant_id = $1 AND pt.created_at > $2 took {} ms (Seq Scan on "
                       "payment_transactions, rows={}.{}M)",
                       c.LatencyMs(0.75, 1.0), c.Int(3, 5), c.Int(0, 9));
                 }),
                 Error([](const LogContext& c) {
                   int64_t total = c.LatencyMs(0.8, 1.0);
                   return fmt::format(
                       "Authorisation {} exceeded its 2000 ms SLO: {} ms, of which {} ms in "
                       "payments-db",
                       c.Id("pay_"), total, total * c.Int(85, 97) / 100);
                 }),
                 Error([](const LogContext& c) {
                   return fmt::format(
                       "org.springframework.dao.QueryTimeoutException: PreparedStatementCallback; "
                       "SQL [SELECT * FROM payments WHERE merchant_id = ? AND created_at > ?]; "
                       "ERROR: canceling statement due to statement timeout (merchant {})",
                       c.Int(10000, 99999));
                 })})
            .Build());
  }

  if (order) {
    Builder b(*order, "ERROR_RATE_SPIKE", 180);
    out.push_back(
        b.Describe("order-service errors rise from 0.5 % to ~45 %: a NullPointerException in "
                   "promotion pricing fails checkouts that carry a promotion code.")
            .Cause(RootCauseCategory::APPLICATION_BUG)
            .Effect(kErrorRate, 45, Shape::kLinear, 0, 90, true)
            .Early(Warn([](const LogContext& c) {
              return fmt::format(
                  "PriceCalculator: no PromotionRule found for code {} on order {}; continuing "
                  "with rule=null",
                  c.Pick({"SPRING5", "LOYAL15", "BF2024", "WELCOME10"}), c.Id("ord-"));
            }))
            .Errors({Error([](const LogContext& c) {
                       return fmt::format(
                           "Order processing failed for {}: java.lang.NullPointerException: "
                           "Cannot invoke \"com.shop.orders.pricing.PromotionRule.discountFor("
                           "com.shop.orders.model.LineItem)\" because \"rule\" is null at "
                           "com.shop.orders.pricing.PriceCalculator.applyPromotions("
                           "PriceCalculator.java:142)",
                           c.Id("ord-"));
                     }),
                     Error([](const LogContext& c) {
                       return fmt::format(
                           "POST /v1/orders 500 in {} ms: java.lang.NullPointerException at "
                           "com.shop.orders.service.OrderService.placeOrder(OrderService.java:218)",
                           c.LatencyMs(0.1, 0.3));
                     })})
            .Build());
  }

  if (gateway) {
    Builder b(*gateway, "CPU_SATURATION", 300);
    out.push_back(
        b.Describe("api-gateway CPU climbs from ~30 % to ~97 % at a flat request rate: the "
                   "garbage collector runs almost continuously because GOMEMLIMIT sits too close "
                   "to the live heap; request goroutines queue and p99 rises.")
            .Cause(RootCauseCategory::CPU_EXHAUSTION)
            .Effect(kCpuPercent, 97, Shape::kLinear, 0, 130, true)
            .Effect(kLatencyP99, b.Base(kLatencyP99) * 3.2, Shape::kSigmoid, 60, 100, false)
            .Early(Warn([](const LogContext& c) {
              return fmt::format(
                  "GC cycle {} took {}ms of CPU (heap_live={}GiB, GOMEMLIMIT=3.50GiB)",
                  c.Int(180000, 190000), c.Int(40, 120), Gib(c, 3.1, 3.3));
            }))
            .Errors({Error([](const LogContext& c) {
                       return fmt::format(
                           "runtime: GC assist stalled {} goroutines for {}ms (heap_live={}GiB, "
                           "GOMEMLIMIT=3.50GiB, GC CPU fraction {}%)",
                           c.Int(300, 900), c.Int(150, 600), Gib(c, 3.38, 3.49), c.Int(35, 70));
                     }),
                     Error([](const LogContext& c) {
                       return fmt::format(
                           "worker pool saturated: 512/512 request goroutines busy, {} requests "
                           "queued; shedding requests older than 2s",
                           c.Int(200, 2400));
                     }),
                     Error([](const LogContext& c) {
                       return fmt::format(
                           "container CPU throttled in {}% of CFS periods over the last 10s "
                           "(limit 4 cores, usage {:.1f}%)",
                           c.Int(60, 95), c.Value(kCpuPercent));
                     })})
            .Build());
  }

  if (notification) {
    Builder b(*notification, "MEMORY_LEAK", 360);
    out.push_back(
        b.Describe("notification-service heap grows from ~55 % to ~98 %: an in-process "
                   "delivery-attempt cache is never evicted; GC pauses lengthen until the process "
                   "runs out of heap and restarts.")
            .Cause(RootCauseCategory::RESOURCE_LEAK)
            .Effect(kMemoryPercent, 98, Shape::kLinear, 0, 170, true)
            .Effect(kLatencyP99, b.Base(kLatencyP99) * 2.2, Shape::kExponential, 120, 100, false)
            .Effect(kCpuPercent, b.Base(kCpuPercent) * 1.8, Shape::kSigmoid, 100, 90, false)
            .Early(Warn([](const LogContext& c) {
              return fmt::format(
                  "Heap usage {:.0f}% of --max-old-space-size=2048 MB "
                  "(deliveryAttemptCache size={})",
                  c.Value(kMemoryPercent), c.Int(400000, 900000));
            }))
            .Errors({Error([](const LogContext& c) {
                       double used = 2048 * c.Value(kMemoryPercent) / 100.0;
                       return fmt::format(
                           "<--- Last few GCs ---> Mark-Compact {:.1f} ({:.1f}) -> {:.1f} ({:.1f}) "
                           "MB, {} / 0.0 ms (average mu = 0.1{}) allocation failure; scavenge "
                           "might not succeed",
                           used, used + 40, used - 3, used + 41, c.Int(800, 2400), c.Int(0, 99));
                     }),
                     Error([](const LogContext& c) {
                       return fmt::format(
                           "Heap usage {:.0f}%: deliveryAttemptCache holds {} entries (no TTL, "
                           "never evicted)",
                           c.Value(kMemoryPercent), c.Int(1500000, 4000000));
                     }),
                     Fatal(
                         [](const LogContext&) {
                           return std::string(
                               "FATAL ERROR: Reached heap limit Allocation failed - JavaScript "
                               "heap out of memory");
                         },
                         0.8)})
            .Build());
  }

  if (payment) {
    Builder b(*payment, "DB_CONNECTION_EXHAUSTION", 200);
    double pool = static_cast<double>(payment->db_pool_size);
    out.push_back(
        b.Describe("payment-service's database pool fills from ~30 to 100/100 connections under "
                   "lock contention on merchant_balances; once it is exhausted, requests time out "
                   "waiting for a connection and errors climb to ~30 %.")
            .Cause(RootCauseCategory::DATABASE_BOTTLENECK)
            .Effect(kDbConnections, pool, Shape::kLinear, 0, 90, true)
            .Effect(kErrorRate, 30, Shape::kExponential, 60, 60, true)
            .Effect(kLatencyP99, b.Base(kLatencyP99) * 5, Shape::kSigmoid, 50, 60, false)
            .Early(Warn([](const LogContext& c) {
              auto active = std::llround(c.Value(kDbConnections));
              return fmt::format(
                  "HikariPool-1 - Pool stats (total={}, active={}, idle={}, waiting={})", c.Pool(),
                  active, std::max<int64_t>(0, c.Pool() - active), c.Int(0, 12));
            }))
            .Errors({Error([](const LogContext&) {
                       return std::string(
                           "HikariPool-1 - Connection is not available, request timed out after "
                           "30000ms.");
                     }),
                     Error([](const LogContext&) {
                       return std::string(
                           "Could not open JPA EntityManager for transaction; nested exception is "
                           "org.hibernate.exception.JDBCConnectionException: Unable to acquire "
                           "JDBC Connection [HikariPool-1 - Connection is not available, request "
                           "timed out after 30000ms]");
                     }),
                     Error([](const LogContext& c) {
                       return fmt::format(
                           "Lock wait on merchant_balances (merchant_id={}) held by pid {} for {} "
                           "ms: UPDATE merchant_balances SET balance = balance + $1 WHERE "
                           "merchant_id = $2",
                           c.Int(10000, 99999), c.Int(20000, 40000), c.Int(4000, 28000));
                     })})
            .Build());
  }

  if (order) {
    Builder b(*order, "KAFKA_CONSUMER_LAG", 300);
    out.push_back(
        b.Describe("order-service's consumer of payments.completed stalls: batches take longer "
                   "than max.poll.interval.ms, the group rebalances over and over, and lag grows "
                   "from ~100 to ~50,000 messages.")
            .Cause(RootCauseCategory::CONSUMER_STALL)
            .Effect(kConsumerLag, 50000, Shape::kExponential, 0, 150, true)
            .Early(Warn([](const LogContext& c) {
              return fmt::format(
                  "[Consumer clientId=order-service-{}, groupId=order-service] Attempt to "
                  "heartbeat failed since group is rebalancing",
                  c.Int(1, 3));
            }))
            .Errors({Error([](const LogContext& c) {
                       return fmt::format(
                           "[Consumer clientId=order-service-{}, groupId=order-service] consumer "
                           "poll timeout has expired. This means the time between subsequent "
                           "calls to poll() was longer than the configured max.poll.interval.ms, "
                           "which typically implies that the poll loop is spending too much time "
                           "processing messages.",
                           c.Int(1, 3));
                     }),
                     Error([](const LogContext& c) {
                       return fmt::format(
                           "[Consumer clientId=order-service-{}, groupId=order-service] Offset "
                           "commit failed on partition payments.completed-{} at offset {}: The "
                           "coordinator is not aware of this member.",
                           c.Int(1, 3), c.Int(0, 5), c.Int(1800000, 1900000));
                     }),
                     Error([](const LogContext& c) {
                       return fmt::format(
                           "Batch of 500 records from payments.completed-{} took {} ms to process "
                           "(max.poll.interval.ms=300000); consumer group order-service is "
                           "rebalancing",
                           c.Int(0, 5), c.Int(300500, 420000));
                     })})
            .Build());
  }

  if (user) {
    Builder b(*user, "DEPLOYMENT_FAILURE", 240);
    out.push_back(
        b.Describe("A user-service CODE deployment (new JWKS client) ships with an uninitialised "
                   "key provider: a minute or two later login and token verification fail "
                   "(errors 0.5 % to ~40 %) and p99 rises.")
            .Cause(RootCauseCategory::DEPLOYMENT_REGRESSION)
            .Deploy(ChangeType::CODE, "Migrate token verification to the new JwksClient")
            .Effect(kErrorRate, 40, Shape::kLinear, 0, 110, true)
            .Effect(kLatencyP99, b.Base(kLatencyP99) * 7, Shape::kSigmoid, 20, 80, true)
            .Early(Warn([](const LogContext& c) {
              return fmt::format("TokenService {}: key {} not in JwksClient cache, retrying fetch",
                                 c.version, c.Hex(8));
            }))
            .Errors({Error([](const LogContext& c) {
                       return fmt::format(
                           "POST /v1/sessions failed: kotlin.UninitializedPropertyAccessException: "
                           "lateinit property jwkProvider has not been initialized at "
                           "com.shop.users.auth.TokenService.verify(TokenService.kt:88) "
                           "[version {}]",
                           c.version);
                     }),
                     Error([](const LogContext& c) {
                       return fmt::format(
                           "Token verification failed for {}: JwksClient not initialised since "
                           "upgrade to {}; responding 500",
                           c.Id("u_"), c.version);
                     })})
            .Build());
  }

  if (payment) {
    Builder b(*payment, "BAD_DEPLOY_LATENCY", 240);
    out.push_back(
        b.Describe("A payment-service CODE deployment routes authorisations through a new "
                   "fraud-check client with an aggressive retry policy: p99 rises several-fold "
                   "with no database errors and no error-rate change.")
            .Cause(RootCauseCategory::DEPLOYMENT_REGRESSION)
            .Deploy(ChangeType::CODE,
                    "PaymentRouter: call the new fraud-check service before PSP routing")
            .Effect(kLatencyP99, b.Base(kLatencyP99) * 8.5, Shape::kExponential, 0, 100, true)
            .Early(Warn([](const LogContext& c) {
              return fmt::format(
                  "PaymentRouter v{}: fraud-check client retrying (attempt {}/5) after {} ms "
                  "backoff",
                  c.version, c.Int(2, 3), c.Pick({"200", "400", "800"}));
            }))
            .Errors({Error([](const LogContext& c) {
                       return fmt::format(
                           "PaymentRouter v{}: fraud-check call for {} exceeded its 1500 ms budget "
                           "after 5 attempts; scoring synchronously",
                           c.version, c.Id("pay_"));
                     }),
                     Error([](const LogContext& c) {
                       int64_t total = c.LatencyMs(0.8, 1.0);
                       return fmt::format(
                           "PaymentRouter v{}: route selection for {} took {} ms (fraud-check {} "
                           "ms, psp adyen {} ms)",
                           c.version, c.Id("pay_"), total, total * c.Int(80, 92) / 100,
                           c.Int(90, 180));
                     }),
                     Error([](const LogContext& c) {
                       return fmt::format(
                           "PaymentRouter v{}: fraud-check client retry budget exhausted (5/5) "
                           "for merchant {}",
                           c.version, c.Int(10000, 99999));
                     })})
            .Build());
  }

  if (payment) {
    Builder b(*payment, "PAYMENT_OUTAGE", 240);
    out.push_back(
        b.Describe("A Kubernetes node hosting most payment-service pods fails: pods crash-loop "
                   "and refuse connections, payment errors reach ~60 %, and the failure cascades "
                   "to order-service and api-gateway.")
            .Cause(RootCauseCategory::INFRASTRUCTURE_FAILURE)
            .Cascade()
            .Effect(kErrorRate, 60, Shape::kLinear, 0, 100, true)
            .Effect(kLatencyP99, b.Base(kLatencyP99) * 3.5, Shape::kSigmoid, 30, 80, false)
            .Early(Warn([](const LogContext& c) {
              return fmt::format(
                  "Node ip-10-42-{}-{}.eu-west-1.compute.internal condition Ready=Unknown: "
                  "kubelet stopped posting node status",
                  c.Int(1, 9), c.Int(10, 250));
            }))
            .Errors({Error([](const LogContext& c) {
                       std::string ip = fmt::format("10.42.{}.{}", c.Int(1, 9), c.Int(10, 250));
                       return fmt::format(
                           "Readiness probe failed: Get \"http://{}:8080/actuator/health/"
                           "readiness\": dial tcp {}:8080: connect: connection refused",
                           ip, ip);
                     }),
                     Error([](const LogContext& c) {
                       return fmt::format(
                           "Back-off restarting failed container payment-service in pod "
                           "payment-service-{}-{} (CrashLoopBackOff)",
                           c.Hex(10), c.Hex(5));
                     }),
                     Fatal(
                         [](const LogContext& c) {
                           return fmt::format(
                               "Pod payment-service-{}-{} terminated: node "
                               "ip-10-42-{}-{}.eu-west-1.compute.internal NotReady",
                               c.Hex(10), c.Hex(5), c.Int(1, 9), c.Int(10, 250));
                         },
                         0.3)})
            .Build());
  }

  if (gateway) {
    Builder b(*gateway, "TRAFFIC_SURGE", 300);
    out.push_back(
        b.Describe("A marketing campaign triples api-gateway traffic: request rate x3, CPU and "
                   "p99 rise while the autoscaler catches up; the rate limiter sheds the excess "
                   "so upstream services see normal load and no code fails.")
            .Cause(RootCauseCategory::TRAFFIC_SURGE)
            .Effect(kRequestRate, b.Base(kRequestRate) * 3, Shape::kLinear, 0, 120, true)
            .Effect(kCpuPercent, b.Base(kCpuPercent) * 2.4, Shape::kLinear, 20, 110, false)
            .Effect(kLatencyP99, b.Base(kLatencyP99) * 2.5, Shape::kSigmoid, 40, 100, false)
            .Early(Warn([](const LogContext& c) {
              return fmt::format(
                  "HPA api-gateway: desired replicas {} -> {} (cpu utilization {:.0f}% > target "
                  "60%)",
                  c.Int(6, 8), c.Int(9, 14), c.Value(kCpuPercent));
            }))
            .Errors({Error([](const LogContext& c) {
                       return fmt::format(
                           "rate limiter rejected {} requests with 429 in the last 10s "
                           "(client=campaign-{}, {} req/s over quota)",
                           c.Int(2000, 30000), c.Pick({"spring-sale", "newsletter", "push-blast"}),
                           c.Int(200, 2400));
                     }),
                     Error([](const LogContext& c) {
                       return fmt::format(
                           "listener 0.0.0.0:8443 accept queue full ({} pending connections); "
                           "new connections delayed",
                           c.Int(512, 4096));
                     }),
                     Warn([](const LogContext& c) {
                       return fmt::format(
                           "traffic from {} new client IPs in the last 60s (top user agent "
                           "{})",
                           c.Int(8000, 40000), c.Pick({"okhttp/4.12.0", "CFNetwork/1490.0.4"}));
                     })})
            .Build());
  }

  if (order) {
    Builder b(*order, "CONFIG_PUSH", 180);
    out.push_back(
        b.Describe("A CONFIG change to order-service's ConfigMap sets "
                   "orders.pricing.max-discount-pct=150; the refreshed properties fail validation "
                   "and checkouts with a discount are rejected (errors 0.5 % to ~28 %).")
            .Cause(RootCauseCategory::CONFIGURATION_ERROR)
            .Deploy(ChangeType::CONFIG, "ConfigMap order-service-config: raise promotion limits")
            .Effect(kErrorRate, 28, Shape::kLinear, 0, 85, true)
            .Early(Warn([](const LogContext& c) {
              return fmt::format(
                  "ConfigMap order-service-config changed ({} -> {}); refreshing "
                  "@ConfigurationProperties beans",
                  c.previous_version, c.version);
            }))
            .Errors({Error([](const LogContext& c) {
                       return fmt::format(
                           "Binding to target [Bindable@{} type = "
                           "com.shop.orders.config.PricingProperties] failed: Property: "
                           "orders.pricing.max-discount-pct Value: \"150\" Origin: ConfigMap "
                           "order-service-config {} Reason: must be less than or equal to 100",
                           c.Hex(8), c.version);
                     }),
                     Error([](const LogContext& c) {
                       return fmt::format(
                           "Rejected checkout for {}: invalid pricing configuration "
                           "(orders.pricing.max-discount-pct=150, config {})",
                           c.Id("ord-"), c.version);
                     })})
            .Build());
  }
  return out;
}

}  // namespace sre::sim
