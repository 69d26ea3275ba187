#pragma once
// A fixed set of worker threads that run one task together and wait for each other:
// Run(fn) calls fn(worker_index) on every worker and returns when all have finished.
// Run() is called from one coordinating thread.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace spate {

class ForkJoin {
 public:
  explicit ForkJoin(uint32_t workers) {
    for (uint32_t w = 0; w < workers; ++w) threads_.emplace_back([this, w] { Loop(w); });
  }
  ~ForkJoin() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_ = true;
    }
    start_.notify_all();
    for (auto& t : threads_) t.join();
  }
  ForkJoin(const ForkJoin&) = delete;
  ForkJoin& operator=(const ForkJoin&) = delete;

  void Run(const std::function<void(uint32_t)>& fn) {
    std::unique_lock<std::mutex> lock(mu_);
    task_ = &fn;
    pending_ = static_cast<uint32_t>(threads_.size());
    ++generation_;
    start_.notify_all();
    done_.wait(lock, [&] { return pending_ == 0; });
    task_ = nullptr;
  }

  uint32_t size() const { return static_cast<uint32_t>(threads_.size()); }

 private:
  void Loop(uint32_t w) {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(uint32_t)>* task;
      {
        std::unique_lock<std::mutex> lock(mu_);
        start_.wait(lock, [&] { return quit_ || generation_ != seen; });
        if (quit_) return;
        seen = generation_;
        task = task_;
      }
      (*task)(w);
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (--pending_ == 0) done_.notify_one();
      }
    }
  }

  std::mutex mu_;
  std::condition_variable start_, done_;
  const std::function<void(uint32_t)>* task_ = nullptr;
  uint32_t pending_ = 0;
  uint64_t generation_ = 0;
  bool quit_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace spate
