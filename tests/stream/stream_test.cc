#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sql/binder.h"
#include "sql/catalog.h"
#include "sql/executor.h"
#include "sql/expr.h"
#include "storage/compression.h"
#include "storage/log_manager.h"
#include "storage/record_batch.h"
#include "storage/records.h"
#include "stream/task_pool.h"
#include "stream/view.h"

namespace eddy::stream {
namespace {

using sql::Type;
using sql::Value;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "eddy-stream-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Value numeric(const std::string& text) {
  return *sql::from_text(Type::kNumeric, text);
}

// Sorting by encoded key gives the same order as compare_values, and equal values encode equally.
TEST(AggregateState, SerializeAndMerge) {
  for (auto kind : {sql::AggKind::kCountStar, sql::AggKind::kSum, sql::AggKind::kAvg,
                    sql::AggKind::kMin, sql::AggKind::kMax}) {
    sql::AggSpec spec{.kind = kind};
    spec.arg.type = Type::kNumeric;
    spec.result = *sql::aggregate_result(kind, Type::kNumeric);
    if (kind == sql::AggKind::kCountStar) spec.result = Type::kInt8;
    sql::Accumulator whole(spec), left(spec), right(spec);
    const std::vector<std::string> inputs = {"1.5", "-2", "10.25", "3"};
    for (size_t i = 0; i < inputs.size(); ++i) {
      ASSERT_TRUE(whole.add(numeric(inputs[i])).ok());
      ASSERT_TRUE((i < 2 ? left : right).add(numeric(inputs[i])).ok());
    }
    std::string bytes;
    left.serialize(bytes);
    sql::Accumulator restored(spec);
    std::string_view in(bytes);
    ASSERT_TRUE(restored.deserialize(in));
    EXPECT_TRUE(in.empty());
    ASSERT_TRUE(restored.merge(right).ok());
    EXPECT_EQ(sql::to_text(*restored.finish()), sql::to_text(*whole.finish()));
    std::string_view truncated(bytes.data(), bytes.size() - 1);
    EXPECT_FALSE(sql::Accumulator(spec).deserialize(truncated));
  }
}

// A view's sum/avg of intervals keeps its state through serialize and merge, months, days and
// time apart, as the bounded query computes it.
TEST(AggregateState, IntervalSumAndAvgSerializeAndMerge) {
  for (auto kind : {sql::AggKind::kSum, sql::AggKind::kAvg}) {
    sql::AggSpec spec{.kind = kind};
    spec.arg.type = Type::kInterval;
    spec.result = *sql::aggregate_result(kind, Type::kInterval);
    ASSERT_EQ(spec.result, Type::kInterval);
    sql::Accumulator whole(spec), left(spec), right(spec);
    const std::vector<std::string> inputs = {"1 mon", "30 days", "1 day", "24:00:00"};
    for (size_t i = 0; i < inputs.size(); ++i) {
      auto v = sql::from_text(Type::kInterval, inputs[i]);
      ASSERT_TRUE(v.ok());
      ASSERT_TRUE(whole.add(*v).ok());
      ASSERT_TRUE((i < 2 ? left : right).add(*v).ok());
    }
    std::string bytes;
    left.serialize(bytes);
    sql::Accumulator restored(spec);
    std::string_view in(bytes);
    ASSERT_TRUE(restored.deserialize(in));
    ASSERT_TRUE(restored.merge(right).ok());
    const std::string expected =
        kind == sql::AggKind::kSum ? "1 mon 31 days 24:00:00" : "15 days 12:00:00";
    EXPECT_EQ(sql::to_text(*whole.finish()), expected);
    EXPECT_EQ(sql::to_text(*restored.finish()), expected);
  }
}

// A view's avg of floats keeps the sum of squared deviations PostgreSQL keeps, through
// serialize and merge, and raises when finite inputs overflow it; numeric sums past 128 bits and
// NaN survive the same way.
TEST(AggregateState, FloatAvgSquaresAndNumericSpecialsSerializeAndMerge) {
  sql::AggSpec spec{.kind = sql::AggKind::kAvg};
  spec.arg.type = Type::kFloat8;
  spec.result = Type::kFloat8;
  const auto run = [&spec](const std::vector<double>& inputs) {
    sql::Accumulator left(spec), right(spec);
    for (size_t i = 0; i < inputs.size(); ++i)
      EXPECT_TRUE((i % 2 == 0 ? left : right).add(Value::floating(Type::kFloat8, inputs[i])).ok());
    std::string bytes;
    left.serialize(bytes);
    sql::Accumulator restored(spec);
    std::string_view in(bytes);
    EXPECT_TRUE(restored.deserialize(in));
    EXPECT_TRUE(restored.merge(right).ok());
    return restored.finish();
  };
  EXPECT_EQ(sql::to_text(*run({1, 2, 3, 6})), "3");
  EXPECT_FALSE(run({1e200, 5}).ok());     // the squares overflow in the merge
  EXPECT_FALSE(run({1e200, 3, 5}).ok());  // and within one side
  EXPECT_EQ(sql::to_text(*run({1e300, INFINITY})), "Infinity");
  spec.kind = sql::AggKind::kSum;
  EXPECT_FALSE(run({1e308, 1, 1e308}).ok());  // a float sum's overflow survives serialize
  EXPECT_EQ(sql::to_text(*run({1e308, INFINITY})), "Infinity");

  sql::AggSpec sum{.kind = sql::AggKind::kSum};
  sum.arg.type = Type::kNumeric;
  sum.result = Type::kNumeric;
  sql::Accumulator left(sum), right(sum);
  ASSERT_TRUE(left.add(numeric("99999999999999999999999999999999999999")).ok());
  ASSERT_TRUE(left.add(numeric("99999999999999999999999999999999999999")).ok());
  ASSERT_TRUE(right.add(numeric("1e50")).ok());
  std::string bytes;
  left.serialize(bytes);
  sql::Accumulator restored(sum);
  std::string_view in(bytes);
  ASSERT_TRUE(restored.deserialize(in));
  ASSERT_TRUE(restored.merge(right).ok());
  EXPECT_EQ(sql::to_text(*restored.finish()),
            "100000000000199999999999999999999999999999999999998");
  ASSERT_TRUE(restored.add(numeric("NaN")).ok());
  EXPECT_EQ(sql::to_text(*restored.finish()), "NaN");
}

TEST(AggregateState, StringAggSerializesAndMerges) {
  sql::AggSpec spec{.kind = sql::AggKind::kStringAgg};
  spec.arg.type = Type::kText;
  spec.result = Type::kText;
  spec.delimiter = ", ";
  sql::Accumulator left(spec), right(spec);
  ASSERT_TRUE(left.add(Value::text("a")).ok());
  ASSERT_TRUE(left.add(Value::null_of(Type::kText)).ok());
  ASSERT_TRUE(left.add(Value::text("b")).ok());
  ASSERT_TRUE(right.add(Value::text("c")).ok());
  std::string bytes;
  left.serialize(bytes);
  sql::Accumulator restored(spec);
  std::string_view in(bytes);
  ASSERT_TRUE(restored.deserialize(in));
  ASSERT_TRUE(restored.merge(right).ok());
  EXPECT_EQ(sql::to_text(*restored.finish()), "a, b, c");
  EXPECT_TRUE(sql::Accumulator(spec).finish()->null);
}

TEST(TaskPool, RunsAGroupsTasksAtTheSameTimeAndWaitsForAll) {
  TaskPool pool(2);
  for (int round = 0; round < 20; ++round) {
    // Every task waits until all three have started: this only finishes when they run at once.
    std::mutex mu;
    std::condition_variable cv;
    int started = 0;
    std::atomic<int> finished{0};
    std::atomic<bool> all_met{true};
    std::vector<std::function<void()>> tasks;
    for (int i = 0; i < 3; ++i)
      tasks.emplace_back([&] {
        std::unique_lock lock(mu);
        ++started;
        cv.notify_all();
        if (!cv.wait_for(lock, std::chrono::seconds(10), [&] { return started == 3; }))
          all_met = false;
        ++finished;
      });
    pool.run(tasks);
    EXPECT_EQ(finished.load(), 3);
    EXPECT_TRUE(all_met.load());
  }
}

TEST(TaskPool, TwoCallersShareThePool) {
  TaskPool pool(1);
  std::atomic<int> ran{0};
  auto caller = [&] {
    for (int round = 0; round < 200; ++round) {
      std::vector<std::function<void()>> tasks(4, [&] { ++ran; });
      pool.run(tasks);
    }
  };
  std::thread a(caller);
  std::thread b(caller);
  a.join();
  b.join();
  EXPECT_EQ(ran.load(), 2 * 200 * 4);
}

class ViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::LogManagerOptions options;
    options.data_dir = dir_.path() + "/log";
    options.background_threads = false;
    auto log = storage::LogManager::open(options);
    ASSERT_TRUE(log.ok()) << log.error().message();
    log_ = std::move(*log);
    ASSERT_TRUE(log_->create_topic("orders", 2).ok());
    auto catalog = sql::Catalog::open(posix_file_system(), dir_.path());
    ASSERT_TRUE(catalog.ok());
    catalog_ = std::move(*catalog);
    sql::TableDef table;
    table.name = table.topic = "orders";
    table.columns = {{"customer", Type::kText}, {"amount", Type::kInt8}};
    ASSERT_TRUE(catalog_->create(table).ok());
    auto parsed = sql::ParsedQuery::parse(
        "CREATE MATERIALIZED VIEW revenue AS SELECT customer, count(*) AS n, sum(amount) AS "
        "total FROM orders WHERE amount > 0 GROUP BY customer");
    ASSERT_TRUE(parsed.ok());
    auto plan = parsed->bind(0, sql::BindInput{catalog_.get(), {}, {}});
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    def_ = plan->view;
    select_ = plan->view_select;
    auto store = StateStore::open(dir_.path() + "/state");
    ASSERT_TRUE(store.ok()) << store.error().message();
    store_ = std::move(*store);
  }

  void produce(int32_t partition, const std::vector<std::string>& values) {
    std::vector<storage::OutgoingRecord> records;
    for (const auto& v : values)
      records.push_back({std::nullopt, std::string_view(v), 0});
    auto batch = storage::encode_batch(records, 1000);
    ASSERT_TRUE(log_->partition("orders", partition)->append_durable(batch).ok());
  }

  // A keyed record (a nullopt value: a tombstone) into partition 0 of `topic`.
  void change(const std::string& topic, const std::string& key, std::optional<std::string> value) {
    std::vector<storage::OutgoingRecord> records{
        {std::string_view(key), value ? std::optional<std::string_view>(*value) : std::nullopt, 0}};
    auto batch = storage::encode_batch(records, 1000);
    ASSERT_TRUE(log_->partition(topic, 0)->append_durable(batch).ok());
  }

  // accounts (id bigint PRIMARY KEY, region text, amount bigint) over a one-partition topic.
  void create_accounts() {
    ASSERT_TRUE(log_->create_topic("accounts", 1).ok());
    sql::TableDef accounts;
    accounts.name = accounts.topic = "accounts";
    accounts.columns = {{"id", Type::kInt8}, {"region", Type::kText}, {"amount", Type::kInt8}};
    accounts.primary_key = {0};
    ASSERT_TRUE(catalog_->create(accounts).ok());
  }

  // An upsert of accounts' row `id`, or (no region) its tombstone.
  void account(int id, std::optional<std::string> region, int amount = 0) {
    const std::string key = std::to_string(id);
    if (!region) return change("accounts", key, std::nullopt);
    change("accounts", key,
           R"({"id":)" + key + R"(,"region":")" + *region + R"(","amount":)" +
               std::to_string(amount) + "}");
  }

  // The latest value per key of partition 0 of `topic` (tombstones delete), as a compacted
  // topic's reader rebuilds it.
  std::map<std::string, std::string> latest_per_key(const std::string& topic) {
    std::map<std::string, std::string> out;
    auto partition = log_->partition(topic, 0);
    EXPECT_NE(partition, nullptr);
    for (int64_t at = 0; partition != nullptr && at < partition->high_watermark();) {
      auto chunk = partition->read(at, storage::ReadOptions{.max_bytes = 1 << 20});
      EXPECT_TRUE(chunk.ok());
      auto next = sql::for_each_record(
          chunk->data, [&](int64_t, const storage::RecordView& record, int64_t) -> sql::SqlStatus {
            if (record.value)
              out[std::string(*record.key)] = std::string(*record.value);
            else
              out.erase(std::string(*record.key));
            return sql::Unit{};
          });
      if (!next.ok() || *next <= at) break;
      at = *next;
    }
    return out;
  }

  std::map<std::string, std::pair<int64_t, std::string>> contents(View& view) {
    while (view.step()) {
    }
    auto rows = view.read();
    EXPECT_TRUE(rows.ok());
    std::map<std::string, std::pair<int64_t, std::string>> out;
    for (const auto& r : *rows)
      out[r[0].s] = {r[1].i, sql::to_text(r[2])};
    return out;
  }

  std::unique_ptr<View> make_view(size_t cache_bytes) {
    // With a pool: the partitions are pumped on different threads.
    return std::make_unique<View>(def_, select_, *log_, *store_,
                                  ViewOptions{.cache_bytes = cache_bytes, .pool = &pool_});
  }

  // Binds another view over `orders` in place of the fixture's.
  void bind_view(const std::string& sql) {
    auto parsed = sql::ParsedQuery::parse(sql);
    ASSERT_TRUE(parsed.ok());
    auto plan = parsed->bind(0, sql::BindInput{catalog_.get(), {}, {}});
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    def_ = plan->view;
    select_ = plan->view_select;
  }

  TempDir dir_;
  TaskPool pool_{2};
  std::unique_ptr<storage::LogManager> log_;
  std::unique_ptr<sql::Catalog> catalog_;
  std::unique_ptr<StateStore> store_;
  sql::ViewDef def_;
  std::shared_ptr<const sql::Plan> select_;
};

