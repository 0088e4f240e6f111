#include "tests/support/fake_loki_server.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <regex>
#include <variant>

#include "shared/json_codec.h"
#include "tests/support/local_http_server.h"

namespace sre::testing {
namespace {

struct Filter {
  std::string op;  // |=  !=  |~  !~
  std::string text;
};

struct LogQuery {
  std::vector<std::pair<std::string, std::string>> matchers;
  std::vector<Filter> filters;
};

struct ParseError {
  size_t col;
  std::string what;
};

// A double-quoted LogQL string at s[i] (i at the quote); i moves past it.
std::optional<std::string> QuotedString(const std::string& s, size_t& i) {
  if (i >= s.size() || s[i] != '"') return std::nullopt;
  std::string out;
  for (++i; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      ++i;
      return out;
    }
    if (c == '\\' && i + 1 < s.size()) {
      char n = s[++i];
      out += n == 'n' ? '\n' : n == 't' ? '\t' : n;
    } else {
      out += c;
    }
  }
  return std::nullopt;
}

void Spaces(const std::string& s, size_t& i) {
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
}

std::variant<LogQuery, ParseError> Parse(const std::string& s) {
  LogQuery q;
  size_t i = 0;
  Spaces(s, i);
  if (i >= s.size() || s[i] != '{') return ParseError{i + 1, "syntax error: unexpected IDENTIFIER"};
  ++i;
  for (;;) {
    Spaces(s, i);
    if (i < s.size() && s[i] == '}') {
      ++i;
      break;
    }
    size_t name_start = i;
    while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
    std::string name = s.substr(name_start, i - name_start);
    Spaces(s, i);
    if (name.empty() || i >= s.size() || s[i] != '=')
      return ParseError{i + 1, "syntax error: unexpected character"};
    ++i;
    Spaces(s, i);
    auto value = QuotedString(s, i);
    if (!value) return ParseError{i + 1, "syntax error: unexpected end of string"};
    q.matchers.emplace_back(name, *value);
    Spaces(s, i);
    if (i < s.size() && s[i] == ',') ++i;
  }
  if (q.matchers.empty())
    return ParseError{1,
                      "queries require at least one regexp or equality matcher that does not have "
                      "an empty-compatible value"};
  for (;;) {
    Spaces(s, i);
    if (i >= s.size()) break;
    if (i + 1 >= s.size()) return ParseError{i + 1, "syntax error: unexpected end of input"};
    std::string op = s.substr(i, 2);
    if (op != "|=" && op != "!=" && op != "|~" && op != "!~")
      return ParseError{i + 1, "syntax error: unexpected " + op};
    i += 2;
    Spaces(s, i);
    auto text = QuotedString(s, i);
    if (!text) return ParseError{i + 1, "syntax error: unexpected end of string"};
    q.filters.push_back({op, *text});
  }
  return q;
}

bool Matches(const Filter& f, const std::string& line) {
  if (f.op == "|=") return line.find(f.text) != std::string::npos;
  if (f.op == "!=") return line.find(f.text) == std::string::npos;
  std::string pattern = f.text;
  auto flags = std::regex::ECMAScript;
  if (pattern.rfind("(?i)", 0) == 0) {
    pattern = pattern.substr(4);
    flags |= std::regex::icase;
  }
  bool found = std::regex_search(line, std::regex(pattern, flags));
  return f.op == "|~" ? found : !found;
}

std::optional<int64_t> ParseNs(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (*end != '\0') return std::nullopt;
  return v;
}

Json Stats(size_t lines) {
  return {{"summary",
           {{"bytesProcessedPerSecond", 0},
            {"linesProcessedPerSecond", 0},
            {"totalBytesProcessed", 0},
            {"totalLinesProcessed", lines},
            {"execTime", 0.001}}}};
}

}  // namespace

FakeLokiServer::FakeLokiServer() : http_(std::make_unique<LocalHttpServer>("FakeLokiServer")) {
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    LokiRequest r;
    r.method = req.method;
    r.path = req.path;
    for (const auto& [k, v] : req.params) r.params[k] = v;
    Answer a = Serve(std::move(r));
    res.status = a.status;
    res.set_content(a.body, a.content_type.c_str());
  };
  http_->routes().Get(".*", handler);
  http_->routes().Post(".*", handler);
  http_->Start();
}

FakeLokiServer::~FakeLokiServer() { Stop(); }

void FakeLokiServer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  http_->Stop();
}

int FakeLokiServer::port() const { return http_->port(); }

void FakeLokiServer::AddStream(FakeLogStream stream) {
  std::lock_guard<std::mutex> lock(mu_);
  streams_.push_back(std::move(stream));
}

void FakeLokiServer::SetMatrix(const std::string& query, std::vector<FakeLokiSeries> series) {
  std::lock_guard<std::mutex> lock(mu_);
  matrices_[query] = std::move(series);
}

