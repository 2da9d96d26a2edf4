#include "groups/offsets_topic.h"

#include <cstdlib>
#include <span>

#include "kafka/wire.h"

namespace eddy::groups {
namespace {

constexpr int16_t kOffsetKeyVersion = 1;
constexpr int16_t kGroupKeyVersion = 2;
constexpr int16_t kOffsetValueVersion = 3;
constexpr int16_t kGroupValueVersion = 3;

std::string to_string(const std::vector<std::byte>& bytes) {
  return kafka::bytes_string(bytes);
}

Result<CommittedOffset> decode_offset_value(std::string_view value) {
  kafka::WireReader r(kafka::string_bytes(value), false);
  const int16_t version = r.i16();
  if (r.ok() && (version < 0 || version > 3)) {
    return Error(ErrorCode::kCorrupt,
                 "offset commit value version " + std::to_string(version) + " is not known");
  }
  CommittedOffset out;
  out.offset = r.i64();
  if (version >= 3) out.leader_epoch = r.i32();
  out.metadata = r.string();
  out.commit_timestamp_ms = r.i64();
  if (version == 1) (void)r.i64();  // expire timestamp: retention is the broker's setting now
  if (!r.ok()) return Error(ErrorCode::kCorrupt, "offset commit value: " + r.error());
  return out;
}

Result<StoredGroup> decode_group_value(std::string_view value) {
  kafka::WireReader r(kafka::string_bytes(value), false);
  const int16_t version = r.i16();
  if (r.ok() && (version < 0 || version > 3)) {
    return Error(ErrorCode::kCorrupt,
                 "group metadata value version " + std::to_string(version) + " is not known");
  }
  StoredGroup g;
  g.protocol_type = r.string();
  g.generation = r.i32();
  g.protocol = r.nullable_string();
  g.leader = r.nullable_string();
  if (version >= 2) g.state_timestamp_ms = r.i64();
  const int32_t members = r.array_length(8);
  for (int32_t i = 0; i < members && r.ok(); ++i) {
    StoredMember m;
    m.member_id = r.string();
    if (version >= 3) m.instance_id = r.nullable_string();
    m.client_id = r.string();
    m.client_host = r.string();
    if (version >= 1) m.rebalance_timeout_ms = r.i32();
    m.session_timeout_ms = r.i32();
    if (version == 0) m.rebalance_timeout_ms = m.session_timeout_ms;
    m.subscription = kafka::bytes_string(r.bytes());
    m.assignment = kafka::bytes_string(r.bytes());
    g.members.push_back(std::move(m));
  }
  if (!r.ok()) return Error(ErrorCode::kCorrupt, "group metadata value: " + r.error());
  return g;
}

}  // namespace

std::string encode_offset_key(const std::string& group, const TopicPartition& tp) {
  kafka::WireWriter w(false);
  w.i16(kOffsetKeyVersion);
  w.string(group);
  w.string(tp.topic);
  w.i32(tp.partition);
  return to_string(w.take());
}

std::string encode_offset_value(const CommittedOffset& offset) {
  kafka::WireWriter w(false);
  w.i16(kOffsetValueVersion);
  w.i64(offset.offset);
  w.i32(offset.leader_epoch);
  w.string(offset.metadata);
  w.i64(offset.commit_timestamp_ms);
  return to_string(w.take());
}

std::string encode_group_key(const std::string& group) {
  kafka::WireWriter w(false);
  w.i16(kGroupKeyVersion);
  w.string(group);
  return to_string(w.take());
}

std::string encode_group_value(const StoredGroup& g) {
  kafka::WireWriter w(false);
  w.i16(kGroupValueVersion);
  w.string(g.protocol_type);
  w.i32(g.generation);
  w.nullable_string(g.protocol);
  w.nullable_string(g.leader);
  w.i64(g.state_timestamp_ms);
  w.array_length(static_cast<int32_t>(g.members.size()));
  for (const StoredMember& m : g.members) {
    w.string(m.member_id);
    w.nullable_string(m.instance_id);
    w.string(m.client_id);
    w.string(m.client_host);
    w.i32(m.rebalance_timeout_ms);
    w.i32(m.session_timeout_ms);
    w.bytes(kafka::string_bytes(m.subscription));
    w.bytes(kafka::string_bytes(m.assignment));
  }
  return to_string(w.take());
}

Result<OffsetsRecord> decode_offsets_record(std::optional<std::string_view> key,
                                            std::optional<std::string_view> value) {
  if (!key) return Error(ErrorCode::kCorrupt, "record without a key");
  kafka::WireReader r(kafka::string_bytes(*key), false);
  const int16_t version = r.i16();
  OffsetsRecord out;
  out.group = r.string();
  if (version == 0 || version == 1) {
    out.kind = OffsetsRecord::Kind::kOffset;
    out.partition.topic = r.string();
    out.partition.partition = r.i32();
    if (!r.ok()) return Error(ErrorCode::kCorrupt, "offset commit key: " + r.error());
    if (value) {
      auto decoded = decode_offset_value(*value);
      if (!decoded.ok()) return decoded.error();
      out.offset = std::move(*decoded);
    }
    return out;
  }
  if (version == 2) {
    out.kind = OffsetsRecord::Kind::kGroup;
    if (!r.ok()) return Error(ErrorCode::kCorrupt, "group metadata key: " + r.error());
    if (value) {
      auto decoded = decode_group_value(*value);
      if (!decoded.ok()) return decoded.error();
      out.group_value = std::move(*decoded);
    }
    return out;
  }
  return Error(ErrorCode::kCorrupt, "key version " + std::to_string(version) + " is not known");
}

int32_t offsets_partition_for(const std::string& group, int32_t partitions) {
  // Java's String.hashCode over UTF-16 code units; group ids are almost always ASCII, for which
  // bytes and code units agree.
  int32_t hash = 0;
  for (unsigned char c : group)
    hash = static_cast<int32_t>(31u * static_cast<uint32_t>(hash) + c);
  const int64_t positive = hash == INT32_MIN ? 0 : std::abs(static_cast<int64_t>(hash));
  return static_cast<int32_t>(positive % partitions);
}

}  // namespace eddy::groups
