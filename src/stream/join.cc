#include "stream/join.h"

#include <array>
#include <atomic>
#include <limits>
#include <mutex>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "sql/binder.h"
#include "sql/key_codec.h"

namespace eddy::stream {

using sql::Row;
using sql::SqlResult;
using sql::SqlStatus;
using sql::Unit;
using sql::Value;

namespace {

// Where _timestamp is among the metadata columns.
constexpr size_t kTimestampColumn = 3;

bool changes_rows(const sql::TableDef& table) {
  return table.has_primary_key() || table.is_view;
}

// The types of one input's columns (declared, then metadata), as a combined row holds them.
void append_input_types(const sql::TableDef& table, std::vector<sql::Type>& out) {
  for (const auto& c : table.columns)
    out.push_back(c.type);
  for (const auto t : sql::kMetadataTypes)
    out.push_back(t);
}

}  // namespace

bool is_lookup_join(const sql::Plan& arm, size_t index) {
  if (!arm.table || changes_rows(*arm.table)) return false;
  for (size_t j = 0; j <= index; ++j) {
    const sql::JoinSpec& join = arm.joins[j];
    if (!join.table.has_primary_key() || join.table.is_view || join.right_outer) return false;
    if (!key_pairs(join)) return false;
  }
  return true;
}

bool join_retracts(const sql::Plan& arm, size_t index) {
  if (is_lookup_join(arm, index)) return false;
  if (changes_rows(*arm.table)) return true;
  for (size_t j = 0; j <= index; ++j) {
    const sql::JoinSpec& join = arm.joins[j];
    if (j < index && join_retracts(arm, j)) return true;
    if (j == index && (changes_rows(join.table) || join.left_outer || join.right_outer))
      return true;
  }
  return false;
}

// Both sides' rows of one hash join, by join key, shared by every partition's pipeline. Keys,
// under the view's prefix: 'J' tag (be32: arm << 16 | join), key length (be32), join key (key
// encoding), then per row of a side that retracts, 'l' or 'r' and the serialized row -> its
// count (be64), and per row of a side that only grows (a stream), 'L' or 'R' and a sequence
// number (be64) -> the serialized row (such rows are never looked for again, so they need no
// row key and no count). A key's rows of both sides are one prefix scan; they are cached per
// key and written at the checkpoint where they changed. Each shard also knows the hashes of the
// join keys that have rows in the store (found with one scan of the join's keys at the first
// use after the view opens, which also finds the next sequence number), so a key seen for the
// first time costs no store read.
class JoinState {
 public:
  // Rows are kept serialized (serialize_row): a fraction of the memory of decoded Values, and
  // decoded only when a change of the other side meets them.
  struct Counts {
    int64_t count = 0;
    // Outer joins: how many rows of the other side (with their counts) this row matches;
    // computed when the key is loaded, kept up to date by every change (never stored).
    int64_t matched = 0;
    uint64_t seq = 0;  // a growing side's row: the number in its state key
  };
  struct Rows {
    size_t bytes = 0;      // what it costs the cache (about)
    bool touched = false;  // used since the cache was last trimmed
    // Per side (0 left, 1 right): a side that retracts keeps a count per distinct row; a side
    // that only grows keeps each row as it came.
    std::array<std::unordered_map<std::string, Counts>, 2> counted;
    std::array<std::vector<std::pair<std::string, Counts>>, 2> appended;
    template <typename F>
    void for_each(int side, F&& f) {
      for (auto& [row, counts] : counted[side])
        f(row, counts);
      for (auto& [row, counts] : appended[side])
        f(row, counts);
    }
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Rows> keys;
    std::unordered_set<uint64_t> stored;  // hashes of the keys with rows in the store (or had)
    std::set<std::pair<std::string, std::pair<int, std::string>>> dirty;  // key, side, row
    // Rows of growing sides since the checkpoint: key, its rows (map values stay in place),
    // side, index in `appended`.
    struct NewRow {
      std::string key;
      Rows* rows;
      int side;
      size_t index;
    };
    std::vector<NewRow> new_rows;
    std::vector<std::string> deletes;  // state keys of expired rows of growing sides
    std::set<Rows*> expired_in;        // whose `appended` holds expired rows (count 0)
    size_t bytes = 0;
  };
  static constexpr size_t kShards = 8;

