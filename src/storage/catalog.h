// The durable list of topics: names, ids, partition counts and per-topic config overrides.
//
// File `catalog` in the data directory, replaced atomically (write, fsync, rename, fsync dir) on
// every change, so a crash leaves the old or the new list, never a mix. Text, one item a line:
//
//   eddy-catalog 1
//   topic <name> <32 hex digit id> <partition count>
//   config <topic name> <key> <value>
//   crc <8 hex digits: CRC-32C of every byte before this line>
//
// Topic names are [A-Za-z0-9._-]{1,249} and config values are stored normalized
// (TopicConfig::normalize), which never holds white space, so fields are separated by single
// spaces; a config line without a value field has an empty value.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "common/file_io.h"
#include "common/result.h"
#include "storage/topic_config.h"

namespace eddy::storage {

using TopicId = std::array<uint8_t, 16>;

struct TopicInfo {
  std::string name;
  TopicId id{};
  int32_t partitions = 0;
  ConfigMap overrides;
};

std::string topic_id_hex(const TopicId& id);
TopicId random_topic_id();
// Kafka's rule for topic names.
Status validate_topic_name(const std::string& name);

using TopicMap = std::map<std::string, TopicInfo>;

std::string encode_catalog(const TopicMap& topics);
// `origin` names the file in error messages.
Result<TopicMap> decode_catalog(const std::string& text, const std::string& origin);

Result<TopicMap> load_catalog(FileSystem& fs, const std::string& path);
Status store_catalog(FileSystem& fs, const std::string& path, const TopicMap& topics);

}  // namespace eddy::storage