// Integer kernels compute exactly what eval() computes, and step aside (run() false) only where
// eval() gives NULL or an error: over every combination of edge values of three integer columns.
TEST_F(ViewTest, IntegerKernelsAgreeWithEval) {
  sql::TableDef nums;
  nums.name = nums.topic = "nums";
  nums.columns = {{"a", Type::kInt2}, {"b", Type::kInt4}, {"c", Type::kInt8}};
  ASSERT_TRUE(catalog_->create(nums).ok());
  const char* expressions[] = {"a + b",
                               "b - c",
                               "b * c",
                               "c / b",
                               "c % b",
                               "-c",
                               "a * a * a",
                               "-a",
                               "b::bigint * 3",
                               "c::int",
                               "c * 908 / 1000",
                               "a + 1",
                               "c % 123 = 0",
                               "a < b",
                               "b >= c",
                               "c <> -c",
                               "(a + b) * (c - 1) / 7"};
  std::string list;
  for (const char* e : expressions)
    list += std::string(list.empty() ? "" : ", ") + e + " AS e" + std::to_string(list.size());
  ASSERT_NO_FATAL_FAILURE(
      bind_view("CREATE MATERIALIZED VIEW k AS SELECT " + list + " FROM nums WHERE a + b > c"));
  const std::shared_ptr<const sql::Plan> plan = select_;  // kept: the next bind replaces select_
  std::vector<const sql::Expr*> exprs;
  for (size_t i = 0; i < std::size(expressions); ++i)
    exprs.push_back(&plan->outputs[i]);
  exprs.push_back(&*plan->where);
  std::vector<sql::IntKernel> kernels;
  for (const auto* e : exprs) {
    auto kernel = sql::IntKernel::compile(*e);
    ASSERT_TRUE(kernel.has_value()) << sql::expr_text(*e);
    kernels.push_back(*kernel);
  }
  // Not integer expressions: no kernel.
  ASSERT_NO_FATAL_FAILURE(bind_view(
      "CREATE MATERIALIZED VIEW k2 AS SELECT c + 1.5 AS x, c::text AS y, c / 2.0 AS z FROM nums"));
  for (size_t i = 0; i < 3; ++i)
    EXPECT_FALSE(sql::IntKernel::compile(select_->outputs[i]).has_value()) << i;

  const std::vector<std::optional<int64_t>> edges = {
      std::nullopt,  0,         1,        -1, 7, -7, 123, 32767, -32768, 2147483647,
      -2147483648LL, INT64_MAX, INT64_MIN};
  auto fits = [](Type t, int64_t v) {
    return t == Type::kInt8 || (t == Type::kInt4 && v >= INT32_MIN && v <= INT32_MAX) ||
           (t == Type::kInt2 && v >= INT16_MIN && v <= INT16_MAX);
  };
  const size_t width = nums.columns.size() + std::size(sql::kMetadataColumns);
  std::vector<std::vector<Value>> columns(width, std::vector<Value>(1));
  sql::Row row(width);
  std::vector<Value> params;
  const sql::EvalContext ctx{.row = &row, .params = &params};
  int checked = 0, ran = 0;
  for (const auto& a : edges)
    for (const auto& b : edges)
      for (const auto& c : edges) {
        const std::optional<int64_t> values[] = {a, b, c};
        bool ok = true;
        for (size_t i = 0; i < 3; ++i) {
          const Type t = nums.columns[i].type;
          if (values[i] && !fits(t, *values[i])) ok = false;
          row[i] = values[i] ? Value::integer(t, *values[i]) : Value::null_of(t);
          columns[i][0] = row[i];
        }
        if (!ok) continue;
        for (size_t k = 0; k < exprs.size(); ++k) {
          const auto expected = sql::eval(*exprs[k], ctx);
          int64_t got = 0;
          const bool kernel_ran = kernels[k].run(columns, 0, got);
          const std::string where =
              sql::expr_text(*exprs[k]) + " at a=" + (a ? std::to_string(*a) : "NULL") +
              " b=" + (b ? std::to_string(*b) : "NULL") + " c=" + (c ? std::to_string(*c) : "NULL");
          ++checked;
          if (!kernel_ran) {
            EXPECT_TRUE(!expected.ok() || expected->null) << where;
            continue;
          }
          ++ran;
          ASSERT_TRUE(expected.ok()) << where << ": " << expected.error().message;
          ASSERT_FALSE(expected->null) << where;
          EXPECT_EQ(expected->type, kernels[k].type()) << where;
          if (expected->type == Type::kBool)
            EXPECT_EQ(expected->b, got != 0) << where;
          else
            EXPECT_EQ(expected->i, got) << where;
        }
      }
  EXPECT_GT(ran, checked / 3);  // the kernels do the work in the common case
}

