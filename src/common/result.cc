#include "common/result.h"

namespace eddy {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "OK";
    case ErrorCode::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case ErrorCode::kNotFound:
      return "NOT_FOUND";
    case ErrorCode::kAlreadyExists:
      return "ALREADY_EXISTS";
    case ErrorCode::kCorrupt:
      return "CORRUPT";
    case ErrorCode::kIoError:
      return "IO_ERROR";
    case ErrorCode::kNoSpace:
      return "NO_SPACE";
    case ErrorCode::kOutOfRange:
      return "OUT_OF_RANGE";
    case ErrorCode::kTooLarge:
      return "TOO_LARGE";
    case ErrorCode::kBusy:
      return "BUSY";
    case ErrorCode::kClosed:
      return "CLOSED";
    case ErrorCode::kTimeout:
      return "TIMEOUT";
    case ErrorCode::kUnsupported:
      return "UNSUPPORTED";
    case ErrorCode::kOutOfSequence:
      return "OUT_OF_SEQUENCE";
    case ErrorCode::kStaleEpoch:
      return "STALE_EPOCH";
    case ErrorCode::kInternal:
      return "INTERNAL";
  }
  return "UNKNOWN";
}

std::string Error::to_string() const {
  return std::string(error_code_name(code_)) + ": " + message_;
}

}  // namespace eddy
