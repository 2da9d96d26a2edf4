// Result<T>: the value-or-error type every subsystem returns for expected failures.
//
// An Error carries a subsystem-neutral code (ErrorCode) and a human-readable message. Subsystems
// that need a wire-visible code (Kafka error codes, SQLSTATEs) map from ErrorCode at their
// boundary. Exceptions are reserved for programming errors; anything that can happen at run time
// because of input, disk or network state is returned as a Result.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace eddy {

enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,  // the caller passed something malformed
  kNotFound,         // topic, partition, file, key does not exist
  kAlreadyExists,    // topic or file already exists
  kCorrupt,          // bytes on disk or wire failed a CRC, length or format check
  kIoError,          // read/write/fsync failed
  kNoSpace,          // ENOSPC
  kOutOfRange,       // offset or position outside the valid range
  kTooLarge,         // a size exceeds a configured bound
  kBusy,             // resource held by someone else (e.g. data directory lock)
  kClosed,           // component is shut down or the resource was deleted
  kTimeout,          // an operation did not complete in time
  kUnsupported,      // valid but not implemented/allowed
  kOutOfSequence,    // a sequence number does not follow the last one accepted
  kStaleEpoch,       // the request carries an epoch older than the current one (fenced)
  kInternal,         // invariant broken; a bug
};

const char* error_code_name(ErrorCode code);

class [[nodiscard]] Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "CODE: message", for logs and user-facing errors.
  std::string to_string() const;

 private:
  ErrorCode code_;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : storage_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : storage_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return storage_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(storage_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(storage_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(storage_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(storage_);
  }

 private:
  std::variant<T, Error> storage_;
};

// Result<void> equivalent.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), has_error_(true) {}  // NOLINT: implicit

  static Status ok_status() { return Status(); }
  bool ok() const { return !has_error_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const {
    assert(has_error_);
    return error_;
  }

 private:
  Error error_{ErrorCode::kOk, {}};
  bool has_error_ = false;
};

inline Status ok_status() {
  return Status();
}

}  // namespace eddy

#define EDDY_CONCAT_INNER(a, b) a##b
#define EDDY_CONCAT(a, b) EDDY_CONCAT_INNER(a, b)

// Returns the error from the enclosing function if `expr` (a Status or Result) failed.
#define RETURN_IF_ERROR(expr)                            \
  do {                                                   \
    auto&& eddy_status_ = (expr);                        \
    if (!eddy_status_.ok()) return eddy_status_.error(); \
  } while (false)

// `ASSIGN_OR_RETURN(auto x, f())` unwraps a Result or returns its error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(EDDY_CONCAT(eddy_result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.error();          \
  lhs = std::move(tmp).value()