// A one-partition stream with more threads than partitions: each chunk is decoded in slices on
// several threads. Rows still come out in offset order, bad records are dead-lettered once each,
// compressed batches (whose records live in decompressed buffers) decode like plain ones, and an
// aggregate over the same stream counts every record once.
TEST_F(ViewTest, OnePartitionDecodesInSlicesAndKeepsOrder) {
  ASSERT_TRUE(log_->create_topic("events", 1).ok());
  sql::TableDef events;
  events.name = events.topic = "events";
  events.columns = {{"seq", Type::kInt8}, {"grp", Type::kInt8}};
  events.dead_letter = "events-dlq";
  ASSERT_TRUE(catalog_->create(events).ok());
  ASSERT_TRUE(log_->create_topic("events-dlq", 1).ok());
  std::vector<int64_t> good;
  int64_t bad = 0, seq = 0;
  auto make_batch = [&](int count, bool compressed) {
    std::vector<std::string> values;
    for (int i = 0; i < count; ++i, ++seq) {
      if (seq % 97 == 13) {
        values.push_back(R"({"seq":"not a number"})");
        ++bad;
      } else {
        values.push_back("{\"seq\":" + std::to_string(seq) + ",\"grp\":" + std::to_string(seq % 7) +
                         "}");
        good.push_back(seq);
      }
    }
    std::vector<storage::OutgoingRecord> records;
    for (const auto& v : values)
      records.push_back({std::nullopt, std::string_view(v), 0});
    auto batch = storage::encode_batch(records, 1000);
    if (!compressed) return batch;
    auto section = storage::compress(storage::Codec::kLz4,
                                     std::span(batch).subspan(storage::kBatchHeaderSize));
    EXPECT_TRUE(section.ok());
    // resize + memcpy rather than a range insert (a g++ 12 -Warray-bounds false positive).
    std::vector<std::byte> out(storage::kBatchHeaderSize + section->size());
    std::memcpy(out.data(), batch.data(), storage::kBatchHeaderSize);
    std::memcpy(out.data() + storage::kBatchHeaderSize, section->data(), section->size());
    storage::store_be32(out.data() + 8, static_cast<int32_t>(out.size() - 12));
    storage::store_be16(out.data() + 21, static_cast<int16_t>(storage::Codec::kLz4));
    storage::update_batch_crc(out);
    return out;
  };
  for (int b = 0; b < 6; ++b) {
    auto batch = make_batch(1500, b % 2 == 1);
    ASSERT_TRUE(log_->partition("events", 0)->append_durable(batch).ok());
  }

  ASSERT_NO_FATAL_FAILURE(
      bind_view("CREATE MATERIALIZED VIEW ordered WITH (topic = 'ordered-out', format = 'json') "
                "AS SELECT seq, grp * 2 AS g2 FROM events"));
  auto view = make_view(64 << 20);
  ASSERT_TRUE(view->open(true).ok());
  const auto plan = view->explain();
  std::string details;
  std::function<void(const sql::ExplainNode&)> walk = [&](const sql::ExplainNode& n) {
    for (const auto& d : n.details)
      details += d + "\n";
    for (const auto& c : n.children)
      walk(c);
  };
  walk(plan);
  EXPECT_NE(details.find("Slices: 3 per chunk"), std::string::npos) << details;
  while (view->step()) {
  }
  auto rows = view->read();
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  std::vector<int64_t> got;
  for (const auto& r : *rows) {
    got.push_back(r[0].i);
    EXPECT_EQ(r[1].i, (r[0].i % 7) * 2);
  }
  EXPECT_EQ(got, good);
  // The output topic gets the rows in offset order too (its records follow the pushes).
  std::vector<int64_t> emitted;
  auto out = log_->partition("ordered-out", 0);
  ASSERT_NE(out, nullptr);
  for (int64_t at = 0; at < out->high_watermark();) {
    auto chunk = out->read(at, storage::ReadOptions{.max_bytes = 1 << 20});
    ASSERT_TRUE(chunk.ok());
    auto next = sql::for_each_record(
        chunk->data, [&](int64_t, const storage::RecordView& record, int64_t) -> sql::SqlStatus {
          const std::string_view json = *record.value;
          const size_t colon = json.find(':');
          emitted.push_back(std::stoll(std::string(json.substr(colon + 1))));
          return sql::Unit{};
        });
    ASSERT_TRUE(next.ok() && *next > at);
    at = *next;
  }
  EXPECT_EQ(emitted, good);
  EXPECT_EQ(view->status().skipped, bad);
  EXPECT_EQ(view->status().records, seq);
  EXPECT_EQ(log_->partition("events-dlq", 0)->high_watermark(), bad);

  // Big batches of the aggregate are spread by row range and by key: string_agg still lists
  // each group's values in arrival order and DISTINCT counts each value once.
  ASSERT_NO_FATAL_FAILURE(
      bind_view("CREATE MATERIALIZED VIEW per_group AS SELECT grp, count(*) AS n, "
                "string_agg(seq::text, ',') AS seqs, count(DISTINCT seq % 5) AS d FROM events "
                "GROUP BY grp"));
  auto grouped = make_view(64 << 20);
  ASSERT_TRUE(grouped->open(true).ok());
  while (grouped->step()) {
  }
  auto groups = grouped->read();
  ASSERT_TRUE(groups.ok());
  std::map<int64_t, int64_t> want, have;
  std::map<int64_t, std::string> want_seqs, have_seqs;
  for (int64_t s : good) {
    ++want[s % 7];
    auto& list = want_seqs[s % 7];
    list += (list.empty() ? "" : ",") + std::to_string(s);
  }
  for (const auto& r : *groups) {
    have[r[0].i] = r[1].i;
    have_seqs[r[0].i] = r[2].s;
    EXPECT_EQ(r[3].i, 5) << r[0].i;
  }
  EXPECT_EQ(have, want);
  EXPECT_EQ(have_seqs, want_seqs);
}

