#include "agents/detection/baseline_script.h"

#include <charconv>
#include <string_view>

#include "shared/redis_keys.h"

namespace sre::detection {
namespace {

constexpr int kHistoryLength = 360;        // samples kept per series (an hour at 10 s)
constexpr int kSeriesTtlSeconds = 86400;   // series keys of a silent service expire after a day
constexpr int kRecentOnRaise = 12;         // history returned on a raise, for time to failure

// KEYS: 1 history zset, 2 series window (binary string, see keys::SeriesWindow), 3 open-incident lock
// ARGV: 1 ts, 2 value, 3 candidate incident id, 4 ttl seconds, 5 the metric's settings packed as
//       10 little-endian doubles (direction 1 up / -1 down / 0 both, threshold, min_consecutive,
//       warmup, window, floor_abs, floor_rel, level_shift, history length, recent samples to
//       return on a raise)
// Returns {0, member, numbers, recent...} for a new sample: its history member (see
// keys::SeriesHistory), z, mean, std, n and breaching-run length packed as 5 doubles, and on a
// raise the newest history members; {1, stored member} for a sample already in the history.
//
// Cost matters: Redis runs this single-threaded for every sample. The whole rolling state of a
// series is one binary string (packed doubles: running sums of the window, the breaching-run
// length, the newest event time, a sample count; then the window; then the run), so a normal
// sample costs one GET, one SET (which also refreshes the TTL) and one ZADD of a short member,
// and no number is formatted or parsed on that path (settings and scores travel packed). The
// sums are recomputed exactly from the window every 64 samples so floating-point error cannot
// accumulate. Values enter the window clamped to ±1e150 (their squares stay finite) and z is
// clamped to ±1e12, so no value, however absurd, makes a score non-finite (issue 14). The history
// is only searched for a duplicate when a sample is not newer than the
// series, and trimmed every 16 samples.
constexpr const char* kScript = R"lua(
local ts = ARGV[1]
local tsn = tonumber(ts)
local blob = redis.call('GET', KEYS[2])
local sum, sumsq, n, run_len, last_ts, seen = 0, 0, 0, 0, nil, 0
local win, run = '', ''
if blob and #blob >= 48 then
  sum, sumsq, n, run_len, last_ts, seen = struct.unpack('<dddddd', blob)
  if #blob ~= 48 + 8 * (n + run_len) then
    sum, sumsq, n, run_len, last_ts, seen = 0, 0, 0, 0, nil, 0
  else
    win = string.sub(blob, 49, 48 + 8 * n)
    run = string.sub(blob, 49 + 8 * n)
  end
end
if last_ts and tsn <= last_ts then
  local existing = redis.call('ZRANGEBYSCORE', KEYS[1], ts, ts)
  if #existing > 0 then
    return {1, existing[1]}
  end
end
local value = tonumber(ARGV[2])
local dir, thr, min_consecutive, warmup, window, floor_abs, floor_rel, level_shift, history_len, recent_n =
  struct.unpack('<dddddddddd', ARGV[5])
seen = seen + 1

local function recompute()
  sum, sumsq = 0, 0
  for i = 0, n - 1 do
    local v = struct.unpack('<d', win, 1 + 8 * i)
    sum = sum + v
    sumsq = sumsq + v * v
  end
end
if seen % 64 == 0 then recompute() end

local mean, std = 0, 0
if n > 0 then
  mean = sum / n
  local var = sumsq / n - mean * mean
  if var > 0 then std = math.sqrt(var) end
end
local eff = math.max(std, floor_abs, floor_rel * math.abs(mean))
if eff <= 0 then eff = 1e-9 end
local n_before = n

local function accept(v)
  if v > 1e150 then v = 1e150 elseif v < -1e150 then v = -1e150 end
  win = win .. struct.pack('<d', v)
  n, sum, sumsq = n + 1, sum + v, sumsq + v * v
  if n > window + 1 then
    win = string.sub(win, 1 + 8 * (n - window))
    n = window
    recompute()
  elseif n > window then
    local old = struct.unpack('<d', win)
    win = string.sub(win, 9)
    n, sum, sumsq = n - 1, sum - old, sumsq - old * old
  end
end

local kind, z, consecutive = 'warmup', 0, 0
local decision, incident = '', ''
if n < warmup then
  run = ''
  accept(value)
else
  z = (value - mean) / eff
  if z ~= z then z = 0 elseif z > 1e12 then z = 1e12 elseif z < -1e12 then z = -1e12 end
  local breach = (dir > 0 and z > thr) or (dir < 0 and z < -thr) or (dir == 0 and math.abs(z) > thr)
  if not breach then
    run = ''
    accept(value)
    kind = 'normal'
  else
    consecutive = #run / 8 + 1
    run = run .. struct.pack('<d', value)
    if consecutive >= level_shift then
      local shifted = run
      win, run, n, sum, sumsq = '', '', 0, 0, 0
      for i = 0, #shifted / 8 - 1 do accept((struct.unpack('<d', shifted, 1 + 8 * i))) end
      kind = 'level_shift'
    elseif consecutive == min_consecutive then
      kind = 'raise'
      if redis.call('SET', KEYS[3], ARGV[3], 'NX') then
        decision, incident = 'new', ARGV[3]
      else
        decision, incident = 'attach', redis.call('GET', KEYS[3])
      end
    else
      kind = 'breach'
    end
  end
end

local newest = tsn
if last_ts and last_ts > newest then newest = last_ts end
redis.call('SET', KEYS[2], struct.pack('<dddddd', sum, sumsq, n, #run / 8, newest, seen) .. win .. run, 'EX', ARGV[4])

local member
if kind == 'normal' or kind == 'warmup' then
  member = ts .. '|' .. ARGV[2] .. '|' .. kind
else
  member = ts .. '|' .. ARGV[2] .. '|' .. kind .. '|' .. string.format('%.17g', z) .. '|' ..
    string.format('%.17g', mean) .. '|' .. string.format('%.17g', eff) .. '|' .. n_before .. '|' .. consecutive ..
    '|' .. decision .. '|' .. incident
end
redis.call('ZADD', KEYS[1], ts, member)
if seen % 16 == 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(history_len + 1)) end
if seen % 64 == 1 then redis.call('EXPIRE', KEYS[1], ARGV[4]) end

local reply = {0, member, struct.pack('<ddddd', z, mean, eff, n_before, consecutive)}
if kind == 'raise' then
  local recent = redis.call('ZREVRANGE', KEYS[1], 0, recent_n - 1)
  for i = #recent, 1, -1 do reply[#reply + 1] = recent[i] end
end
return reply
)lua";

// Shortest text that parses back to exactly `v` (Lua's tonumber reads it).
std::string Num(double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  return out;
}

template <typename T>
bool ParseNumber(std::string_view s, T& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

const RedisScript& BaselineScript() {
  static const RedisScript script(kScript);
  return script;
}

std::pair<std::vector<std::string>, std::vector<std::string>> BaselineScriptArgs(const SampleCall& c,
                                                                                 const MetricSettings& m) {
  std::vector<std::string> keys = {keys::SeriesHistory(c.service, c.metric), keys::SeriesWindow(c.service, c.metric),
                                   keys::OpenIncidentLock(c.service)};
  std::string settings;
  settings.reserve(10 * sizeof(double));
  for (double v : {m.direction == Direction::kUp ? 1.0 : m.direction == Direction::kDown ? -1.0 : 0.0,
                   m.threshold_sigma, static_cast<double>(m.min_consecutive), static_cast<double>(m.warmup_samples),
                   static_cast<double>(m.window), m.std_floor_abs, m.std_floor_rel,
                   static_cast<double>(m.level_shift_samples), static_cast<double>(kHistoryLength),
                   static_cast<double>(kRecentOnRaise)})
    keys::AppendPackedDouble(settings, v);
  std::vector<std::string> args = {std::to_string(c.ts), Num(c.value), c.candidate_incident_id,
                                   std::to_string(kSeriesTtlSeconds), std::move(settings)};
  return {std::move(keys), std::move(args)};
}

Expected<OnlineVerdict> ParseBaselineReply(const RedisReply& reply) {
  if (reply.is_error()) return Status::Transient("redis baseline script: " + reply.str);
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() < 2)
    return Status::Internal("redis baseline script: unexpected reply");
  OnlineVerdict out;
  out.duplicate = reply.elements[0].integer == 1;
  const std::string& member = reply.elements[1].str;
  auto parts = Split(member, '|');
  if (parts.size() != 3 && parts.size() != 10)
    return Status::Internal("redis baseline script: malformed verdict " + member.substr(0, 200));
  auto kind = ParseVerdictKind(parts[2]);
  if (!kind) return Status::Internal("redis baseline script: unknown verdict " + std::string(parts[2].substr(0, 40)));
  out.verdict.kind = *kind;
  if (parts.size() == 10) {
    // Lua writes integers as "50" and may write nan/inf in a %.17g field: both parse here.
    if (!ParseNumber(parts[3], out.verdict.z) || !ParseNumber(parts[4], out.verdict.mean) ||
        !ParseNumber(parts[5], out.verdict.std) || !ParseNumber(parts[6], out.verdict.baseline_size) ||
        !ParseNumber(parts[7], out.verdict.consecutive))
      return Status::Internal("redis baseline script: malformed verdict " + member.substr(0, 200));
    out.incident_decision = std::string(parts[8]);
    out.incident_id = std::string(parts[9]);
  }
  if (out.duplicate) return out;  // a stored normal member carries no scores: nothing is done with it
  constexpr size_t kNumbers = 5 * sizeof(double);
  if (reply.elements.size() < 3 || reply.elements[2].str.size() != kNumbers)
    return Status::Internal("redis baseline script: reply without scores");
  std::string_view numbers = reply.elements[2].str;
  out.verdict.z = FiniteScore(keys::PackedDouble(numbers, 0), kMaxSigma);
  out.verdict.mean = FiniteScore(keys::PackedDouble(numbers, 1), 1e300);
  out.verdict.std = FiniteScore(keys::PackedDouble(numbers, 2), 1e300);
  out.verdict.baseline_size = static_cast<int>(keys::PackedDouble(numbers, 3));
  out.verdict.consecutive = static_cast<int>(keys::PackedDouble(numbers, 4));
  for (size_t i = 3; i < reply.elements.size(); ++i)
    if (auto p = keys::ParseSeriesMember(reply.elements[i].str)) out.recent.push_back(*p);
  return out;
}

}  // namespace sre::detection
