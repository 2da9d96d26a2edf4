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
  EXPECT_EQ(fetch(c, FetchDirection::kForward, 2).second, 2);
  EXPECT_EQ(fetch(c, FetchDirection::kAbsolute, 4).second, 1);  // forward: allowed
  for (auto [d, n] : {std::pair{FetchDirection::kBackward, int64_t{1}},
                      std::pair{FetchDirection::kForward, int64_t{0}},
                      std::pair{FetchDirection::kAbsolute, int64_t{1}},
                      std::pair{FetchDirection::kAbsolute, int64_t{-1}},
                      std::pair{FetchDirection::kRelative, int64_t{-1}}}) {
    auto r = c.fetch(d, n, nullptr);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().sqlstate, "55000");
  }
  EXPECT_EQ(fetch(c, FetchDirection::kForward, kFetchAll), std::make_pair(V{5}, int64_t{1}));
}

}  // namespace
}  // namespace eddy::sql
