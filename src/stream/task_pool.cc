#include "stream/task_pool.h"

#include <algorithm>

namespace eddy::stream {

TaskPool::TaskPool(int threads) {
  for (int i = 0; i < threads; ++i)
    threads_.emplace_back([this] { work(); });
}

TaskPool::~TaskPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& t : threads_)
    t.join();
}

void TaskPool::finish(Group& group) {
  std::lock_guard lock(mu_);
  if (--group.remaining == 0) group.done.notify_all();
}

void TaskPool::work() {
  std::unique_lock lock(mu_);
  while (true) {
    ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    Task task = queue_.front();
    queue_.pop_front();
    lock.unlock();
    (*task.fn)();
    finish(*task.group);
    lock.lock();
  }
}

void TaskPool::run(std::vector<std::function<void()>>& tasks) {
  if (tasks.empty()) return;
  if (threads_.empty() || tasks.size() == 1) {
    for (auto& t : tasks)
      t();
    return;
  }
  Group group;
  group.remaining = tasks.size();
  {
    std::lock_guard lock(mu_);
    // The first task is the caller's own; the rest are offered to the pool.
    for (size_t i = 1; i < tasks.size(); ++i)
      queue_.push_back(Task{&tasks[i], &group});
  }
  ready_.notify_all();
  tasks[0]();
  finish(group);
  // Help with this group's tasks no pool thread has taken yet, then wait for the rest.
  std::unique_lock lock(mu_);
  while (group.remaining > 0) {
    auto mine = std::find_if(queue_.begin(), queue_.end(),
                             [&](const Task& t) { return t.group == &group; });
    if (mine == queue_.end()) {
      group.done.wait(lock, [&] { return group.remaining == 0; });
      break;
    }
    Task task = *mine;
    queue_.erase(mine);
    lock.unlock();
    (*task.fn)();
    finish(*task.group);
    lock.lock();
  }
}

}  // namespace eddy::stream
