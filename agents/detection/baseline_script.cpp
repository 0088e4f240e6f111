#include "agents/detection/baseline_script.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <string_view>
#include <unordered_set>

#include "shared/ids.h"
#include "shared/redis_keys.h"

namespace sre::detection {
namespace {

constexpr int kHistoryLength = 360;       // samples kept per series (an hour at 10 s)
constexpr int kSeriesTtlSeconds = 4 * 86400;  // a silent series is forgotten after the seasonal memory
constexpr int kRecentOnRaise = 12;        // history returned on a raise, for time to failure
constexpr size_t kTokenBytes = 16;        // version and newest ts: what the compare-and-set compares
constexpr size_t kMaxCached = 200000;     // series states kept in the process
constexpr int kAttempts = 4;              // a sample is scored again at most this often on contention

// KEYS: 1 history zset, 2 series state (binary, PackState), 3 open-incident lock, 4 seasonal days
//       (binary, PackSeason)
// ARGV: 1 ts, 2 expected token (the first 16 bytes of the stored state, "" for none), 3 the new
//       state, 4 the history member, 5 "1" on a raise, 6 candidate incident id, 7 ttl seconds,
//       8 "1" when the sample may be a redelivery (not newer than the cached state), 9 "1" to
//       trim the history to ARGV[10] members, 11 recent samples returned on a raise, 12 "1" to
//       refresh the TTLs of the history and the days, 13 the new seasonal days ("": unchanged)
// Returns {0, member, recent...} when recorded; {1, stored member} for a sample already in the
// history; {2, current state, current days} when the stored state is not the expected one
// (nothing written). The script formats and parses no number: everything arrives ready.
constexpr const char* kScript = R"lua(
if ARGV[8] == '1' then
  local existing = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1])
  if #existing > 0 then return {1, existing[1]} end
end
local token = redis.call('GETRANGE', KEYS[2], 0, 15)
if token ~= ARGV[2] then
  return {2, redis.call('GET', KEYS[2]) or '', redis.call('GET', KEYS[4]) or ''}
end
local member = ARGV[4]
if ARGV[5] == '1' then
  if redis.call('SET', KEYS[3], ARGV[6], 'NX') then
    member = member .. '|new|' .. ARGV[6]
  else
    member = member .. '|attach|' .. redis.call('GET', KEYS[3])
  end
end
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[7])
if ARGV[13] ~= '' then redis.call('SET', KEYS[4], ARGV[13], 'EX', ARGV[7]) end
redis.call('ZADD', KEYS[1], ARGV[1], member)
if ARGV[9] == '1' then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[10]) + 1)) end
if ARGV[12] == '1' then
  redis.call('EXPIRE', KEYS[1], ARGV[7])
  redis.call('EXPIRE', KEYS[4], ARGV[7])
end
local reply = {0, member}
if ARGV[5] == '1' then
  local recent = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[11]) - 1)
  for i = #recent, 1, -1 do reply[#reply + 1] = recent[i] end
end
return reply
)lua";

// Shortest text that parses back to exactly `v`.
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

std::string SeriesId(const SampleCall& c) { return c.service + '\x1f' + c.metric; }

}  // namespace

const RedisScript& BaselineScript() {
  static const RedisScript script(kScript);
  return script;
}

std::string CandidateIncidentId(const SampleCall& c) {
  return UuidFromName("incident/" + c.service + "/" + c.metric + "/" + std::to_string(c.ts));
}

std::string HistoryMember(int64_t ts, double value, const Verdict& v) {
  std::string m = std::to_string(ts) + '|' + Num(value) + '|' + std::string(ToString(v.kind));
  if (v.kind == VerdictKind::kNormal || v.kind == VerdictKind::kWarmup) return m;
  for (double d : {v.z, v.mean, v.std}) m += '|' + Num(d);
  m += '|' + std::to_string(v.baseline_size) + '|' + std::to_string(v.consecutive);
  for (double d : {v.threshold, v.score}) m += '|' + Num(d);
  return m;
}

