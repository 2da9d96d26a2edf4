#include "storage/producer_state.h"

#include <cstring>

#include <algorithm>
#include <climits>

#include "common/crc32c.h"

namespace eddy::storage {
namespace {

constexpr char kSnapshotMagic[4] = {'E', 'D', 'P', 'S'};
constexpr int16_t kSnapshotVersion = 1;
constexpr size_t kSnapshotHeaderSize = 4 + 2 + 8 + 4;
constexpr size_t kProducerHeaderSize = 8 + 2 + 8 + 1;
constexpr size_t kBatchRecordSize = 4 + 4 + 8 + 8 + 8;
constexpr size_t kCrcSize = 4;

bool in_sequence(int32_t last_seq, int32_t next_seq) {
  return int64_t{next_seq} == int64_t{last_seq} + 1 || (next_seq == 0 && last_seq == INT32_MAX);
}

std::string describe(int64_t producer_id, int16_t epoch, int32_t first_seq) {
  return "producer " + std::to_string(producer_id) + " epoch " + std::to_string(epoch) +
         " sequence " + std::to_string(first_seq);
}

class Writer {
 public:
  void i8(int8_t v) { out_.push_back(static_cast<std::byte>(v)); }
  void i16(int16_t v) { put(v, 2, store_be16); }
  void i32(int32_t v) { put(v, 4, store_be32); }
  void i64(int64_t v) { put(v, 8, store_be64); }
  void raw(const void* p, size_t n) {
    // resize + memcpy rather than insert: g++ 12 at -O2 with -fsanitize=thread reports a false
    // -Wstringop-overflow for the inlined range insert.
    const size_t at = out_.size();
    out_.resize(at + n);
    std::memcpy(out_.data() + at, p, n);
  }
  std::vector<std::byte>& bytes() { return out_; }