  // `grows`: per side, whether it only ever inserts rows; `timestamps`: per side, the column
  // of a row that holds its record timestamp (for state_ttl).
  JoinState(std::string prefix, OperatorContext& context, std::array<size_t, 2> widths,
            std::array<bool, 2> grows, std::array<size_t, 2> timestamps)
      : prefix_(std::move(prefix)),
        context_(context),
        widths_(widths),
        grows_(grows),
        timestamps_(timestamps) {}

  // state_ttl: the newest record timestamp (microseconds) seen, and the horizon below which a
  // row's timestamp makes it expired (the lowest int64 while nothing is).
  void observe(int64_t timestamp_us) {
    int64_t seen = newest_us_.load(std::memory_order_relaxed);
    while (timestamp_us > seen && !newest_us_.compare_exchange_weak(seen, timestamp_us)) {
    }
  }
  int64_t horizon_us() const {
    const int64_t newest = newest_us_.load(std::memory_order_relaxed);
    if (context_.state_ttl_ms <= 0 || newest == kNever) return kNever;
    return newest - context_.state_ttl_ms * 1000;
  }

  // Under the shard's lock: a row met by a change that is past the horizon stops matching and
  // is deleted at the next checkpoint.
  void expire(Shard& shard, Rows& rows, const std::string& key, int side, const std::string& row,
              Counts& counts) {
    counts.count = 0;
    if (!grows_[side]) {
      shard.dirty.emplace(key, std::make_pair(side, row));
      return;
    }
    shard.deletes.push_back(appended_key(key, side, counts.seq));
    shard.expired_in.insert(&rows);
  }

  static uint64_t hash_of(const std::string& key) { return std::hash<std::string>{}(key); }
  // The top bits of a mixed hash: the maps inside a shard use the low bits of the same hash.
  Shard& shard_of(const std::string& key) {
    return shards_[(hash_of(key) * 0x9E3779B97F4A7C15ull) >> 61];
  }

  // Under the shard's lock: the key's rows, read from the store if they are not cached (then
  // `matches(left row, right row)` recomputes each row's match count for an outer join).
  template <typename Matches>
  SqlResult<Rows*> rows(Shard& shard, const std::string& key, bool outer, Matches&& matches) {
    auto found = shard.keys.find(key);
    if (found != shard.keys.end()) {
      found->second.touched = true;
      return &found->second;
    }
    Rows rows;
    rows.touched = true;
    SQL_CHECK(find_stored());
    if (shard.stored.count(hash_of(key)) != 0) SQL_CHECK(load(key, rows));
    std::optional<sql::SqlError> failed;
    if (outer)
      rows.for_each(0, [&](const std::string& l, Counts& lc) {
        rows.for_each(1, [&](const std::string& r, Counts& rc) {
          auto match = matches(l, r);
          // An ON condition that fails on a pair skips it, as when the pair first met.
          if (!match.ok() && match.error().sqlstate != sql::sqlstate::kInternalError) {
            skip_row(context_, match.error().message);
            return;
          }
          if (!match.ok()) failed = match.error();
          if (!match.ok() || !*match) return;
          lc.matched += rc.count;
          rc.matched += lc.count;
        });
      });
    if (failed) return *failed;
    rows.bytes = key.size() + kEntryBytes;
    for (int side = 0; side < 2; ++side)
      rows.for_each(side, [&](const std::string& row, const Counts&) {
        rows.bytes += row.size() + kEntryBytes;
      });
    shard.bytes += rows.bytes;
    return &shard.keys.emplace(key, std::move(rows)).first->second;
  }

  // Under the shard's lock: adds `weight` copies of the serialized `row` to a side of the key's
  // rows.
  void add(Shard& shard, Rows& rows, const std::string& key, int side, std::string row,
           int64_t weight, int64_t matched) {
    shard.bytes += row.size() + kEntryBytes;
    rows.bytes += row.size() + kEntryBytes;
    if (grows_[side]) {
      for (int64_t i = 0; i < weight; ++i) {
        shard.new_rows.push_back({key, &rows, side, rows.appended[side].size()});
        rows.appended[side].emplace_back(i + 1 < weight ? row : std::move(row),
                                         Counts{1, matched, next_seq_++});
      }
      return;
    }
    auto [it, fresh] = rows.counted[side].try_emplace(row);
    if (fresh) it->second.matched = matched;
    it->second.count += weight;
    shard.dirty.emplace(key, std::make_pair(side, std::move(row)));
  }

