#include <algorithm>

#include "kafka/handlers/handlers.h"

namespace eddy::kafka {

const std::vector<Handler>& handlers() {
  static const std::vector<Handler> all = [] {
    // One per line (clang-format off keeps it that way), so adding an API is a one-line change.
    // clang-format off
    std::vector<Handler> list = {
        make_produce_handler(),
        make_fetch_handler(),
        make_list_offsets_handler(),
        make_metadata_handler(),
        make_api_versions_handler(),
        make_init_producer_id_handler(),
        make_create_topics_handler(),
        make_delete_topics_handler(),
        make_delete_records_handler(),
        make_describe_configs_handler(),
        make_alter_configs_handler(),
        make_create_partitions_handler(),
        make_incremental_alter_configs_handler(),
        make_describe_cluster_handler(),
        make_find_coordinator_handler(),
        make_join_group_handler(),
        make_sync_group_handler(),
        make_heartbeat_handler(),
        make_leave_group_handler(),
        make_offset_commit_handler(),
        make_offset_fetch_handler(),
        make_offset_delete_handler(),
        make_list_groups_handler(),
        make_describe_groups_handler(),
        make_delete_groups_handler(),
    };
    // clang-format on
    std::sort(list.begin(), list.end(),
              [](const Handler& a, const Handler& b) { return a.key < b.key; });
    return list;
  }();
  return all;
}

const Handler* find_handler(int16_t api_key) {
  for (const auto& h : handlers()) {
    if (static_cast<int16_t>(h.key) == api_key) return &h;
  }
  return nullptr;
}

KafkaError to_kafka_error(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kOk:
      return KafkaError::kNone;
    case ErrorCode::kCorrupt:
      return KafkaError::kCorruptMessage;
    case ErrorCode::kTooLarge:
      return KafkaError::kMessageTooLarge;
    case ErrorCode::kNotFound:
      return KafkaError::kUnknownTopicOrPartition;
    case ErrorCode::kOutOfRange:
      return KafkaError::kOffsetOutOfRange;
    case ErrorCode::kAlreadyExists:
      return KafkaError::kTopicAlreadyExists;
    case ErrorCode::kInvalidArgument:
      return KafkaError::kInvalidRequest;
    case ErrorCode::kIoError:
    case ErrorCode::kNoSpace:
      return KafkaError::kKafkaStorageError;
    case ErrorCode::kTimeout:
      return KafkaError::kRequestTimedOut;
    case ErrorCode::kUnsupported:
      return KafkaError::kUnsupportedForMessageFormat;
    case ErrorCode::kOutOfSequence:
      return KafkaError::kOutOfOrderSequenceNumber;
    case ErrorCode::kStaleEpoch:
      return KafkaError::kInvalidProducerEpoch;
    default:
      return KafkaError::kUnknownServerError;
  }
}

}  // namespace eddy::kafka
