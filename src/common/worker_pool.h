// A pool of worker threads that grows with demand, for work whose length varies by orders of
// magnitude (SQL statements: a `SELECT 1` beside a scan of millions of rows). A job starts at
// once while fewer than `max_threads` jobs run, so short work never queues behind long work;
// threads beyond `min_threads` exit after sitting idle for `idle_timeout`. Threads get stacks of
// `stack_bytes` (reserved address space; only the pages touched take memory), so deep but
// legitimate recursion (binding a 5,000-term expression) has room before stack_guard.h refuses.
//
// Thread-safe. The destructor (or shutdown()) runs every job already submitted, then joins.
#pragma once

#include "common/stack_guard.h"

#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace eddy {

class WorkerPool {
 public:
  struct Options {
    std::string name = "worker";  // thread name prefix (at most 15 characters are kept)
    size_t min_threads = 1;
    size_t max_threads = 64;
    size_t stack_bytes = kDeepRecursionStackBytes;
    std::chrono::milliseconds idle_timeout{10'000};
  };

  // A unit of work; move-only callables (asio completion handlers) fit, unlike std::function.
  class Job {
   public:
    virtual ~Job() = default;
    virtual void run() = 0;
  };

  explicit WorkerPool(Options options);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void submit(std::unique_ptr<Job> job);
  template <typename Fn>
  void submit_fn(Fn fn) {
    struct FnJob final : Job {
      explicit FnJob(Fn f) : fn(std::move(f)) {}
      void run() override { fn(); }
      Fn fn;
    };
    submit(std::make_unique<FnJob>(std::move(fn)));
  }

  // Runs what was submitted, then stops and joins every thread; later submits run nothing.
  void shutdown();

  // For tests and metrics.
  size_t thread_count() const;

 private:
  static void* thread_main(void* self);
  void work();
  void start_thread_locked();
  void reap_exited_locked(std::vector<pthread_t>& to_join);

  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable all_exited_;
  std::deque<std::unique_ptr<Job>> queue_;
  size_t threads_ = 0;  // started and not yet exited
  size_t idle_ = 0;     // waiting for work
  size_t next_id_ = 0;
  bool stopping_ = false;
  std::vector<pthread_t> running_;  // started threads not joined yet
  std::vector<pthread_t> exited_;   // finished; joined by the next submit or shutdown
};

}  // namespace eddy