  SqlStatus checkpoint(std::vector<StateWrite>& writes) {
    std::array<std::unique_lock<std::mutex>, kShards> locks;
    for (size_t i = 0; i < kShards; ++i)
      locks[i] = std::unique_lock(shards_[i].mu);
    size_t bytes = 0;
    for (auto& shard : shards_) {
      for (const auto& [key, change] : shard.dirty) {
        const auto& [side, serialized] = change;
        auto& rows = shard.keys.at(key).counted[side];
        auto it = rows.find(serialized);
        std::string state_key = key_prefix(key);
        state_key.push_back(side == 0 ? 'l' : 'r');
        state_key += serialized;
        if (it->second.count == 0) {
          writes.push_back({std::move(state_key), std::nullopt});
          rows.erase(it);
          continue;
        }
        std::string value;
        append_be64(value, static_cast<uint64_t>(it->second.count));
        writes.push_back({std::move(state_key), std::move(value)});
        shard.stored.insert(hash_of(key));
      }
      shard.dirty.clear();
      for (const auto& row : shard.new_rows) {
        const auto& [data, counts] = row.rows->appended[row.side][row.index];
        if (counts.count == 0) continue;  // expired before it was written
        writes.push_back({appended_key(row.key, row.side, counts.seq), data});
        shard.stored.insert(hash_of(row.key));
      }
      shard.new_rows.clear();
      for (auto& key : shard.deletes)
        writes.push_back({std::move(key), std::nullopt});
      shard.deletes.clear();
      for (Rows* rows : shard.expired_in)
        for (auto& side : rows->appended)
          std::erase_if(side, [](const auto& entry) { return entry.second.count == 0; });
      shard.expired_in.clear();
      bytes += shard.bytes + shard.stored.size() * kStoredKeyBytes;
    }
    SQL_CHECK(sweep(writes));
    // Everything is clean now: keep the cache within its budget, first by dropping the keys no
    // change met since the last trim (a clock: the keys in use stay), then all of them. A sweep
    // deleted rows the cache may hold: it is dropped whole.
    if (swept_) {
      swept_ = false;
      bytes = context_.cache_bytes + 1;
      for (auto& shard : shards_)
        for (auto& [key, rows] : shard.keys)
          rows.touched = false;
    }
    if (bytes > context_.cache_bytes) {
      bytes = 0;
      for (auto& shard : shards_) {
        for (auto it = shard.keys.begin(); it != shard.keys.end();) {
          if (it->second.touched) {
            it->second.touched = false;
            ++it;
            continue;
          }
          shard.bytes -= std::min(shard.bytes, it->second.bytes);
          it = shard.keys.erase(it);
        }
        bytes += shard.bytes + shard.stored.size() * kStoredKeyBytes;
      }
    }
    if (bytes > context_.cache_bytes)
      for (auto& shard : shards_) {
        shard.keys.clear();
        shard.bytes = 0;
      }
    return Unit{};
  }

 private:
  static constexpr size_t kEntryBytes = 96;
  static constexpr size_t kStoredKeyBytes = 32;

  std::string appended_key(const std::string& key, int side, uint64_t seq) const {
    std::string out = key_prefix(key);
    out.push_back(side == 0 ? 'L' : 'R');
    append_be64(out, seq);
    return out;
  }

