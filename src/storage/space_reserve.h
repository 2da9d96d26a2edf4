// Reserved space in the data directory, so that space can always be freed through Eddy.
//
// On a disk that is 100% full, deleting a topic or dropping a table must first rewrite a catalog
// file, which needs a little space. A reserve file (Eddy's ballast) holds some bytes back; a
// deletion whose catalog write fails for lack of space releases it and tries once more. The file
// is made again once the disk has room for it several times over.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

namespace eddy::storage {

class SpaceReserve {
 public:
  // `bytes` 0 disables the reserve.
  SpaceReserve(std::string path, uint64_t bytes) : path_(std::move(path)), bytes_(bytes) {}

  // Creates the file (allocated, fsynced) when it is missing and the disk has room to spare.
  // Logs what fails, never fails.
  void ensure();
  // Deletes the file; true when there was one to delete.
  bool release();
  bool held() const;

 private:
  const std::string path_;
  const uint64_t bytes_;
  mutable std::mutex mu_;
  bool held_ = false;
};

}  // namespace eddy::storage