 private:
  template <typename T, typename Store>
  void put(T v, size_t n, Store store) {
    out_.resize(out_.size() + n);
    store(out_.data() + out_.size() - n, v);
  }
  std::vector<std::byte> out_;
};

}  // namespace

int32_t last_sequence_of(const BatchHeader& h) {
  const int32_t increment = h.last_offset_delta;
  if (h.base_sequence > INT32_MAX - increment) {
    return increment - (INT32_MAX - h.base_sequence) - 1;
  }
  return h.base_sequence + increment;
}

void ProducerEntry::add(int16_t batch_epoch, const ProducerBatch& batch) {
  if (batch_epoch != epoch) {
    epoch = batch_epoch;
    count = 0;
  }
  if (count == kProducerBatchesRetained) {
    std::move(batches.begin() + 1, batches.end(), batches.begin());
    --count;
  }
  batches[count++] = batch;
  last_timestamp = batch.timestamp;
}

std::optional<ProducerBatch> ProducerEntry::find(int32_t first_seq, int32_t last_seq) const {
  for (uint8_t i = 0; i < count; ++i) {
    if (batches[i].first_seq == first_seq && batches[i].last_seq == last_seq) return batches[i];
  }
  return std::nullopt;
}

Result<ProducerStateMap::Plan> ProducerStateMap::prepare(std::span<const std::byte> data,
                                                         int64_t base_offset,
                                                         int64_t log_append_time) const {
  Plan plan;
  // Whether each staged producer was unknown before this append: Kafka then accepts any
  // sequence for all of its batches in the append.
  std::vector<bool> was_unknown;
  int64_t offset = base_offset;
  for (size_t pos = 0; pos < data.size();) {
    const BatchHeader h = decode_batch_header(data.data() + pos);
    pos += h.size_bytes();
    const int64_t batch_offset = offset;
    offset += int64_t{h.last_offset_delta} + 1;
    if (h.is_transactional() || h.is_control()) {
      return Error(ErrorCode::kUnsupported,
                   "transactional batches are not supported yet (producer " +
                       std::to_string(h.producer_id) + "); use a non-transactional producer");
    }
    if (h.producer_id < 0) continue;
    if (h.producer_epoch < 0 || h.base_sequence < 0) {
      return Error(ErrorCode::kInvalidArgument,
                   "invalid sequence number " + std::to_string(h.base_sequence) + " or epoch " +
                       std::to_string(h.producer_epoch) + " in a batch of producer " +
                       std::to_string(h.producer_id));
    }
    const int32_t first_seq = h.base_sequence;
    const int32_t last_seq = last_sequence_of(h);
    auto current = producers_.find(h.producer_id);
    const bool known = current != producers_.end();
    // Duplicates are looked up among the batches already in the log, before any check.
    if (known && current->second.epoch == h.producer_epoch) {
      if (auto duplicate = current->second.find(first_seq, last_seq)) {
        plan.duplicate = duplicate;
        plan.updates.clear();
        return plan;
      }
    }
    auto staged = std::find_if(plan.updates.begin(), plan.updates.end(),
                               [&](const auto& u) { return u.first == h.producer_id; });
    if (staged == plan.updates.end()) {
      plan.updates.emplace_back(h.producer_id, known ? current->second : ProducerEntry{});
      was_unknown.push_back(!known);
      staged = std::prev(plan.updates.end());
    }
    ProducerEntry& entry = staged->second;
    if (h.producer_epoch < entry.epoch) {
      return Error(ErrorCode::kStaleEpoch, describe(h.producer_id, h.producer_epoch, first_seq) +
                                               " is older than its current epoch " +
                                               std::to_string(entry.epoch));
    }
    if (h.producer_epoch != entry.epoch) {
      if (first_seq != 0 && entry.epoch != -1) {
        return Error(ErrorCode::kOutOfSequence,
                     describe(h.producer_id, h.producer_epoch, first_seq) +
                         ": a new epoch must start at sequence 0 (current epoch " +
                         std::to_string(entry.epoch) + ")");
      }
    } else {
      const int32_t last = entry.count > 0 ? entry.last().last_seq : -1;
      const bool unknown = was_unknown[static_cast<size_t>(staged - plan.updates.begin())];
      if (!unknown && !in_sequence(last, first_seq)) {
        return Error(ErrorCode::kOutOfSequence,
                     describe(h.producer_id, h.producer_epoch, first_seq) +
                         " does not follow the last sequence " + std::to_string(last));
      }
    }
    entry.add(h.producer_epoch,
              ProducerBatch{.first_seq = first_seq,
                            .last_seq = last_seq,
                            .first_offset = batch_offset,
                            .last_offset = batch_offset + h.last_offset_delta,
                            .timestamp = log_append_time >= 0 ? log_append_time : h.max_timestamp});
  }
  return plan;
}

void ProducerStateMap::commit(Plan& plan) {
  for (auto& [id, entry] : plan.updates)
    producers_[id] = std::move(entry);
  plan.updates.clear();
}

void ProducerStateMap::replay(const BatchHeader& h) {
  if (h.producer_id < 0 || h.is_control()) return;
  producers_[h.producer_id].add(h.producer_epoch, ProducerBatch{.first_seq = h.base_sequence,
                                                                .last_seq = last_sequence_of(h),
                                                                .first_offset = h.base_offset,
                                                                .last_offset = h.last_offset(),
                                                                .timestamp = h.max_timestamp});
}

void ProducerStateMap::truncate_from(int64_t offset) {
  for (auto it = producers_.begin(); it != producers_.end();) {
    ProducerEntry& e = it->second;
    while (e.count > 0 && e.last().last_offset >= offset)
      --e.count;
    if (e.count == 0) {
      it = producers_.erase(it);
    } else {
      e.last_timestamp = e.last().timestamp;
      ++it;
    }
  }
}

size_t ProducerStateMap::drop_below(int64_t log_start_offset) {
  return std::erase_if(
      producers_, [&](const auto& kv) { return kv.second.last().last_offset < log_start_offset; });
}

size_t ProducerStateMap::expire(int64_t now_ms, int64_t expiration_ms) {
  return std::erase_if(producers_, [&](const auto& kv) {
    return now_ms - kv.second.last_timestamp >= expiration_ms;
  });
}

const ProducerEntry* ProducerStateMap::find(int64_t producer_id) const {
  auto it = producers_.find(producer_id);
  return it == producers_.end() ? nullptr : &it->second;
}

std::vector<std::byte> ProducerStateMap::encode(int64_t offset) const {
  std::vector<int64_t> ids;
  ids.reserve(producers_.size());
  for (const auto& [id, entry] : producers_)
    ids.push_back(id);
  std::sort(ids.begin(), ids.end());  // the same state always gives the same bytes
  Writer w;
  w.raw(kSnapshotMagic, sizeof(kSnapshotMagic));
  w.i16(kSnapshotVersion);
  w.i64(offset);
  w.i32(static_cast<int32_t>(ids.size()));
  for (int64_t id : ids) {
    const ProducerEntry& e = producers_.at(id);
    w.i64(id);
    w.i16(e.epoch);
    w.i64(e.last_timestamp);
    w.i8(static_cast<int8_t>(e.count));
    for (uint8_t i = 0; i < e.count; ++i) {
      const ProducerBatch& b = e.batches[i];
      w.i32(b.first_seq);
      w.i32(b.last_seq);
      w.i64(b.first_offset);
      w.i64(b.last_offset);
      w.i64(b.timestamp);
    }
  }
  w.i32(static_cast<int32_t>(crc32c(w.bytes())));
  return std::move(w.bytes());
}

Result<ProducerStateMap> ProducerStateMap::decode(std::span<const std::byte> bytes,
                                                  int64_t offset) {
  auto corrupt = [](const std::string& what) {
    return Error(ErrorCode::kCorrupt, "producer snapshot: " + what);
  };
  if (bytes.size() < kSnapshotHeaderSize + kCrcSize) return corrupt("too short");
  const size_t body = bytes.size() - kCrcSize;
  if (static_cast<uint32_t>(load_be32(bytes.data() + body)) != crc32c(bytes.data(), body)) {
    return corrupt("CRC mismatch");
  }
  if (!std::equal(kSnapshotMagic, kSnapshotMagic + 4,
                  reinterpret_cast<const char*>(bytes.data()))) {
    return corrupt("bad magic");
  }
  if (load_be16(bytes.data() + 4) != kSnapshotVersion) return corrupt("unknown version");
  if (load_be64(bytes.data() + 6) != offset) return corrupt("offset does not match its name");
  const int32_t count = load_be32(bytes.data() + 14);
  // Every producer takes at least its header: a count the bytes cannot hold is damage, and
  // never sizes anything.
  if (count < 0 ||
      static_cast<uint64_t>(count) > (body - kSnapshotHeaderSize) / kProducerHeaderSize) {
    return corrupt("producer count " + std::to_string(count) + " exceeds the file");
  }
  ProducerStateMap map;
  map.producers_.reserve(static_cast<size_t>(count));
  size_t pos = kSnapshotHeaderSize;
  for (int32_t i = 0; i < count; ++i) {
    if (pos + kProducerHeaderSize > body) return corrupt("truncated producer");
    const std::byte* p = bytes.data() + pos;
    const int64_t id = load_be64(p);
    ProducerEntry entry;
    entry.epoch = load_be16(p + 8);
    entry.last_timestamp = load_be64(p + 10);
    const auto batches = static_cast<uint8_t>(p[18]);
    pos += kProducerHeaderSize;
    if (id < 0 || batches == 0 || batches > kProducerBatchesRetained ||
        pos + batches * kBatchRecordSize > body) {
      return corrupt("invalid producer " + std::to_string(id));
    }
    for (uint8_t b = 0; b < batches; ++b) {
      const std::byte* q = bytes.data() + pos;
      entry.batches[b] = ProducerBatch{.first_seq = load_be32(q),
                                       .last_seq = load_be32(q + 4),
                                       .first_offset = load_be64(q + 8),
                                       .last_offset = load_be64(q + 16),
                                       .timestamp = load_be64(q + 24)};
      pos += kBatchRecordSize;
    }
    entry.count = batches;
    if (!map.producers_.emplace(id, entry).second) return corrupt("producer listed twice");
  }
  if (pos != body) return corrupt("trailing bytes");
  return map;
}

}  // namespace eddy::storage