  // state_ttl: once the horizon has moved on by a quarter of the TTL since the last sweep,
  // deletes every stored row past it (rows of keys no change visits again would stay
  // otherwise), and drops the cache, which may hold some of them.
  SqlStatus sweep(std::vector<StateWrite>& writes) {
    const int64_t horizon = horizon_us();
    if (horizon == kNever) return Unit{};
    // The first sweep after the view opens finds rows that expired while it was down.
    if (swept_to_us_ != kNever && horizon - swept_to_us_ < context_.state_ttl_ms * 250)
      return Unit{};
    swept_to_us_ = horizon;
    swept_ = true;
    std::optional<sql::SqlError> corrupt;
    Status scanned = context_.store->scan(prefix_, [&](std::string_view k, std::string_view v) {
      std::string_view rest = k.substr(prefix_.size());
      const uint32_t length = read_be32(rest);
      if (rest.size() < 4 + size_t{length} + 1) return true;
      const char tag = rest[4 + length];
      const int side = tag == 'l' || tag == 'L' ? 0 : 1;
      std::string_view row = tag == 'l' || tag == 'r' ? rest.substr(4 + length + 1) : v;
      Value value;
      for (size_t c = 0; c <= timestamps_[side]; ++c)
        if (!sql::read_value(row, value)) {
          corrupt = sql::SqlError{sql::sqlstate::kInternalError, "corrupt join state"};
          return false;
        }
      if (!value.null && value.i < horizon) writes.push_back({std::string(k), std::nullopt});
      return true;
    });
    if (!scanned.ok()) return sql::sql_error(sql::sqlstate::kIoError, scanned.error().message());
    if (corrupt) return *corrupt;
    return Unit{};
  }

  std::string key_prefix(const std::string& key) const {
    std::string out = prefix_;
    append_be32(out, static_cast<uint32_t>(key.size()));
    out += key;
    return out;
  }

  // Once: the hashes of the keys the store holds rows of (all shards; callers hold one shard's
  // lock, hence the separate mutex) and the next sequence number of a growing side's row.
  SqlStatus find_stored() {
    std::call_once(found_stored_, [&] {
      Status scanned = context_.store->scan(prefix_, [&](std::string_view k, std::string_view) {
        std::string_view rest = k.substr(prefix_.size());
        const uint32_t length = read_be32(rest);
        if (rest.size() < 4 + size_t{length} + 1) return true;
        const std::string key(rest.substr(4, length));
        std::string_view row = rest.substr(4 + length);
        if ((row[0] == 'L' || row[0] == 'R') && row.size() == 9)
          next_seq_ = std::max(next_seq_.load(), read_be64(row.substr(1)) + 1);
        std::lock_guard lock(stored_mu_);
        shard_of(key).stored.insert(hash_of(key));
        return true;
      });
      if (!scanned.ok()) stored_error_ = scanned.error().message();
    });
    if (!stored_error_.empty()) return sql::sql_error(sql::sqlstate::kIoError, stored_error_);
    return Unit{};
  }

  SqlStatus load(const std::string& key, Rows& rows) {
    const std::string prefix = key_prefix(key);
    std::optional<sql::SqlError> corrupt;
    auto bad = [&] {
      corrupt = sql::sql_error(sql::sqlstate::kInternalError, "corrupt join state");
      return false;
    };
    Status scanned = context_.store->scan(prefix, [&](std::string_view k, std::string_view value) {
      std::string_view rest = k.substr(prefix.size());
      if (rest.empty()) return bad();
      const char tag = rest[0];
      const bool counted = tag == 'l' || tag == 'r';
      if (!counted && tag != 'L' && tag != 'R') return bad();
      const int side = tag == 'l' || tag == 'L' ? 0 : 1;
      rest.remove_prefix(1);
      // Check that the row decodes (a corrupt entry fails here, not when it is met).
      std::string_view in = counted ? rest : value;
      Value v;
      for (size_t c = 0; c < widths_[side]; ++c)
        if (!sql::read_value(in, v)) return bad();
      if (!counted) {
        if (rest.size() != 8) return bad();
        rows.appended[side].emplace_back(std::string(value), Counts{1, 0, read_be64(rest)});
        return true;
      }
      if (value.size() != 8) return bad();
      rows.counted[side].emplace(std::string(rest),
                                 Counts{static_cast<int64_t>(read_be64(value)), 0});
      return true;
    });
    if (!scanned.ok()) return sql::sql_error(sql::sqlstate::kIoError, scanned.error().message());
    if (corrupt) return *corrupt;
    return Unit{};
  }

