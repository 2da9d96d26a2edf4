#include "storage/catalog.h"

#include "storage/sealed_text.h"

#include <charconv>
#include <cstdio>
#include <random>
#include <sstream>
#include <vector>

#include "common/crc32c.h"

namespace eddy::storage {
namespace {

constexpr uint64_t kMaxCatalogBytes = 64 << 20;
constexpr const char* kHeader = "eddy-catalog 1";

std::vector<std::string> split_spaces(const std::string& line) {
  std::vector<std::string> parts;
  std::string current;
  std::istringstream in(line);
  while (in >> current)
    parts.push_back(current);
  return parts;
}

bool parse_hex_id(const std::string& hex, TopicId& id) {
  if (hex.size() != 32) return false;
  for (size_t i = 0; i < 16; ++i) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, value, 16);
    if (ec != std::errc() || ptr != hex.data() + 2 * i + 2) return false;
    id[i] = static_cast<uint8_t>(value);
  }
  return true;
}

}  // namespace

std::string topic_id_hex(const TopicId& id) {
  std::string out;
  char buf[3];
  for (uint8_t b : id) {
    std::snprintf(buf, sizeof(buf), "%02x", b);
    out += buf;
  }
  return out;
}

TopicId random_topic_id() {
  std::random_device rd;
  TopicId id{};
  for (auto& b : id)
    b = static_cast<uint8_t>(rd());
  return id;
}

Status validate_topic_name(const std::string& name) {
  if (name.empty()) return Error(ErrorCode::kInvalidArgument, "topic name is empty");
  if (name.size() > 249) {
    return Error(ErrorCode::kInvalidArgument, "topic name is longer than 249 characters");
  }
  if (name == "." || name == "..") {
    return Error(ErrorCode::kInvalidArgument, "topic name cannot be '.' or '..'");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return Error(ErrorCode::kInvalidArgument,
                   "topic name '" + name +
                       "' has characters other than ASCII letters, digits, '.', '_' and '-'");
    }
  }
  return ok_status();
}

std::string encode_catalog(const TopicMap& topics) {
  std::string out = std::string(kHeader) + "\n";
  for (const auto& [name, topic] : topics) {
    out += "topic " + name + " " + topic_id_hex(topic.id) + " " + std::to_string(topic.partitions) +
           "\n";
    for (const auto& [key, value] : topic.overrides) {
      out += "config " + name + " " + key + " " + value + "\n";
    }
  }
  return seal_text(std::move(out));
}

Result<TopicMap> decode_catalog(const std::string& text, const std::string& origin) {
  auto corrupt = [&](const std::string& why) {
    return Error(ErrorCode::kCorrupt, "topic catalog " + origin + " is damaged: " + why);
  };
  ASSIGN_OR_RETURN(std::string body, unseal_text(text, "topic catalog " + origin));

  TopicMap topics;
  std::istringstream in(body);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    auto where = [&] { return " (line " + std::to_string(line_no) + ")"; };
    if (line_no == 1) {
      if (line != kHeader) return corrupt("unknown format '" + line + "'");
      continue;
    }
    auto parts = split_spaces(line);
    if (parts.size() == 4 && parts[0] == "topic") {
      TopicInfo topic;
      topic.name = parts[1];
      if (!validate_topic_name(topic.name).ok()) return corrupt("bad topic name" + where());
      if (!parse_hex_id(parts[2], topic.id)) return corrupt("bad topic id" + where());
      auto [ptr, ec] =
          std::from_chars(parts[3].data(), parts[3].data() + parts[3].size(), topic.partitions);
      if (ec != std::errc() || topic.partitions <= 0) {
        return corrupt("bad partition count" + where());
      }
      topics[topic.name] = topic;
    } else if ((parts.size() == 4 || parts.size() == 3) && parts[0] == "config") {
      // Three fields: an empty value (an empty list, such as no replication throttles).
      const std::string value = parts.size() == 4 ? parts[3] : "";
      auto it = topics.find(parts[1]);
      if (it == topics.end()) return corrupt("config for unknown topic" + where());
      if (!TopicConfig::validate(parts[2], value).ok()) return corrupt("bad config" + where());
      it->second.overrides[parts[2]] = value;
    } else {
      return corrupt("unrecognised line" + where());
    }
  }
  if (line_no == 0) return corrupt("empty");
  return topics;
}

Result<TopicMap> load_catalog(FileSystem& fs, const std::string& path) {
  ASSIGN_OR_RETURN(auto text, read_text_file(fs, path, kMaxCatalogBytes));
  if (!text) return TopicMap{};
  return decode_catalog(*text, path);
}

Status store_catalog(FileSystem& fs, const std::string& path, const TopicMap& topics) {
  return write_text_file(fs, path, encode_catalog(topics));
}

}  // namespace eddy::storage
