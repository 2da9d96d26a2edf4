#include "common/worker_pool.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace eddy {

WorkerPool::WorkerPool(Options options) : options_(std::move(options)) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < options_.min_threads; ++i)
    start_thread_locked();
}

WorkerPool::~WorkerPool() {
  shutdown();
}

void WorkerPool::submit(std::unique_ptr<Job> job) {
  std::vector<pthread_t> to_join;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    queue_.push_back(std::move(job));
    // A thread already waiting takes it; otherwise a new one, unless the pool is at its cap.
    if (idle_ >= queue_.size()) {
      wake_.notify_one();
    } else if (threads_ < std::max<size_t>(options_.max_threads, 1)) {
      start_thread_locked();
    } else {
      wake_.notify_one();
    }
    reap_exited_locked(to_join);
  }
  for (pthread_t t : to_join)
    pthread_join(t, nullptr);
}

void WorkerPool::shutdown() {
  std::vector<pthread_t> to_join;
  {
    std::unique_lock lock(mu_);
    if (stopping_ && running_.empty()) return;
    stopping_ = true;
    wake_.notify_all();
    all_exited_.wait(lock, [this] { return threads_ == 0; });
    to_join.swap(running_);
    exited_.clear();
  }
  for (pthread_t t : to_join)
    pthread_join(t, nullptr);
}

size_t WorkerPool::thread_count() const {
  std::lock_guard lock(mu_);
  return threads_;
}

void WorkerPool::start_thread_locked() {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, options_.stack_bytes);
  pthread_t thread;
  const int rc = pthread_create(&thread, &attr, &WorkerPool::thread_main, this);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    // Out of threads or address space: the jobs still run on the threads there are. With none
    // at all, nothing could ever run them, so that is fatal.
    if (threads_ == 0) throw std::runtime_error("cannot start a worker thread");
    return;
  }
  char name[16];
  std::snprintf(name, sizeof name, "%.10s-%zu", options_.name.c_str(), next_id_++ % 1000);
  pthread_setname_np(thread, name);
  ++threads_;
  running_.push_back(thread);
}

void WorkerPool::reap_exited_locked(std::vector<pthread_t>& to_join) {
  for (pthread_t t : exited_) {
    running_.erase(std::remove_if(running_.begin(), running_.end(),
                                  [t](pthread_t r) { return pthread_equal(r, t) != 0; }),
                   running_.end());
    to_join.push_back(t);
  }
  exited_.clear();
}

void* WorkerPool::thread_main(void* self) {
  static_cast<WorkerPool*>(self)->work();
  return nullptr;
}

void WorkerPool::work() {
  std::unique_lock lock(mu_);
  while (true) {
    if (!queue_.empty()) {
      std::unique_ptr<Job> job = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      job->run();
      job.reset();
      lock.lock();
      continue;
    }
    if (stopping_) break;
    ++idle_;
    const bool woken = wake_.wait_for(lock, options_.idle_timeout,
                                      [this] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (!woken && threads_ > options_.min_threads) {
      exited_.push_back(pthread_self());
      break;
    }
  }
  --threads_;
  if (threads_ == 0) all_exited_.notify_all();
}

}  // namespace eddy