  std::string prefix_;  // the view's prefix, 'J', the join's tag
  OperatorContext& context_;
  std::array<size_t, 2> widths_;
  std::array<bool, 2> grows_;
  std::array<size_t, 2> timestamps_;
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::min();
  std::atomic<int64_t> newest_us_{kNever};
  int64_t swept_to_us_ = kNever;  // the horizon of the last sweep (checkpoints never overlap)
  bool swept_ = false;
  std::array<Shard, kShards> shards_;
  std::once_flag found_stored_;
  std::mutex stored_mu_;  // the first scan fills every shard's `stored`
  std::string stored_error_;
  std::atomic<uint64_t> next_seq_{0};  // set by find_stored before any row is added
};

namespace {

class HashJoin;

// Takes the joined relation's changes into the join.
class JoinRightInput final : public Operator {
 public:
  explicit JoinRightInput(HashJoin& join) : join_(join) {}
  SqlStatus push(Batch& batch, const Progress& progress) override;

 private:
  HashJoin& join_;
};

class HashJoin final : public Operator {
 public:
  HashJoin(const sql::Plan& arm, size_t index, uint32_t arm_index, OperatorContext& context)
      : join_(arm.joins[index]),
        context_(context),
        index_(index),
        base_(join_.base),
        width_(join_.base + sql::input_width(join_.table)),
        right_input_(*this) {
    // A row's record timestamp: that of the stream's record on the left (the first input),
    // that of the relation's record on the right.
    timestamp_ = {arm.table->columns.size() + kTimestampColumn,
                  base_ + join_.table.columns.size() + kTimestampColumn};
    append_input_types(*arm.table, types_);
    for (size_t j = 0; j <= index; ++j)
      append_input_types(arm.joins[j].table, types_);
    const uint32_t tag = (arm_index << 16) | static_cast<uint32_t>(index);
    auto& state = context_.hash_joins[tag];
    if (state == nullptr) {
      std::string prefix = context_.prefix + "J";
      append_be32(prefix, tag);
      // A side only grows when nothing before it retracts.
      const bool left_grows =
          !changes_rows(*arm.table) && (index == 0 || !join_retracts(arm, index - 1));
      state = std::make_shared<JoinState>(
          std::move(prefix), context_, std::array<size_t, 2>{base_, width_ - base_},
          std::array<bool, 2>{left_grows, !changes_rows(join_.table)},
          std::array<size_t, 2>{timestamp_[0], timestamp_[1] - base_});
    }
    state_ = state;
    // Columns no later expression reads are neither kept in the state nor passed on (NULL).
    needed_ = columns_read(arm);
    needed_.resize(width_, true);
    if (context_.state_ttl_ms > 0) needed_[timestamp_[0]] = needed_[timestamp_[1]] = true;
    scratch_.resize(width_);
    for (size_t c = 0; c < width_; ++c)
      scratch_[c] = Value::null_of(types_[c]);
    ctx_.row = &scratch_;
    ctx_.params = &params_;
  }

  Operator* right_input() { return &right_input_; }

  SqlStatus push(Batch& batch, const Progress& progress) override {
    return process(batch, 0, progress);
  }

