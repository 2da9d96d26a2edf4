// Fetch: returns stored batches as they are (no re-encoding), long-polling until min_bytes are
// available or max_wait_ms passes. Incremental fetch sessions are declined the way the protocol
// allows: every response carries session id 0, so clients keep sending full requests.
#include <chrono>

#include "kafka/handlers/handlers.h"
#include "storage/log_manager.h"

namespace eddy::kafka {
namespace {

constexpr int16_t kFetchSessionIdNotFound = 70;
constexpr int16_t kInvalidFetchSessionEpoch = 71;

struct FetchPartition {
  int32_t index;
  int64_t offset;
  int32_t max_bytes;
};

struct FetchTopic {
  std::string name;
  std::vector<FetchPartition> partitions;
};

struct FetchState {
  int16_t version;
  bool flexible;
  int32_t min_bytes;
  int32_t max_bytes;
  int16_t session_error = 0;
  std::vector<FetchTopic> topics;
  std::chrono::steady_clock::time_point deadline;
  storage::LogManager* log;
  bool send_files = false;  // records may go as ranges of segment files
  Respond respond;
  uint64_t round = 0;
  std::shared_ptr<int> round_alive;  // replaced each round so stale registrations expire
  bool done = false;
};

// Reads every partition once. Returns the response when it should be sent now.
std::optional<ResponsePieces> attempt(FetchState& s, bool final_attempt) {
  struct PartitionOut {
    int32_t index = 0;
    KafkaError error = KafkaError::kNone;
    int64_t high_watermark = -1;
    int64_t log_start = -1;
    std::vector<std::byte> records;
    std::optional<FileRange> range;  // instead of `records`
    size_t size() const { return range ? range->length : records.size(); }
  };
  std::vector<std::vector<PartitionOut>> out(s.topics.size());
  size_t total = 0;
  bool any_error = false;
  for (size_t t = 0; t < s.topics.size(); ++t) {
    for (const auto& p : s.topics[t].partitions) {
      PartitionOut po;
      po.index = p.index;
      auto log = s.log->partition(s.topics[t].name, p.index);
      if (s.session_error != 0) {
        // Answered at the top level only.
      } else if (!log) {
        po.error = KafkaError::kUnknownTopicOrPartition;
      } else {
        const size_t budget = s.max_bytes > 0 && total < static_cast<size_t>(s.max_bytes)
                                  ? std::min<size_t>(static_cast<size_t>(p.max_bytes),
                                                     static_cast<size_t>(s.max_bytes) - total)
                                  : 0;
        const storage::ReadOptions options{.max_bytes = budget, .min_one_batch = total == 0};
        std::optional<Error> failed;
        bool as_range = false;  // sent from the file; else read into memory below
        if (s.send_files) {
          auto slice = log->read_slice(p.offset, options);
          if (!slice.ok()) {
            failed = slice.error();
          } else if (slice->length == 0 || slice->file->native_handle() >= 0) {
            // (A file without a descriptor, as test file systems have, is read instead.)
            as_range = true;
            po.high_watermark = slice->high_watermark;
            po.log_start = slice->log_start_offset;
            if (slice->length > 0) {
              po.range = FileRange{.keep = std::move(slice->segment),
                                   .file = std::move(slice->file),
                                   .position = slice->position,
                                   .length = slice->length};
            }
          }
        }
        if (!failed && !as_range) {
          auto read = log->read(p.offset, options);
          if (!read.ok()) {
            failed = read.error();
          } else {
            po.high_watermark = read->high_watermark;
            po.log_start = read->log_start_offset;
            po.records = std::move(read->data);
          }
        }
        if (failed) {
          po.error = to_kafka_error(*failed);
          po.high_watermark = log->high_watermark();
          po.log_start = log->log_start_offset();
        }
        total += po.size();
      }
      if (po.error != KafkaError::kNone) any_error = true;
      out[t].push_back(std::move(po));
    }
  }
  if (!final_attempt && !any_error && s.session_error == 0 &&
      total < static_cast<size_t>(std::max(s.min_bytes, 1))) {
    return std::nullopt;
  }
  // The records read go out as pieces of their own, between pieces of what this writes.
  ResponsePieces body;
  WireWriter w(s.flexible);
  size_t partitions = 0;
  for (const auto& t : s.topics)
    partitions += t.partitions.size() + 1;
  w.buffer().reserve(256 + 96 * partitions);
  w.i32(0);  // throttle
  if (s.version >= 7) {
    w.i16(s.session_error);
    w.i32(0);  // session id: sessions are declined
  }
  w.array_length(s.session_error != 0 ? 0 : static_cast<int32_t>(s.topics.size()));
  if (s.session_error == 0) {
    for (size_t t = 0; t < s.topics.size(); ++t) {
      w.string(s.topics[t].name);
      w.array_length(static_cast<int32_t>(out[t].size()));
      for (auto& po : out[t]) {
        w.i32(po.index);
        w.i16(code(po.error));
        w.i64(po.high_watermark);
        // No transactions yet: everything below the high watermark is stable.
        w.i64(po.high_watermark);
        if (s.version >= 5) w.i64(po.log_start);
        w.array_length(-1);              // aborted transactions: none
        if (s.version >= 11) w.i32(-1);  // preferred read replica
        w.bytes_length(po.size());
        if (po.size() > 0) {
          body.pieces.emplace_back(w.take());
          if (po.range) {
            body.pieces.emplace_back(std::move(*po.range));
          } else {
            body.pieces.emplace_back(std::move(po.records));
          }
        }
        w.tagged_fields();
      }
      w.tagged_fields();
    }
  }
  w.tagged_fields();
  body.pieces.emplace_back(w.take());
  return body;
}

void run(const std::shared_ptr<FetchState>& s, AsyncServices& services) {
  if (s->done) return;
  const bool final_attempt = std::chrono::steady_clock::now() >= s->deadline;
  auto response = attempt(*s, final_attempt);
  if (response) {
    s->done = true;
    s->round_alive.reset();
    s->respond(std::move(*response));
    return;
  }
  // Wait for new data on any partition or the deadline, whichever comes first; stale wake-ups
  // from earlier rounds are ignored.
  const uint64_t round = ++s->round;
  s->round_alive = std::make_shared<int>(0);
  auto wake = [s, round, &services] {
    if (s->round == round) run(s, services);
  };
  for (const auto& t : s->topics) {
    for (const auto& p : t.partitions)
      services.on_data(t.name, p.index, s->round_alive, wake);
  }
  const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
                             s->deadline - std::chrono::steady_clock::now())
                             .count();
  services.after(std::max<int64_t>(remaining, 0), wake);
}

}  // namespace

