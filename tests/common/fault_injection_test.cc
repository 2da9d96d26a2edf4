#include "common/fault_injection.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <string>

namespace eddy {
namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/eddy-fi-XXXXXX";
  return ::mkdtemp(tmpl);
}

std::span<const std::byte> bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

TEST(FaultInjection, FailsTheNthWriteWithAShortWrite) {
  FaultInjectionFileSystem fs(posix_file_system());
  const std::string dir = temp_dir();
  auto file = fs.open(dir + "/f", {.create = true});
  ASSERT_TRUE(file.ok());
  fs.inject(
      {.op = FaultInjectionFileSystem::Op::kWrite, .nth = 2, .error = ENOSPC, .partial_bytes = 3});
  ASSERT_TRUE((*file)->write_at(0, bytes("hello")).ok());
  Status second = (*file)->write_at(5, bytes("world"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), ErrorCode::kNoSpace);
  EXPECT_EQ(*(*file)->size(), 8u);                     // 3 bytes of the failed write landed
  EXPECT_TRUE((*file)->write_at(8, bytes("!")).ok());  // one-shot fault
  (void)fs.remove_all(dir);
}

TEST(FaultInjection, StickySyncFailureUntilCleared) {
  FaultInjectionFileSystem fs(posix_file_system());
  const std::string dir = temp_dir();
  auto file = fs.open(dir + "/f", {.create = true});
  ASSERT_TRUE(file.ok());
  fs.inject({.op = FaultInjectionFileSystem::Op::kSync, .nth = 1, .error = EIO, .sticky = true});
  EXPECT_EQ((*file)->sync().error().code(), ErrorCode::kIoError);
  EXPECT_FALSE((*file)->sync().ok());
  fs.clear();
  EXPECT_TRUE((*file)->sync().ok());
  EXPECT_EQ(fs.calls(FaultInjectionFileSystem::Op::kSync), 3u);
  (void)fs.remove_all(dir);
}

TEST(FileIo, AtomicWriteReplacesContents) {
  const std::string dir = temp_dir();
  FileSystem& fs = posix_file_system();
  ASSERT_TRUE(write_file_atomically(fs, dir + "/a", bytes("first version")).ok());
  ASSERT_TRUE(write_file_atomically(fs, dir + "/a", bytes("v2")).ok());
  auto read = read_whole_file(fs, dir + "/a", 100);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(read->data()), read->size()), "v2");
  EXPECT_EQ(read_whole_file(fs, dir + "/a", 1).error().code(), ErrorCode::kTooLarge);
  EXPECT_FALSE(*fs.exists(dir + "/a.tmp"));
  (void)fs.remove_all(dir);
}

}  // namespace
}  // namespace eddy
