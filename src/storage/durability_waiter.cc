#include "storage/durability_waiter.h"

namespace eddy::storage {

DurabilityWaiter::DurabilityWaiter(int threads) {
  for (int i = 0; i < threads; ++i)
    workers_.emplace_back([this] { run(); });
}

DurabilityWaiter::~DurabilityWaiter() {
  stop();
}

void DurabilityWaiter::wait(std::shared_ptr<PartitionLog> log, int64_t last_offset,
                            uint64_t generation, std::function<void(Status)> done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back({std::move(log), last_offset, generation, std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(Error(ErrorCode::kClosed, "storage is shutting down"));
}

void DurabilityWaiter::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& worker : workers_)
    worker.join();
  workers_.clear();
}

void DurabilityWaiter::run() {
  for (;;) {
    Request request;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      request = std::move(queue_.front());
      queue_.pop_front();
    }
    Status status = request.log->wait_durable(request.last_offset, request.generation);
    request.done(status);
  }
}

}  // namespace eddy::storage
