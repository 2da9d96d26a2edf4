#include "storage/compression.h"

#include <gtest/gtest.h>

#include "batch_builder.h"
#include "storage/records.h"

namespace eddy::storage {
namespace {

using testing::build_value_batch;

class CodecTest : public ::testing::TestWithParam<Codec> {};

TEST_P(CodecTest, RoundTripsAndBoundsOutput) {
  std::string text;
  for (int i = 0; i < 5000; ++i)
    text += "record " + std::to_string(i) + ";";
  std::span<const std::byte> plain(reinterpret_cast<const std::byte*>(text.data()), text.size());
  auto packed = compress(GetParam(), plain);
  ASSERT_TRUE(packed.ok());
  auto unpacked = decompress(GetParam(), *packed, 1 << 20);
  ASSERT_TRUE(unpacked.ok()) << unpacked.error().message();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(unpacked->data()), unpacked->size()), text);
  if (GetParam() != Codec::kNone) {
    // A decompression bomb is refused at the bound, not allocated.
    EXPECT_EQ(decompress(GetParam(), *packed, 1000).error().code(), ErrorCode::kTooLarge);
    auto damaged = *packed;
    damaged.resize(damaged.size() / 2);
    EXPECT_FALSE(decompress(GetParam(), damaged, 1 << 20).ok());
  }
}

TEST_P(CodecTest, BatchesAreReencodedToTheTopicCodecKeepingTheirRecords) {
  auto batch = build_value_batch(50, 40, "c");
  auto converted = check_batch_contents(batch, GetParam(), 1 << 20);
  ASSERT_TRUE(converted.ok()) << converted.error().message();
  if (GetParam() == Codec::kNone) {
    EXPECT_FALSE(converted->has_value());  // already uncompressed: nothing to do
    return;
  }
  ASSERT_TRUE(converted->has_value());
  const auto& out = **converted;
  BatchHeader h = decode_batch_header(out.data());
  EXPECT_EQ(h.compression(), static_cast<int>(GetParam()));
  EXPECT_EQ(h.record_count, 50);
  EXPECT_EQ(check_batch(out, 1 << 20).defect, BatchDefect::kNone);
  // And back: the re-encoded batch decodes to the same records.
  auto back = check_batch_contents(out, Codec::kNone, 1 << 20);
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(back->has_value());
  EXPECT_EQ(**back, batch);
}

INSTANTIATE_TEST_SUITE_P(All, CodecTest,
                         ::testing::Values(Codec::kNone, Codec::kGzip, Codec::kSnappy, Codec::kLz4,
                                           Codec::kZstd));

TEST(BatchContents, RecordCountMustMatchTheRecords) {
  auto batch = build_value_batch(3, 10);
  store_be32(batch.data() + 57, 4);  // claims 4 records, holds 3
  store_be32(batch.data() + 23, 3);
  update_batch_crc(batch);
  auto checked = check_batch_contents(batch, std::nullopt, 1 << 20);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().code(), ErrorCode::kCorrupt);
  auto fewer = build_value_batch(3, 10);
  store_be32(fewer.data() + 57, 2);
  store_be32(fewer.data() + 23, 1);
  update_batch_crc(fewer);
  EXPECT_FALSE(check_batch_contents(fewer, std::nullopt, 1 << 20).ok());
  EXPECT_TRUE(check_batch_contents(build_value_batch(3, 10), std::nullopt, 1 << 20).ok());
}

}  // namespace
}  // namespace eddy::storage