  SqlStatus process(Batch& batch, int side, const Progress& progress) {
    out_.partition = batch.partition;
    out_.arm = batch.arm;
    out_.input = side == 0 ? batch.input : static_cast<uint32_t>(index_ + 1);
    clear_output();
    const bool outer = join_.left_outer || join_.right_outer;
    const bool ttl = context_.state_ttl_ms > 0;
    const auto& keys = side == 0 ? join_.left_keys : join_.right_keys;
    const int other = 1 - side;
    const bool preserved = side == 0 ? join_.left_outer : join_.right_outer;
    const bool other_preserved = other == 0 ? join_.left_outer : join_.right_outer;
    // An outer join's key, loaded from the store, pairs its rows up in the scratch row.
    bool clobbered = false;
    auto matches = [&](const std::string& l, const std::string& r) -> SqlResult<bool> {
      clobbered = true;
      if (!place(0, l) || !place(1, r)) return corrupt();
      return condition();
    };
    Row key(keys.size());
    for (uint32_t r : batch.selection) {
      // A change that meets many rows makes many: pass them on in bounded batches.
      if (out_.offsets.size() >= kMaxOutputRows) {
        SQL_CHECK(next_->push(out_, progress));
        clear_output();
      }
      const int64_t weight = batch.weight(r);
      const int64_t offset = batch.offsets[r];
      // The row in its place in the combined row, where the key and the condition read it (the
      // batch's values are the join's to take: no operator reads a batch it has passed on).
      const size_t from = start(side);
      for (size_t c = from; c < end(side); ++c)
        scratch_[c] = std::move(batch.columns[c - from][r]);
      if (const Value& ts = scratch_[timestamp_[side]]; ttl && !ts.null) state_->observe(ts.i);
      bool null_key = false;
      bool failed = false;
      for (size_t k = 0; k < keys.size(); ++k) {
        auto v = sql::eval(keys[k], ctx_);
        if (!v.ok()) {
          skip_row(context_, v.error().message);
          failed = true;
          break;
        }
        null_key = null_key || v->null;
        key[k] = std::move(*v);
      }
      if (failed) continue;
      if (null_key) {  // equal to nothing: only an outer join shows it, padded
        if (preserved) emit_padded(side, weight, offset);
        continue;
      }
      std::string row = serialize(side);
      const std::string encoded = sql::encode_key(key, context_.key_format);
      JoinState::Shard& shard = state_->shard_of(encoded);
      std::lock_guard lock(shard.mu);
      clobbered = false;
      SQL_ASSIGN(JoinState::Rows * rows, state_->rows(shard, encoded, outer, matches));
      if (clobbered && !place(side, row)) return corrupt();
      int64_t matched = 0;
      const int64_t horizon = ttl ? state_->horizon_us() : std::numeric_limits<int64_t>::min();
      std::optional<sql::SqlError> error;
      // Changes of one key may reach the join in another order than their inputs changed (the
      // joins before it run on several threads), so a row's count may be negative for a while:
      // every row counts with its count, whatever its sign (rows at zero stay until the
      // checkpoint, their match counts kept), and the output is exact once every change of the
      // step has arrived.
      rows->for_each(other, [&](const std::string& stored, JoinState::Counts& counts) {
        if (error) return;
        if (!place(other, stored)) {
          error = corrupt();
          return;
        }
        if (const Value& ts = scratch_[timestamp_[other]]; !ts.null && ts.i < horizon) {
          state_->expire(shard, *rows, encoded, other, stored, counts);
          return;
        }
        auto match = condition();
        if (!match.ok()) {
          skip_row(context_, match.error().message);
          return;
        }
        if (!*match) return;
        emit(weight * counts.count, offset);
        matched += counts.count;
        if (!other_preserved) return;
        // The other row's padded row goes when its first match comes, and comes back when its
        // last match goes.
        const int64_t before = counts.matched;
        counts.matched += weight;
        if (before == 0 && counts.matched != 0) emit_padded(other, -counts.count, offset);
        if (before != 0 && counts.matched == 0) emit_padded(other, counts.count, offset);
      });
      if (error) return *error;
      if (preserved && matched == 0) emit_padded(side, weight, offset);
      state_->add(shard, *rows, encoded, side, std::move(row), weight, matched);
    }
    if (out_.offsets.empty()) return Unit{};
    return next_->push(out_, progress);
  }

  SqlStatus checkpoint(std::vector<StateWrite>& writes) override {
    SQL_CHECK(state_->checkpoint(writes));
    return Operator::checkpoint(writes);
  }

  std::optional<sql::ExplainNode> explain() const override {
    const char* kind = join_.left_outer && join_.right_outer ? "Full "
                       : join_.left_outer                    ? "Left "
                       : join_.right_outer                   ? "Right "
                                                             : "";
    sql::ExplainNode node{
        std::string(kind) + "Hash Join with " + sql::quote_identifier(join_.table.name), {}, {}};
    std::string key;
    for (size_t k = 0; k < join_.left_keys.size(); ++k)
      key += (key.empty() ? "" : ", ") + sql::expr_text(join_.left_keys[k]) + " = " +
             sql::expr_text(join_.right_keys[k]);
    node.details.push_back("Hash Key: " + key);
    if (join_.condition) node.details.push_back("Join Filter: " + sql::expr_text(*join_.condition));
    node.details.push_back(
        "State: both sides' rows by join key with their counts, shared by the partitions' "
        "pipelines in " +
        std::to_string(JoinState::kShards) +
        " locked key shards, one RocksDB entry per distinct row, cache up to " +
        mib(context_.cache_bytes));
    if (context_.state_ttl_ms > 0)
      node.details.push_back(
          "State TTL: " + std::to_string(context_.state_ttl_ms) +
          " ms of record time (a stored row stops matching once the newest record timestamp "
          "the join has seen is that far past its own, and is deleted)");
    node.details.push_back(
        "Changes: a row of either side joins the other side's rows as they are now; a "
        "retraction takes its joined rows back" +
        std::string(join_.left_outer || join_.right_outer
                        ? "; a row padded with NULLs is retracted when its first match arrives "
                          "and comes back when its last match goes"
                        : ""));
    return node;
  }

