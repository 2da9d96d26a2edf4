#include <algorithm>

#include "kafka/handlers/handlers.h"

namespace eddy::kafka {

const std::vector<Handler>& handlers() {
  static const std::vector<Handler> all = [] {
    std::vector<Handler> list = {
        make_produce_handler(),           make_fetch_handler(),
        make_list_offsets_handler(),      make_init_producer_id_handler(),
        make_metadata_handler(),          make_api_versions_handler(),
        make_create_topics_handler(),     make_delete_topics_handler(),
        make_describe_configs_handler(),  make_alter_configs_handler(),
        make_create_partitions_handler(), make_incremental_alter_configs_handler(),
        make_describe_cluster_handler(),
    };
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
