// A small fixed pool of threads that runs groups of independent tasks, so one materialized view
// can work on several source partitions at once. run() blocks until every task of its group has
// finished; the calling thread runs tasks too, so a group makes progress even when every pool
// thread is busy with another view's group.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace eddy::stream {

class TaskPool {
 public:
  explicit TaskPool(int threads);
  ~TaskPool();
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  void run(std::vector<std::function<void()>>& tasks);
  // Pool threads (a group also runs on its caller).
  int threads() const { return static_cast<int>(threads_.size()); }

 private:
  struct Group {
    size_t remaining = 0;
    std::condition_variable done;
  };
  struct Task {
    std::function<void()>* fn;
    Group* group;
  };
  void work();
  void finish(Group& group);

  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<Task> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace eddy::stream
