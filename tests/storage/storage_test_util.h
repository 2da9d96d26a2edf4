// Shared fixture pieces for storage tests: a temporary directory and a controllable clock.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "batch_builder.h"
#include "storage/partition_log.h"
#include "storage/record_batch.h"

namespace eddy::storage {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/eddy-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct FakeClock {
  std::shared_ptr<std::atomic<int64_t>> now = std::make_shared<std::atomic<int64_t>>(1700000000000);
  Clock clock() const {
    auto n = now;
    return [n] { return n->load(); };
  }
  void advance(int64_t ms) { *now += ms; }
};

// Base offsets of the batches in `data`.
inline std::vector<BatchHeader> headers_of(const std::vector<std::byte>& data) {
  std::vector<BatchHeader> out;
  size_t pos = 0;
  while (pos + kBatchHeaderSize <= data.size()) {
    out.push_back(decode_batch_header(data.data() + pos));
    pos += out.back().size_bytes();
  }
  return out;
}

}  // namespace eddy::storage
