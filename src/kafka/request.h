// Request framing above the wire primitives: turns one size-delimited frame into the request
// header fields, the handler that serves it and the position where its body starts.
//
// Kept apart from the server so the same code path can be driven without sockets (the fuzzer
// feeds arbitrary frames through it) and so the connection loop only deals with I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "kafka/protocol.h"

namespace eddy::kafka {

// Why a request whose header could be read cannot be handed to a handler.
enum class RequestErrorKind {
  kNone,
  kUnknownApiKey,       // no handler for the API key
  kUnsupportedVersion,  // a handler exists but not for this version
};

struct ParsedRequest {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string> client_id;
  // Null exactly when error == kUnknownApiKey.
  const Handler* handler = nullptr;
  RequestErrorKind error = RequestErrorKind::kNone;
  // The body (and request header v2) use compact encodings and tagged fields.
  bool flexible = false;
  // The response carries header v1 (tagged fields). ApiVersions always answers with header v0:
  // clients parse it before they know whether the broker speaks flexible versions.
  bool response_header_v1 = false;
  // Where the body starts in the frame; meaningful only when error == kNone.
  size_t body_offset = 0;
};

// Parses the request header of `frame` (the bytes after the size prefix). An Error means the
// header itself is malformed (truncated, bad client id, bad header tagged fields) and the
// connection should close; a request that is readable but cannot be served comes back with
// `error` set so the caller can still answer where the protocol says to (ApiVersions).
Result<ParsedRequest> parse_request(std::span<const std::byte> frame);

// A reader over the body of a request parse_request accepted (error == kNone).
inline WireReader body_reader(std::span<const std::byte> frame, const ParsedRequest& request) {
  return WireReader(frame.subspan(request.body_offset), request.flexible);
}

// True when the protocol wants an answer to an unsupported request instead of a closed
// connection: an ApiVersions the broker does not speak, answered with unsupported_versions_body().
inline bool answers_unsupported_version(const ParsedRequest& request) {
  return request.error == RequestErrorKind::kUnsupportedVersion &&
         request.handler->key == ApiKey::kApiVersions;
}

// ApiVersions answered in its v0 layout with UNSUPPORTED_VERSION, as Kafka does for versions it
// does not support, so the client can pick a version it and we share. Response header v0.
std::vector<std::byte> unsupported_api_versions_body();

}  // namespace eddy::kafka
