#include "shared/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <chrono>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

namespace sre::log {
namespace {

thread_local Fields t_fields;

std::mutex g_mu;
Format g_format = Format::kText;
spdlog::level::level_enum g_level = spdlog::level::info;

std::string IsoTime(std::chrono::system_clock::time_point tp) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

class Formatter final : public spdlog::formatter {
 public:
  explicit Formatter(Format f) : format_(f) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto lvl = spdlog::level::to_string_view(msg.level);
    std::string line = FormatRecord(format_, IsoTime(msg.time), std::string(lvl.data(), lvl.size()),
                                    std::string(msg.logger_name.data(), msg.logger_name.size()),
                                    std::string(msg.payload.data(), msg.payload.size()), t_fields);
    line.push_back('\n');
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<Formatter>(format_);
  }

 private:
  Format format_;
};

std::shared_ptr<spdlog::sinks::stderr_sink_mt> Sink() {
  static auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  return sink;
}

}  // namespace

std::string FormatRecord(Format format, const std::string& ts, const std::string& level,
                         const std::string& logger, const std::string& msg, const Fields& fields) {
  if (format == Format::kJson) {
    nlohmann::json j;
    j["ts"] = ts;
    j["level"] = level;
    j["logger"] = logger;
    j["msg"] = msg;
    for (const auto& [k, v] : fields) j[k] = v;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string upper;
  for (char c : level)
    upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  std::string out = ts + " " + upper;
  out.append(upper.size() < 5 ? 5 - upper.size() : 0, ' ');
  out += " [" + logger + "] " + msg;
  for (const auto& [k, v] : fields) {
    bool quote = v.empty() || v.find_first_of(" \t\"=") != std::string::npos;
    out += " " + k + "=" + (quote ? nlohmann::json(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) : v);
  }
  return out;
}

bool Init(Format format, const std::string& level) {
  auto lvl = spdlog::level::from_str(level);
  bool known = lvl != spdlog::level::off || level == "off";
  std::lock_guard<std::mutex> lock(g_mu);
  g_format = format;
  g_level = known ? lvl : spdlog::level::info;
  Sink()->set_formatter(std::make_unique<Formatter>(g_format));
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->set_level(g_level); });
  return known;
}

std::shared_ptr<spdlog::logger> Get(const std::string& component) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (auto existing = spdlog::get(component)) return existing;
  auto logger = std::make_shared<spdlog::logger>(component, Sink());
  Sink()->set_formatter(std::make_unique<Formatter>(g_format));
  logger->set_level(g_level);
  logger->flush_on(spdlog::level::warn);
  spdlog::register_logger(logger);
  return logger;
}

LogScope::LogScope(Fields fields) : count_(fields.size()) {
  for (auto& f : fields) t_fields.push_back(std::move(f));
}

LogScope::~LogScope() { t_fields.resize(t_fields.size() - count_); }

const Fields& CurrentFields() { return t_fields; }

}  // namespace sre::log
