#pragma once
// Status: the result of an operation that can fail, in the spirit of leveldb::Status.
// The error kind says whether retrying can help, and what a consumer does with the message:
//   kTransient — a dependency is unavailable (broker, Redis, PostgreSQL, SMTP, LLM): retry later,
//                for as long as it takes; the message is kept.
//   kInvalid   — the input is malformed (bad JSON, missing field, unknown enum, a value the store
//                rejects): retrying cannot help; consumers dead-letter it at once.
//   kInternal  — an unexpected failure handling this one input (a handler exception, a rejected
//                statement, a malformed store reply): consumers retry it a few times, then
//                dead-letter it with the reason and move on. One input never stops a process.
//   kFatal     — a process-level condition (bad configuration, lost credentials, a fatal client
//                error): the process stops. Never returned for a problem of one input.
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace sre {

enum class ErrorKind { kTransient, kInvalid, kInternal, kFatal };

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Transient(std::string message) {
    return Status(ErrorKind::kTransient, std::move(message));
  }
  static Status Invalid(std::string message) {
    return Status(ErrorKind::kInvalid, std::move(message));
  }
  static Status Internal(std::string message) {
    return Status(ErrorKind::kInternal, std::move(message));
  }
  static Status Fatal(std::string message) { return Status(ErrorKind::kFatal, std::move(message)); }

  bool ok() const { return !kind_.has_value(); }
  bool transient() const { return kind_ == ErrorKind::kTransient; }
  bool invalid() const { return kind_ == ErrorKind::kInvalid; }
  bool internal() const { return kind_ == ErrorKind::kInternal; }
  bool fatal() const { return kind_ == ErrorKind::kFatal; }
  ErrorKind kind() const { return *kind_; }
  const std::string& message() const { return message_; }
  // "ok", or "<kind>: <message>".
  std::string ToString() const;

 private:
  Status(ErrorKind kind, std::string message) : kind_(kind), message_(std::move(message)) {}
  std::optional<ErrorKind> kind_;
  std::string message_;
};

// A value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Expected(Status status) : v_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  // The error; Status::Ok() when a value is present.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace sre