Expected<OnlineVerdict> ParseHistoryMember(const std::string& member) {
  auto parts = Split(member, '|');
  // 3: normal or warm-up; 12: HistoryMember plus decision and incident; 10: the former layout
  // (no threshold and score), still in histories written before the upgrade.
  if (parts.size() != 3 && parts.size() != 10 && parts.size() != 12)
    return Status::Internal("series history: malformed verdict " + member.substr(0, 200));
  OnlineVerdict out;
  auto kind = ParseVerdictKind(parts[2]);
  if (!kind) return Status::Internal("series history: unknown verdict " + std::string(parts[2].substr(0, 40)));
  out.verdict.kind = *kind;
  if (parts.size() >= 10) {
    bool ok = ParseNumber(parts[3], out.verdict.z) && ParseNumber(parts[4], out.verdict.mean) &&
              ParseNumber(parts[5], out.verdict.std) && ParseNumber(parts[6], out.verdict.baseline_size) &&
              ParseNumber(parts[7], out.verdict.consecutive);
    if (parts.size() == 12)
      ok = ok && ParseNumber(parts[8], out.verdict.threshold) && ParseNumber(parts[9], out.verdict.score);
    if (!ok) return Status::Internal("series history: malformed verdict " + member.substr(0, 200));
    out.incident_decision = std::string(parts[parts.size() - 2]);
    out.incident_id = std::string(parts[parts.size() - 1]);
  }
  return out;
}

void SeriesStore::Forget() {
  std::lock_guard<std::mutex> lock(mu_);
  cache_.clear();
}

