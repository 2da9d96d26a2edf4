#include "kafka/request.h"

namespace eddy::kafka {

Result<ParsedRequest> parse_request(std::span<const std::byte> frame) {
  // Header v1 (classic) fields come first in every version; header v2 adds tagged fields after
  // them, and whether it is v2 depends on the handler's flexible versions.
  WireReader header(frame, false);
  ParsedRequest request;
  request.api_key = header.i16();
  request.api_version = header.i16();
  request.correlation_id = header.i32();
  request.client_id = header.classic_nullable_string();
  if (!header.ok()) {
    return Error(ErrorCode::kInvalidArgument, "bad request header: " + header.error());
  }
  request.handler = find_handler(request.api_key);
  if (request.handler == nullptr) {
    request.error = RequestErrorKind::kUnknownApiKey;
    return request;
  }
  const Handler& handler = *request.handler;
  if (request.api_version < handler.min_version || request.api_version > handler.max_version) {
    request.error = RequestErrorKind::kUnsupportedVersion;
    return request;
  }
  request.flexible = handler.flexible(request.api_version);
  request.response_header_v1 = request.flexible && handler.key != ApiKey::kApiVersions;
  header.set_flexible(request.flexible);
  header.tagged_fields();  // request header v2 only in flexible versions
  if (!header.ok()) {
    return Error(ErrorCode::kInvalidArgument, "bad request header: " + header.error());
  }
  request.body_offset = header.position();
  return request;
}

std::vector<std::byte> unsupported_api_versions_body() {
  WireWriter w(false);
  w.i16(code(KafkaError::kUnsupportedVersion));
  w.array_length(static_cast<int32_t>(handlers().size()));
  for (const auto& h : handlers()) {
    w.i16(static_cast<int16_t>(h.key));
    w.i16(h.min_version);
    w.i16(h.max_version);
  }
  return w.take();
}

}  // namespace eddy::kafka