void FakeLokiServer::FailWith(int status, std::string body, std::string content_type) {
  std::lock_guard<std::mutex> lock(mu_);
  failure_ = Answer{status, std::move(body), std::move(content_type)};
}

void FakeLokiServer::ClearFailure() {
  std::lock_guard<std::mutex> lock(mu_);
  failure_.reset();
}

void FakeLokiServer::SetDelay(std::chrono::milliseconds delay) {
  std::lock_guard<std::mutex> lock(mu_);
  delay_ = delay;
}

std::vector<LokiRequest> FakeLokiServer::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

size_t FakeLokiServer::RequestCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_.size();
}

std::string FakeLokiServer::BaseUrl() const { return "http://127.0.0.1:" + std::to_string(port()); }

FakeLokiServer::Answer FakeLokiServer::Serve(LokiRequest request) {
  std::unique_lock<std::mutex> lock(mu_);
  requests_.push_back(request);
  if (delay_.count() > 0) cv_.wait_for(lock, delay_, [this] { return stopping_; });
  if (failure_) return *failure_;
  const char* text = "text/plain; charset=utf-8";
  const char* json = "application/json; charset=UTF-8";
  if (request.path != "/loki/api/v1/query_range") return {404, "404 page not found\n", text};
  const auto& p = request.params;
  auto param = [&](const char* name) {
    auto it = p.find(name);
    return it == p.end() ? std::string() : it->second;
  };
  const std::string query = param("query");
  if (query.empty()) return {400, "query parameter is required\n", text};

  if (auto m = matrices_.find(query); m != matrices_.end()) {
    Json result = Json::array();
    for (const auto& s : m->second) {
      Json metric = Json::object();
      for (const auto& [k, v] : s.labels) metric[k] = v;
      Json values = Json::array();
      for (const auto& [t, v] : s.values) values.push_back(Json::array({t, v}));
      result.push_back({{"metric", metric}, {"values", values}});
    }
    return {
        200,
        Dump(Json{{"status", "success"},
                  {"data", {{"resultType", "matrix"}, {"result", result}, {"stats", Stats(0)}}}}),
        json};
  }

  auto parsed = Parse(query);
  if (auto* e = std::get_if<ParseError>(&parsed))
    return {400, "parse error at line 1, col " + std::to_string(e->col) + ": " + e->what + "\n",
            text};
  const auto& q = std::get<LogQuery>(parsed);
  auto start = ParseNs(param("start"));
  auto end = ParseNs(param("end"));
  if (!start || !end)
    return {400, "invalid start or end: expected a Unix timestamp in nanoseconds\n", text};
  if (*end < *start)
    return {400, "end timestamp must not be before or equal to start time\n", text};
  int64_t limit = 100;
  if (!param("limit").empty()) {
    auto l = ParseNs(param("limit"));
    if (!l || *l <= 0) return {400, "limit must be a positive value\n", text};
    limit = *l;
  }
  if (limit > 5000)
    return {400,
            "max entries limit per query exceeded, limit > max_entries_limit (" +
                std::to_string(limit) + " > 5000)\n",
            text};
  const bool backward = param("direction").empty() || param("direction") == "backward";

  struct Hit {
    size_t stream;
    int64_t ts;
    const std::string* line;
  };
  std::vector<Hit> hits;
  for (size_t s = 0; s < streams_.size(); ++s) {
    const auto& st = streams_[s];
    bool selected = std::all_of(q.matchers.begin(), q.matchers.end(), [&](const auto& m) {
      auto it = st.labels.find(m.first);
      return it != st.labels.end() && it->second == m.second;
    });
    if (!selected) continue;
    for (const auto& [ts, line] : st.entries) {
      if (ts < *start || ts >= *end) continue;
      if (!std::all_of(q.filters.begin(), q.filters.end(),
                       [&](const Filter& f) { return Matches(f, line); }))
        continue;
      hits.push_back({s, ts, &line});
    }
  }
  std::stable_sort(hits.begin(), hits.end(), [&](const Hit& a, const Hit& b) {
    return backward ? a.ts > b.ts : a.ts < b.ts;
  });
  if (hits.size() > static_cast<size_t>(limit)) hits.resize(static_cast<size_t>(limit));
  std::map<size_t, Json> by_stream;
  std::vector<size_t> order;
  for (const auto& h : hits) {
    if (!by_stream.count(h.stream)) {
      by_stream[h.stream] = Json::array();
      order.push_back(h.stream);
    }
    by_stream[h.stream].push_back(Json::array({std::to_string(h.ts), *h.line}));
  }
  Json result = Json::array();
  for (size_t s : order) {
    Json labels = Json::object();
    for (const auto& [k, v] : streams_[s].labels) labels[k] = v;
    result.push_back({{"stream", labels}, {"values", by_stream[s]}});
  }
  return {
      200,
      Dump(Json{{"status", "success"},
                {"data",
                 {{"resultType", "streams"}, {"result", result}, {"stats", Stats(hits.size())}}}}),
      json};
}

}  // namespace sre::testing
