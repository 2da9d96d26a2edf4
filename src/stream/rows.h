// Helpers the sinks share (operators.cc, top_per_group.cc): rows of batches, stored counted
// rows, changes summed per key until a checkpoint, output-topic records keyed by row, sort keys.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "sql/plan.h"
#include "stream/operators.h"

namespace eddy::stream {

// Row `r` of a batch, its first `width` columns.
sql::Row row_at(const Batch& batch, uint32_t r, size_t width);

// A stored row with its count ('u', 't' and 'n' values: the count, then the row's values);
// false when it is corrupt.
bool read_counted_row(std::string_view value, size_t width, int64_t& count, sql::Row& row);

// A row keyed by itself in a view's output topic: an upsert when it appears (its count goes
// from none to some), a tombstone when it goes.
void output_row_change(OperatorContext& context, const sql::TableDef& output, const sql::Row& row,
                       int64_t before, int64_t after);

// Appends one ORDER BY key so that bytewise order is ORDER BY order: a byte placing NULL first
// or last, then the value's key encoding, its bytes inverted for DESC (the encoding is
// prefix-free, so inverting it reverses the order).
void append_sort_key(std::string& out, const sql::Value& v, const sql::SortKey& key,
                     sql::KeyFormat format);

// A row's change keyed by its state key, as sinks collect them: (key, row, weight).
using KeyedChanges = std::vector<std::tuple<std::string, sql::Row, int64_t>>;

// Row changes summed per key until a checkpoint takes them; shared by a view's partitions'
// pipelines (the same row may come from any of them), hence the mutex.
class PendingRows {
 public:
  struct Entry {
    sql::Row row;
    int64_t count = 0;
  };
  using Map = std::map<std::string, Entry>;  // by key, so checkpoints write in key order

  void add(KeyedChanges& changes) {
    std::lock_guard lock(mu_);
    for (auto& [key, row, weight] : changes) {
      auto [it, inserted] = rows_.try_emplace(std::move(key));
      if (inserted) it->second.row = std::move(row);
      it->second.count += weight;
    }
    changes.clear();
  }
  Map take() {
    std::lock_guard lock(mu_);
    return std::exchange(rows_, {});
  }

 private:
  std::mutex mu_;
  Map rows_;
};

// Visits the rows stored under `prefix` in key order ('t' and 'n' values: a count, then the
// row of `width` values) with `overlay`'s rows (keys without the prefix) merged in, in place of
// stored ones with the same key; `visit(key, row, count)` returns false to stop.
sql::SqlStatus merge_counted_rows(
    const StateStore& store, const std::string& prefix, const PendingRows::Map* overlay,
    size_t width, const std::function<bool(const std::string&, const sql::Row&, int64_t)>& visit);

}  // namespace eddy::stream