Handler make_fetch_handler() {
  return Handler{
      ApiKey::kFetch,
      "Fetch",
      4,
      12,
      12,
      [](RequestContext& ctx, WireReader& body, AsyncServices& services, Respond respond) {
        auto s = std::make_shared<FetchState>();
        const int16_t v = ctx.api_version;
        s->version = v;
        s->flexible = body.flexible();
        s->log = &ctx.log;
        s->send_files = services.sends_files();
        s->respond = std::move(respond);
        (void)body.i32();  // replica id
        const int32_t max_wait_ms = body.i32();
        s->min_bytes = body.i32();
        s->max_bytes = body.i32();
        (void)body.i8();  // isolation level: without transactions both levels read the same
        int32_t session_id = 0, session_epoch = -1;
        if (v >= 7) {
          session_id = body.i32();
          session_epoch = body.i32();
        }
        int32_t topics = body.array_length(2);
        for (int32_t t = 0; t < topics && body.ok(); ++t) {
          FetchTopic topic{body.string(), {}};
          int32_t parts = body.array_length(16);
          for (int32_t p = 0; p < parts && body.ok(); ++p) {
            FetchPartition partition{};
            partition.index = body.i32();
            if (v >= 9) (void)body.i32();  // current leader epoch
            partition.offset = body.i64();
            if (v >= 12) (void)body.i32();  // last fetched epoch
            if (v >= 5) (void)body.i64();   // log start offset (followers only)
            partition.max_bytes = body.i32();
            body.tagged_fields();
            topic.partitions.push_back(partition);
          }
          body.tagged_fields();
          s->topics.push_back(std::move(topic));
        }
        if (v >= 7) {
          int32_t forgotten = body.array_length(2);
          for (int32_t f = 0; f < forgotten && body.ok(); ++f) {
            (void)body.string();
            int32_t n = body.array_length(4);
            for (int32_t i = 0; i < n && body.ok(); ++i)
              (void)body.i32();
            body.tagged_fields();
          }
        }
        if (v >= 11) (void)body.string();  // rack id
        body.tagged_fields();
        if (!body.ok()) return false;
        if (s->max_bytes < 0 || s->min_bytes < 0 || max_wait_ms < 0) {
          body.fail("negative fetch limits");
          return false;
        }
        if (session_id != 0) {
          s->session_error = kFetchSessionIdNotFound;
        } else if (session_epoch > 0) {
          s->session_error = kInvalidFetchSessionEpoch;
        }
        s->deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(max_wait_ms);
        run(s, services);
        return true;
      }};
}

}  // namespace eddy::kafka
