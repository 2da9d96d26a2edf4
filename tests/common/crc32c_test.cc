#include "common/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace eddy {
namespace {

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(crc32c("", 0), 0u);
  std::vector<uint8_t> zeros(32, 0);
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  std::vector<uint8_t> ones(32, 0xFF);
  EXPECT_EQ(crc32c(ones.data(), ones.size()), 0x62A8AB43u);
}

TEST(Crc32c, HardwareAndPortableAgreeOnAllLengthsAndSplits) {
  std::mt19937 rng(7);
  std::vector<uint8_t> data(5000);
  for (auto& b : data)
    b = static_cast<uint8_t>(rng());
  for (size_t len : {0, 1, 7, 8, 9, 63, 64, 65, 1000, 4999, 5000}) {
    uint32_t portable = crc32c_extend_portable(0, data.data(), len);
    EXPECT_EQ(crc32c(data.data(), len), portable) << len;
    // Extending in two pieces equals one pass.
    size_t split = len / 3;
    uint32_t piecewise =
        crc32c_extend(crc32c_extend(0, data.data(), split), data.data() + split, len - split);
    EXPECT_EQ(piecewise, portable) << len;
  }
}

}  // namespace
}  // namespace eddy