TEST_F(ViewTest, CheckpointsAndResumes) {
  produce(0, {R"({"customer":"a","amount":5})", R"({"customer":"b","amount":1})", "not json"});
  produce(1, {R"({"customer":"a","amount":2})", R"({"customer":"a","amount":-1})"});
  {
    auto view = make_view(1);  // a tiny cache: state is re-read from RocksDB every batch
    ASSERT_TRUE(view->open(true).ok());
    auto got = contents(*view);
    EXPECT_EQ(got.size(), 2u);
    EXPECT_EQ(got["a"], std::make_pair(int64_t{2}, std::string("7")));
    EXPECT_EQ(got["b"], std::make_pair(int64_t{1}, std::string("1")));
    EXPECT_EQ(view->status().skipped, 1);
    EXPECT_EQ(view->status().records, 5);
    EXPECT_EQ(view->status().lag, 0);
  }
  // New input while the view is down: a new View resumes from the checkpointed offsets.
  produce(1, {R"({"customer":"c","amount":4})", R"({"customer":"a","amount":3})"});
  auto view = make_view(64 << 20);
  ASSERT_TRUE(view->open(false).ok());
  EXPECT_EQ(view->status().lag, 2);
  auto got = contents(*view);
  EXPECT_EQ(got["a"], std::make_pair(int64_t{3}, std::string("10")));
  EXPECT_EQ(got["b"], std::make_pair(int64_t{1}, std::string("1")));
  EXPECT_EQ(got["c"], std::make_pair(int64_t{1}, std::string("4")));
  EXPECT_EQ(view->status().records, 7);
  // Opening fresh discards the state.
  auto again = make_view(64 << 20);
  ASSERT_TRUE(again->open(true).ok());
  auto empty = again->read();
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST_F(ViewTest, AppendOnlyViewKeepsEveryRowAcrossBatchesAndReadsOlderRowState) {
  ASSERT_NO_FATAL_FAILURE(
      bind_view("CREATE MATERIALIZED VIEW doubled AS SELECT customer, amount * 2 AS twice FROM "
                "orders WHERE amount > 0"));
  produce(0, {R"({"customer":"a","amount":5})", R"({"customer":"b","amount":-1})"});
  produce(0, {R"({"customer":"c","amount":1})"});
  produce(1, {R"({"customer":"d","amount":2})", R"({"customer":"e","amount":3})"});
  auto view = make_view(64 << 20);
  ASSERT_TRUE(view->open(true).ok());
  while (view->step()) {
  }
  produce(1, {R"({"customer":"f","amount":4})"});
  while (view->step()) {
  }
  // A row as versions before chunked rows stored it: one per key under 'r'.
  std::string key = view->prefix() + "r";
  append_be32(key, 0);
  append_be64(key, 99);
  std::string value;
  sql::append_value(value, sql::Value::text("old"));
  sql::append_value(value, sql::Value::integer(Type::kInt8, 42));
  ASSERT_TRUE(store_->write({{key, value}}).ok());
  auto rows = view->read();
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  std::map<std::string, int64_t> got;
  for (const auto& r : *rows)
    got[r[0].s] = r[1].i;
  const std::map<std::string, int64_t> want{{"a", 10}, {"c", 2}, {"d", 4},
                                            {"e", 6},  {"f", 8}, {"old", 42}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(view->status().records, 6);
}

TEST_F(ViewTest, ColumnsAViewDoesNotReadStillDecideWhetherARecordFits) {
  // `amount` is not used by the view, yet a record whose amount is not a bigint is still bad.
  ASSERT_NO_FATAL_FAILURE(
      bind_view("CREATE MATERIALIZED VIEW names AS SELECT customer FROM orders"));
  produce(0, {R"({"customer":"a","amount":"zz"})", R"({"customer":{"nested":1},"amount":1})",
              R"({"amount":2,"customer":"b"})"});
  auto view = make_view(64 << 20);
  ASSERT_TRUE(view->open(true).ok());
  while (view->step()) {
  }
  auto rows = view->read();
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  std::multiset<std::string> got;
  for (const auto& r : *rows)
    got.insert(r[0].s);
  EXPECT_EQ(got, (std::multiset<std::string>{R"({"nested":1})", "b"}));
  EXPECT_EQ(view->status().skipped, 1);
}

// A stream-table join with a state cache too small to keep anything: every lookup goes to
// RocksDB. Table changes (upserts, a tombstone) are consumed before the stream records of the
// same step, earlier output is never rewritten, and a restarted view joins with the checkpointed
// table state.
TEST_F(ViewTest, StreamTableJoinLooksUpTheTableAsOfProcessing) {
  ASSERT_TRUE(log_->create_topic("customers", 1).ok());
  sql::TableDef customers;
  customers.name = customers.topic = "customers";
  customers.columns = {{"id", Type::kInt8}, {"name", Type::kText}};
  customers.primary_key = {0};
  ASSERT_TRUE(catalog_->create(customers).ok());
  bind_view(
      "CREATE MATERIALIZED VIEW enriched AS SELECT o.customer, c.name FROM orders o "
      "LEFT JOIN customers c ON o.amount = c.id");
  auto change = [&](const std::string& key, std::optional<std::string> value) {
    this->change("customers", key, std::move(value));
  };
  auto rows = [&](View& view) {
    while (view.step()) {
    }
    auto read = view.read();
    EXPECT_TRUE(read.ok());
    std::map<std::string, std::string> out;
    for (const auto& r : *read)
      out[r[0].s] = r[1].null ? "NULL" : r[1].s;
    return out;
  };
  change("1", R"({"id":1,"name":"one"})");
  change(R"({"id":2})", R"({"id":2,"name":"two"})");
  produce(0, {R"({"customer":"a","amount":1})", R"({"customer":"b","amount":2})"});
  produce(1, {R"({"customer":"c","amount":3})"});
  {
    auto view = make_view(1);
    ASSERT_TRUE(view->open(true).ok());
    EXPECT_EQ(rows(*view),
              (std::map<std::string, std::string>{{"a", "one"}, {"b", "two"}, {"c", "NULL"}}));
    change("1", std::nullopt);  // a tombstone keyed by the key's text
    change("3", R"({"id":3,"name":"three"})");
    change("4", R"({"id":null,"name":"no key"})");  // skipped: a null primary key
    produce(0, {R"({"customer":"d","amount":1})", R"({"customer":"e","amount":3})"});
    EXPECT_EQ(rows(*view),
              (std::map<std::string, std::string>{
                  {"a", "one"}, {"b", "two"}, {"c", "NULL"}, {"d", "NULL"}, {"e", "three"}}));
    EXPECT_EQ(view->status().skipped, 1);
    EXPECT_EQ(view->status().lag, 0);
  }
  produce(1, {R"({"customer":"f","amount":2})", R"({"customer":"g","amount":1})"});
  auto view = make_view(1);
  ASSERT_TRUE(view->open(false).ok());
  auto got = rows(*view);
  EXPECT_EQ(got["f"], "two");
  EXPECT_EQ(got["g"], "NULL");
  EXPECT_EQ(got.size(), 7u);
}

// DISTINCT aggregates across partitions pumped in parallel and a restart: a value counts once
// per group however many partitions and batches bring it, and the values seen are state.
TEST_F(ViewTest, DistinctAggregatesCountEachValueOncePerGroup) {
  bind_view(
      "CREATE MATERIALIZED VIEW d AS SELECT customer, count(DISTINCT amount) AS n, "
      "sum(DISTINCT amount) AS total FROM orders GROUP BY customer");
  std::vector<std::string> values;
  for (int i = 0; i < 200; ++i)
    values.push_back(R"({"customer":")" + std::string(i % 2 ? "a" : "b") + R"(","amount":)" +
                     std::to_string(i % 10) + "}");
  produce(0, values);
  produce(1, values);
  {
    auto view = make_view(1);
    ASSERT_TRUE(view->open(true).ok());
    auto got = contents(*view);
    EXPECT_EQ(got["a"], std::make_pair(int64_t{5}, std::string("25")));  // 1 3 5 7 9
    EXPECT_EQ(got["b"], std::make_pair(int64_t{5}, std::string("20")));  // 0 2 4 6 8
  }
  produce(1, {R"({"customer":"a","amount":3})", R"({"customer":"a","amount":11})",
              R"({"customer":"b","amount":null})"});
  auto view = make_view(64 << 20);
  ASSERT_TRUE(view->open(false).ok());
  auto got = contents(*view);
  EXPECT_EQ(got["a"], std::make_pair(int64_t{6}, std::string("36")));
  EXPECT_EQ(got["b"], std::make_pair(int64_t{5}, std::string("20")));
}

// A view over a table with a primary key: each upsert retracts the key's previous row, each
// tombstone its row. min/max fall back to the next value when theirs goes, DISTINCT counts the
// values still present, a group whose rows all go disappears; with the state evicted after every
// checkpoint (a one-byte cache) and across a restart, so the stored form carries all of it.
TEST_F(ViewTest, RetractionsKeepAggregatesOverATableWithAPrimaryKeyExact) {
  create_accounts();
  bind_view(
      "CREATE MATERIALIZED VIEW r AS SELECT region, count(*) AS n, sum(amount) AS total, "
      "min(amount) AS low, max(amount) AS high, count(DISTINCT amount) AS kinds FROM accounts "
      "GROUP BY region");
  auto rows = [&](View& view) {
    while (view.step()) {
    }
    auto read = view.read();
    EXPECT_TRUE(read.ok());
    std::map<std::string, std::string> out;
    for (const auto& r : *read) {
      std::string line;
      for (size_t c = 1; c < r.size(); ++c)
        line += (c > 1 ? " " : "") + sql::to_text(r[c]);
      out[r[0].s] = line;
    }
    return out;
  };
  using Contents = std::map<std::string, std::string>;
  account(1, "eu", 10);
  account(2, "eu", 30);
  account(3, "eu", 30);
  account(4, "us", 5);
  {
    auto view = make_view(1);
    ASSERT_TRUE(view->open(true).ok());
    EXPECT_EQ(rows(*view), (Contents{{"eu", "3 70 10 30 2"}, {"us", "1 5 5 5 1"}}));
    account(2, "eu", 20);      // one of the two maxima changes: max stays 30
    account(1, std::nullopt);  // the minimum goes: the next one is 20
    account(4, "us", 5);       // the same row again: nothing changes
    EXPECT_EQ(rows(*view), (Contents{{"eu", "2 50 20 30 2"}, {"us", "1 5 5 5 1"}}));
  }
  auto view = make_view(1);
  ASSERT_TRUE(view->open(false).ok());
  account(3, "us", 7);       // moves from eu to us: eu's max falls to 20
  account(4, std::nullopt);  // us keeps only id 3
  account(9, std::nullopt);  // a key that never existed: nothing to retract
  EXPECT_EQ(rows(*view), (Contents{{"eu", "1 20 20 20 1"}, {"us", "1 7 7 7 1"}}));
  account(2, std::nullopt);  // eu's last row: the group goes
  EXPECT_EQ(rows(*view), (Contents{{"us", "1 7 7 7 1"}}));
}

// Without GROUP BY a view over a table with a primary key holds the rows that pass now (a
// multiset: equal rows from different keys count apart), and UNION without ALL keeps a row
// while any arm holds it.
TEST_F(ViewTest, ViewsWithoutGroupByFollowUpdatesAndDeletes) {
  create_accounts();
  auto rows = [&](View& view) {
    while (view.step()) {
    }
    auto read = view.read();
    EXPECT_TRUE(read.ok());
    std::multiset<std::string> out;
    for (const auto& r : *read)
      out.insert(sql::to_text(r[0]));
    return out;
  };
  using Rows = std::multiset<std::string>;
  bind_view("CREATE MATERIALIZED VIEW big AS SELECT region FROM accounts WHERE amount > 10");
  auto big = make_view(1);
  ASSERT_TRUE(big->open(true).ok());
  bind_view(
      "CREATE MATERIALIZED VIEW places AS SELECT region FROM accounts UNION SELECT customer "
      "FROM orders");
  auto places = make_view(1);
  ASSERT_TRUE(places->open(true).ok());
  account(1, "eu", 20);
  account(2, "eu", 30);
  account(3, "us", 5);
  produce(0, {R"({"customer":"us","amount":1})"});
  EXPECT_EQ(rows(*big), (Rows{"eu", "eu"}));
  EXPECT_EQ(rows(*places), (Rows{"eu", "us"}));
  account(1, "ap", 40);      // eu once, ap once
  account(2, std::nullopt);  // eu's last copy goes
  account(3, "us", 50);
  EXPECT_EQ(rows(*big), (Rows{"ap", "us"}));
  EXPECT_EQ(rows(*places), (Rows{"ap", "us"}));
  account(3, std::nullopt);  // us stays: the stream arm holds it too
  EXPECT_EQ(rows(*big), (Rows{"ap"}));
  EXPECT_EQ(rows(*places), (Rows{"ap", "us"}));
}

// Top-N (ORDER BY ... LIMIT): over a stream only the window's rows stay in the state (the
// others can never come back); over a table with a primary key every row stays, so a retracted
// row of the window is replaced by the next one; both across a restart.
TEST_F(ViewTest, TopNKeepsTheWindowOverStreamsAndRefillsItAfterRetractions) {
  create_accounts();
  auto rows = [&](View& view) {
    while (view.step()) {
    }
    auto read = view.read();
    EXPECT_TRUE(read.ok());
    std::vector<std::string> out;  // in the view's order
    for (const auto& r : *read)
      out.push_back(sql::to_text(r[0]) + ":" + sql::to_text(r[1]));
    return out;
  };
  using Rows = std::vector<std::string>;
  auto state_entries = [&](const std::string& view) {
    size_t n = 0;
    EXPECT_TRUE(store_->scan(view_prefix(view) + "t", [&](auto, auto) { return ++n > 0; }).ok());
    return n;
  };
  bind_view(
      "CREATE MATERIALIZED VIEW top_orders AS SELECT customer, amount FROM orders ORDER BY "
      "amount DESC, customer LIMIT 2 OFFSET 1");
  auto top_orders = make_view(1);
  ASSERT_TRUE(top_orders->open(true).ok());
  bind_view(
      "CREATE MATERIALIZED VIEW richest AS SELECT region, amount FROM accounts ORDER BY amount "
      "DESC LIMIT 2");
  auto richest = make_view(1);
  ASSERT_TRUE(richest->open(true).ok());
  produce(0, {R"({"customer":"a","amount":5})", R"({"customer":"b","amount":9})",
              R"({"customer":"c","amount":7})", R"({"customer":"d","amount":1})"});
  account(1, "eu", 10);
  account(2, "us", 30);
  account(3, "ap", 20);
  EXPECT_EQ(rows(*top_orders), (Rows{"c:7", "a:5"}));
  EXPECT_EQ(state_entries("top_orders"), 3u);  // offset + limit rows
  EXPECT_EQ(rows(*richest), (Rows{"us:30", "ap:20"}));
  produce(1, {R"({"customer":"e","amount":8})"});
  account(2, std::nullopt);  // the top row goes: eu moves up
  account(3, "ap", 5);       // and ap falls behind it
  EXPECT_EQ(rows(*top_orders), (Rows{"e:8", "c:7"}));
  EXPECT_EQ(rows(*richest), (Rows{"eu:10", "ap:5"}));
  EXPECT_EQ(state_entries("richest"), 2u);
  auto reopened = make_view(1);
  ASSERT_TRUE(reopened->open(false).ok());
  account(4, "sa", 50);
  EXPECT_EQ(rows(*reopened), (Rows{"sa:50", "eu:10"}));
}

// A topic keyed by rows after a crash: records that work undone by the crash wrote (a row
// that is not in the view, a tombstone of one that is) are rewritten with the rows' current
// state when the view opens again, even though the work done again never touches those rows. An
// aggregate without GROUP BY writes its one row before any input.
TEST_F(ViewTest, OutputTopicsKeyedByRowsAreRepairedAfterACrash) {
  create_accounts();
  bind_view(
      "CREATE MATERIALIZED VIEW total WITH (topic = 'total-out') AS SELECT count(*) AS n "
      "FROM accounts");
  {
    auto total = make_view(1);
    ASSERT_TRUE(total->open(true).ok());
    while (total->step()) {
    }
  }
  EXPECT_EQ(latest_per_key("total-out"),
            (std::map<std::string, std::string>{{"{}", R"({"n":0})"}}));
  bind_view(
      "CREATE MATERIALIZED VIEW regions WITH (topic = 'regions-out') AS SELECT region "
      "FROM accounts");
  {
    auto view = make_view(1);
    ASSERT_TRUE(view->open(true).ok());
    account(1, "eu", 1);
    account(2, "us", 2);
    while (view->step()) {
    }
  }
  // What an interval the crash undid had written.
  std::vector<sql::TopicRecord> lost{{R"({"region":"ap"})", R"({"region":"ap"})"},
                                     {R"({"region":"eu"})", std::nullopt}};
  ASSERT_TRUE(sql::append_to_topic(*log_, "regions-out", lost, {}).ok());
  auto view = make_view(1);
  ASSERT_TRUE(view->open(false).ok());
  EXPECT_TRUE(view->has_pending());
  while (view->step()) {
  }
  EXPECT_EQ(latest_per_key("regions-out"),
            (std::map<std::string, std::string>{{R"({"region":"eu"})", R"({"region":"eu"})"},
                                                {R"({"region":"us"})", R"({"region":"us"})"}}));
}

// A FULL JOIN of two streams of two partitions each, pumped on the pool's threads at once (the
// join's state is shared by the partitions' pipelines), with an aggregate over it: after every
// round each key has n_orders x n_items joined rows, or its rows padded with NULLs when the
// other side has none; NULL keys match nothing. Across a restart too.
TEST_F(ViewTest, FullJoinOfTwoStreamsAcrossParallelPartitions) {
  ASSERT_TRUE(log_->create_topic("items", 2).ok());
  sql::TableDef items;
  items.name = items.topic = "items";
  items.columns = {{"customer", Type::kText}, {"qty", Type::kInt8}};
  ASSERT_TRUE(catalog_->create(items).ok());
  bind_view(
      "CREATE MATERIALIZED VIEW pairs AS SELECT coalesce(o.customer, i.customer, '-') AS k, "
      "count(*) AS n, count(o.amount) AS with_order, count(i.qty) AS with_item "
      "FROM orders o FULL JOIN items i ON o.customer = i.customer "
      "GROUP BY coalesce(o.customer, i.customer, '-')");
  std::map<std::string, std::pair<int64_t, int64_t>> counts;  // key -> orders, items
  int64_t null_orders = 0, null_items = 0;
  auto produce_to = [&](const std::string& topic, int32_t partition,
                        const std::vector<std::string>& values) {
    std::vector<storage::OutgoingRecord> records;
    for (const auto& v : values)
      records.push_back({std::nullopt, std::string_view(v), 0});
    auto batch = storage::encode_batch(records, 1000);
    ASSERT_TRUE(log_->partition(topic, partition)->append_durable(batch).ok());
  };
  unsigned seed = 7;
  auto next = [&] { return seed = seed * 1103515245u + 12345u, (seed >> 16) & 0x7fff; };
  auto round = [&](int records) {
    for (int32_t p = 0; p < 2; ++p) {
      std::vector<std::string> orders, item_values;
      for (int i = 0; i < records; ++i) {
        const unsigned key = next() % 13;
        if (key == 12) {
          orders.push_back(R"({"customer":null,"amount":1})");
          ++null_orders;
        } else {
          orders.push_back(R"({"customer":"c)" + std::to_string(key) + R"(","amount":1})");
          ++counts["c" + std::to_string(key)].first;
        }
        const unsigned item = next() % 13;
        if (item == 12) {
          item_values.push_back(R"({"customer":null,"qty":2})");
          ++null_items;
        } else if (item % 3 != 0) {  // some keys only ever have orders
          item_values.push_back(R"({"customer":"c)" + std::to_string(item) + R"(","qty":2})");
          ++counts["c" + std::to_string(item)].second;
        }
      }
      produce_to("orders", p, orders);
      produce_to("items", p, item_values);
    }
  };
  auto expected = [&] {
    std::map<std::string, std::pair<int64_t, std::string>> out;
    for (const auto& [key, c] : counts) {
      const auto [o, i] = c;
      if (o > 0 && i > 0)
        out[key] = {o * i, std::to_string(o * i)};
      else
        out[key] = {o + i, std::to_string(o)};
    }
    if (null_orders + null_items > 0)
      out["-"] = {null_orders + null_items, std::to_string(null_orders)};
    return out;
  };
  {
    auto view = make_view(1 << 20);
    ASSERT_TRUE(view->open(true).ok());
    for (int r = 0; r < 3; ++r) {
      round(40 + 30 * r);
      EXPECT_EQ(contents(*view), expected()) << "round " << r;
    }
  }
  round(50);
  auto view = make_view(1);  // reopened; a tiny cache reads the join's rows back from RocksDB
  ASSERT_TRUE(view->open(false).ok());
  EXPECT_EQ(contents(*view), expected());
  round(20);
  EXPECT_EQ(contents(*view), expected());
}

}  // namespace
}  // namespace eddy::stream
