// RowSpool and Cursor without a server: rows read back whole in memory and after spilling to
// the temporary file, in any order; FETCH/MOVE positions as PostgreSQL moves them.
#include "sql/cursor.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "sql/numeric.h"

namespace eddy::sql {
namespace {

Row row_of(int64_t i) {
  Numeric n;
  numeric_parse(std::to_string(i) + ".125", n);
  return {Value::integer(Type::kInt8, i),
          Value::text(std::string(static_cast<size_t>(i % 97), 'x')),
          i % 5 == 0 ? Value::null_of(Type::kText) : Value::numeric(n),
          Value::interval(1, static_cast<int32_t>(i), i * 1000)};
}

void expect_row(RowSpool& spool, int64_t i) {
  Row got;
  ASSERT_TRUE(spool.read(static_cast<uint64_t>(i), got).ok());
  const Row want = row_of(i);
  ASSERT_EQ(got.size(), want.size());
  for (size_t c = 0; c < want.size(); ++c)
    EXPECT_EQ(to_text(got[c]), to_text(want[c])) << "row " << i << " column " << c;
  EXPECT_EQ(got[2].null, want[2].null);
}

void fill_and_read(size_t memory_limit, bool spills) {
  const auto dir = std::filesystem::temp_directory_path();
  RowSpool spool(dir.string(), memory_limit);
  constexpr int64_t kRows = 5000;
  for (int64_t i = 0; i < kRows; ++i)
    ASSERT_TRUE(spool.append(row_of(i)).ok());
  ASSERT_TRUE(spool.finish().ok());
  EXPECT_EQ(spool.size(), static_cast<uint64_t>(kRows));
  EXPECT_EQ(spool.spilled(), spills);
  for (int64_t i = 0; i < kRows; ++i)
    expect_row(spool, i);
  std::mt19937 random(7);
  for (int k = 0; k < 2000; ++k)
    expect_row(spool, static_cast<int64_t>(random() % kRows));
  for (int64_t i = kRows - 1; i >= kRows - 300; --i)
    expect_row(spool, i);
}

TEST(RowSpool, ReadsBackInMemory) {
  fill_and_read(64 << 20, false);
}
TEST(RowSpool, ReadsBackAfterSpilling) {
  fill_and_read(4096, true);
}

Cursor five(bool scroll) {
  auto spool = std::make_unique<RowSpool>(std::filesystem::temp_directory_path().string(), 1024);
  for (int64_t g = 1; g <= 5; ++g)
    EXPECT_TRUE(spool->append({Value::integer(Type::kInt4, g)}).ok());
  EXPECT_TRUE(spool->finish().ok());
  CursorOptions options;
  options.scroll = scroll;
  return Cursor({{"g", Type::kInt4}}, std::move(spool), options, "");
}

// (rows, count) of one FETCH; MOVE when `move`.
std::pair<std::vector<int64_t>, int64_t> fetch(Cursor& c, FetchDirection d, int64_t n,
                                               bool move = false) {
  std::vector<int64_t> rows;
  std::function<SqlStatus(Row &&)> emit;
  if (!move)
    emit = [&](Row&& r) -> SqlStatus {
      rows.push_back(r[0].i);
      return Unit{};
    };
  auto count = c.fetch(d, n, emit);
  EXPECT_TRUE(count.ok());
  return {rows, count.ok() ? *count : -1};
}

using V = std::vector<int64_t>;

TEST(Cursor, MovesAsPostgreSQL) {
  Cursor c = five(true);
  EXPECT_EQ(fetch(c, FetchDirection::kForward, 10), std::make_pair(V{1, 2, 3, 4, 5}, int64_t{5}));
  EXPECT_EQ(fetch(c, FetchDirection::kBackward, 1), std::make_pair(V{5}, int64_t{1}));
  EXPECT_EQ(fetch(c, FetchDirection::kBackward, kFetchAll, true).second, 4);
  EXPECT_EQ(fetch(c, FetchDirection::kRelative, 0), std::make_pair(V{}, int64_t{0}));
  EXPECT_EQ(fetch(c, FetchDirection::kAbsolute, -2), std::make_pair(V{4}, int64_t{1}));
  EXPECT_EQ(fetch(c, FetchDirection::kRelative, 0), std::make_pair(V{4}, int64_t{1}));
  EXPECT_EQ(fetch(c, FetchDirection::kAbsolute, 9, true).second, 0);
  EXPECT_EQ(fetch(c, FetchDirection::kRelative, -1, true).second, 1);
  EXPECT_EQ(fetch(c, FetchDirection::kBackward, 2), std::make_pair(V{4, 3}, int64_t{2}));
  EXPECT_EQ(fetch(c, FetchDirection::kForward, 0), std::make_pair(V{3}, int64_t{1}));
  EXPECT_EQ(fetch(c, FetchDirection::kForward, 10, true).second, 2);
  EXPECT_EQ(fetch(c, FetchDirection::kForward, 1), std::make_pair(V{}, int64_t{0}));
  EXPECT_EQ(fetch(c, FetchDirection::kAbsolute, -100), std::make_pair(V{}, int64_t{0}));
  EXPECT_EQ(fetch(c, FetchDirection::kForward, -1), std::make_pair(V{}, int64_t{0}));
  EXPECT_EQ(fetch(c, FetchDirection::kForward, 2), std::make_pair(V{1, 2}, int64_t{2}));
  EXPECT_EQ(fetch(c, FetchDirection::kForward, INT64_MIN), std::make_pair(V{1}, int64_t{1}));
}

TEST(Cursor, NoScrollRefusesBackwardMoves) {
  Cursor c = five(false);
  // Nothing to fetch again before the first row; MOVE 0 reads nothing: both allowed.
  EXPECT_EQ(fetch(c, FetchDirection::kForward, 0), std::make_pair(V{}, int64_t{0}));
  EXPECT_EQ(fetch(c, FetchDirection::kForward, 2).second, 2);
  EXPECT_EQ(fetch(c, FetchDirection::kForward, 0, true).second, 1);
  EXPECT_EQ(fetch(c, FetchDirection::kRelative, 0, true).second, 1);
  EXPECT_EQ(fetch(c, FetchDirection::kAbsolute, 4).second, 1);  // forward: allowed
  auto refuse = [&](FetchDirection d, int64_t n) {
    auto r = c.fetch(d, n, [](Row&&) -> SqlStatus { return Unit{}; });
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().sqlstate, "55000");
  };
  refuse(FetchDirection::kBackward, 1);
  refuse(FetchDirection::kForward, 0);  // the current row again
  refuse(FetchDirection::kRelative, 0);
  refuse(FetchDirection::kAbsolute, 1);
  refuse(FetchDirection::kAbsolute, -1);
  refuse(FetchDirection::kRelative, -1);
  // Refused moves leave the cursor usable where it was.
  EXPECT_EQ(fetch(c, FetchDirection::kForward, kFetchAll), std::make_pair(V{5}, int64_t{1}));
}

TEST(Cursor, AFailedFetchFailsTheCursor) {
  Cursor c = five(true);
  auto failing = c.fetch(FetchDirection::kForward, 3, [](Row&& r) -> SqlStatus {
    if (r[0].i == 2) return sql_error("57014", "canceled");
    return Unit{};
  });
  ASSERT_FALSE(failing.ok());
  auto after = c.fetch(FetchDirection::kForward, 1, nullptr);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().sqlstate, "55000");
}