 private:
  static constexpr size_t kMaxOutputRows = 65536;

  void clear_output() {
    out_.offsets.clear();
    out_.selection.clear();
    out_.weights.clear();
    out_.columns.resize(width_);
    for (auto& column : out_.columns)
      column.clear();
  }

  // Where a side's columns are in the combined row.
  size_t start(int side) const { return side == 0 ? 0 : base_; }
  size_t end(int side) const { return side == 0 ? base_ : width_; }

  // Decodes a stored row of `side` into its place in the scratch row; false when corrupt.
  bool place(int side, std::string_view row) {
    for (size_t c = start(side); c < end(side); ++c)
      if (!sql::read_value(row, scratch_[c])) return false;
    return row.empty();
  }
  // The side's row in the scratch row, serialized, with the columns nothing reads set to NULL
  // first (also in the scratch row: the same row must always serialize alike).
  std::string serialize(int side) {
    std::string out;
    for (size_t c = start(side); c < end(side); ++c) {
      if (!needed_[c] && !scratch_[c].null) scratch_[c] = Value::null_of(types_[c]);
      sql::append_value(out, scratch_[c]);
    }
    return out;
  }
  static sql::SqlError corrupt() {
    return sql::SqlError{sql::sqlstate::kInternalError, "corrupt join state"};
  }

  // Whether the pair in the scratch row satisfies the whole ON condition (their keys are equal
  // already).
  SqlResult<bool> condition() {
    if (!join_.condition) return true;
    return sql::eval_predicate(*join_.condition, ctx_);
  }

  // The pair in the scratch row.
  void emit(int64_t weight, int64_t offset) {
    if (weight == 0) return;
    for (size_t c = 0; c < width_; ++c)
      out_.columns[c].push_back(scratch_[c]);
    finish_row(weight, offset);
  }

  // The row of `side` in the scratch row, with NULLs for the other side.
  void emit_padded(int side, int64_t weight, int64_t offset) {
    if (weight == 0) return;
    for (size_t c = 0; c < width_; ++c) {
      const bool mine = c >= start(side) && c < end(side);
      out_.columns[c].push_back(mine ? scratch_[c] : Value::null_of(types_[c]));
    }
    finish_row(weight, offset);
  }

  void finish_row(int64_t weight, int64_t offset) {
    out_.selection.push_back(static_cast<uint32_t>(out_.offsets.size()));
    out_.offsets.push_back(offset);
    out_.weights.push_back(weight);
  }

  const sql::JoinSpec& join_;
  OperatorContext& context_;
  size_t index_;
  size_t base_;
  size_t width_;
  std::vector<sql::Type> types_;     // of the combined row up to this join's relation
  std::array<size_t, 2> timestamp_;  // per side, the combined row's _timestamp column
  std::vector<bool> needed_;         // per combined-row column: whether anything reads it
  std::shared_ptr<JoinState> state_;
  JoinRightInput right_input_;
  Row scratch_;  // the combined row expressions are evaluated over
  std::vector<Value> params_;
  sql::EvalContext ctx_;
  Batch out_;
};

SqlStatus JoinRightInput::push(Batch& batch, const Progress& progress) {
  return join_.process(batch, 1, progress);
}

}  // namespace

std::unique_ptr<Operator> make_hash_join(const sql::Plan& arm, size_t index, uint32_t arm_index,
                                         OperatorContext& context, Operator** right_input) {
  auto join = std::make_unique<HashJoin>(arm, index, arm_index, context);
  *right_input = join->right_input();
  return join;
}

}  // namespace eddy::stream