std::vector<Expected<OnlineVerdict>> SeriesStore::Score(const std::vector<SampleCall>& calls,
                                                         const std::vector<const MetricSettings*>& settings) {
  std::lock_guard<std::mutex> lock(mu_);
  static const std::string kTtl = std::to_string(kSeriesTtlSeconds), kHistory = std::to_string(kHistoryLength),
                           kRecent = std::to_string(kRecentOnRaise);
  std::vector<Expected<OnlineVerdict>> out(calls.size(), OnlineVerdict{});
  if (cache_.size() > kMaxCached) cache_.clear();
  std::vector<size_t> todo(calls.size());
  std::vector<std::string> ids(calls.size());
  for (size_t i = 0; i < calls.size(); ++i) {
    todo[i] = i;
    ids[i] = SeriesId(calls[i]);
  }
  auto load = [](std::string_view blob, std::string_view season) {
    Cached c;
    c.token = std::string(blob.substr(0, kTokenBytes));
    if (auto s = UnpackState(blob, season)) c.state = std::move(*s);  // else a former layout: start over
    return c;
  };
  for (int attempt = 0; attempt < kAttempts && !todo.empty(); ++attempt) {
    // The states this process has not cached yet: one round trip for all of them.
    std::vector<std::string> missing;
    std::unordered_set<std::string> asked;
    std::vector<std::vector<std::string>> gets;
    for (size_t i : todo) {
      const std::string& id = ids[i];
      if (cache_.count(id) || !asked.insert(id).second) continue;
      missing.push_back(id);
      gets.push_back({"GET", keys::SeriesWindow(calls[i].service, calls[i].metric)});
      gets.push_back({"GET", keys::SeriesSeason(calls[i].service, calls[i].metric)});
    }
    if (!gets.empty()) {
      auto r = redis_.Pipeline(gets);
      if (!r.ok()) {
        for (size_t i : todo) out[i] = r.status();
        return out;
      }
      for (size_t k = 0; k < missing.size(); ++k) {
        const RedisReply& state = (*r)[2 * k];
        const RedisReply& season = (*r)[2 * k + 1];
        if (state.is_error() || season.is_error()) {
          for (size_t i : todo) out[i] = Status::Transient("redis: " + (state.is_error() ? state.str : season.str));
          return out;
        }
        cache_[missing[k]] = state.type == RedisReply::Type::kString
                                 ? load(state.str, season.type == RedisReply::Type::kString ? season.str : "")
                                 : Cached{};
      }
    }
    std::vector<Verdict> computed(calls.size());
    EvalStream stream(redis_, BaselineScript());
    for (size_t i : todo) {
      const SampleCall& c = calls[i];
      Cached& cached = cache_[ids[i]];
      bool maybe_duplicate = cached.state.version > 0 && static_cast<double>(c.ts) <= cached.state.last_ts;
      Verdict v = Observe(cached.state, c.ts, c.value, *settings[i]);
      std::string blob = PackState(cached.state);
      std::string season;
      if (cached.state.season_dirty) {
        season = PackSeason(cached.state);
        cached.state.season_dirty = false;
      }
      uint64_t version = static_cast<uint64_t>(cached.state.version);
      std::string expected = std::move(cached.token);
      cached.token = blob.substr(0, kTokenBytes);
      std::string member = HistoryMember(c.ts, c.value, v);
      if (v.kind == VerdictKind::kBreach || v.kind == VerdictKind::kLevelShift) member += "||";
      stream.Add({{keys::SeriesHistory(c.service, c.metric), keys::SeriesWindow(c.service, c.metric),
                   keys::OpenIncidentLock(c.service), keys::SeriesSeason(c.service, c.metric)},
                  {std::to_string(c.ts), std::move(expected), std::move(blob), std::move(member),
                   v.kind == VerdictKind::kRaise ? "1" : "0",
                   v.kind != VerdictKind::kRaise     ? std::string()
                   : c.candidate_incident_id.empty() ? CandidateIncidentId(c)
                                                     : c.candidate_incident_id,
                   kTtl,
                   maybe_duplicate ? "1" : "0", version % 16 == 0 ? "1" : "0", kHistory, kRecent,
                   version % 64 == 1 ? "1" : "0", std::move(season)}});
      computed[i] = v;
    }
    auto replies = stream.Finish();
    if (!replies.ok()) {
      // What Redis recorded is unknown: forget the states this batch touched.
      for (size_t i : todo) {
        cache_.erase(ids[i]);
        out[i] = replies.status();
      }
      return out;
    }
    std::vector<size_t> again;
    for (size_t k = 0; k < todo.size(); ++k) {
      size_t i = todo[k];
      const RedisReply& reply = (*replies)[k];
      if (reply.is_error()) {
        cache_.erase(ids[i]);
        out[i] = Status::Transient("redis baseline script: " + reply.str);
        continue;
      }
      if (reply.type != RedisReply::Type::kArray || reply.elements.size() < 2) {
        cache_.erase(ids[i]);
        out[i] = Status::Internal("redis baseline script: unexpected reply");
        continue;
      }
      int64_t status = reply.elements[0].integer;
      if (status == 2) {  // someone else wrote the state: score again on theirs
        cache_[ids[i]] = load(reply.elements[1].str, reply.elements.size() > 2 ? reply.elements[2].str : "");
        again.push_back(i);
        continue;
      }
      if (status == 1) {  // a redelivery: its stored verdict; the cached state counted it again
        cache_.erase(ids[i]);
        auto stored = ParseHistoryMember(reply.elements[1].str);
        if (stored.ok()) stored->duplicate = true;
        out[i] = std::move(stored);
        continue;
      }
      OnlineVerdict v;
      v.verdict = computed[i];
      if (v.verdict.kind == VerdictKind::kRaise) {
        auto recorded = ParseHistoryMember(reply.elements[1].str);
        if (recorded.ok()) {
          v.incident_decision = recorded->incident_decision;
          v.incident_id = recorded->incident_id;
        }
        for (size_t e = 2; e < reply.elements.size(); ++e)
          if (auto p = keys::ParseSeriesMember(reply.elements[e].str)) v.recent.push_back(*p);
      }
      out[i] = std::move(v);
    }
    todo = std::move(again);
  }
  for (size_t i : todo) out[i] = Status::Transient("series state kept changing under this consumer");
  return out;
}

}  // namespace sre::detection