TEST(Cursor, CompletionTagsCountTheRowsOfTheExecute) {
  auto spool = std::make_unique<RowSpool>(std::filesystem::temp_directory_path().string(), 1024);
  ASSERT_TRUE(spool->finish().ok());
  EXPECT_EQ(Cursor({}, std::move(spool), {}, "SELECT 10").completion_tag(4), "SELECT 4");
  auto show = std::make_unique<RowSpool>(std::filesystem::temp_directory_path().string(), 1024);
  EXPECT_EQ(Cursor({}, std::move(show), {}, "SHOW").completion_tag(1), "SHOW");
}

TEST(RowSpool, SpilledSpoolsAreBoundedInTheProcess) {
  const std::string dir = std::filesystem::temp_directory_path().string();
  std::vector<std::unique_ptr<RowSpool>> spools;
  for (int i = 0; i < RowSpool::kMaxSpilled; ++i) {
    spools.push_back(std::make_unique<RowSpool>(dir, 0));
    ASSERT_TRUE(spools.back()->append(row_of(i)).ok());
    ASSERT_TRUE(spools.back()->spilled());
  }
  RowSpool one_more(dir, 0);
  auto refused = one_more.append(row_of(1));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().sqlstate, "53000");
  spools.pop_back();  // closing one makes room
  RowSpool next(dir, 0);
  EXPECT_TRUE(next.append(row_of(1)).ok());
}

TEST(RowSpool, TempFileLimitBoundsWhatSpills) {
  RowSpool spool(std::filesystem::temp_directory_path().string(), 1024, 64 * 1024);
  SqlStatus status = Unit{};
  for (int64_t i = 0; i < 100000 && status.ok(); ++i)
    status = spool.append(row_of(i));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().sqlstate, "53400");
  EXPECT_NE(status.error().message.find("temp_file_limit (64kB)"), std::string::npos);
}

}  // namespace
}  // namespace eddy::sql
