// Completes "tell me when this append is durable" requests without blocking the caller's thread.
//
// Network threads must not block in fsync. They hand (log, offset, callback) to this pool; a
// worker calls PartitionLog::wait_durable, which joins or leads a group commit, and then runs
// the callback on the worker thread (callers post back to their own executor). Requests for the
// same partition that arrive while an fsync runs are all covered by the next one.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "storage/partition_log.h"

namespace eddy::storage {

class DurabilityWaiter {
 public:
  explicit DurabilityWaiter(int threads);
  ~DurabilityWaiter();
  DurabilityWaiter(const DurabilityWaiter&) = delete;
  DurabilityWaiter& operator=(const DurabilityWaiter&) = delete;

  void wait(std::shared_ptr<PartitionLog> log, int64_t last_offset, uint64_t generation,
            std::function<void(Status)> done);
  // Finishes queued requests, then stops the workers.
  void stop();

 private:
  struct Request {
    std::shared_ptr<PartitionLog> log;
    int64_t last_offset;
    uint64_t generation;
    std::function<void(Status)> done;
  };
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Request> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace eddy::storage
