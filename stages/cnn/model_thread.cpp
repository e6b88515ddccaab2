#include "stages/cnn/model_thread.h"

#include <utility>

namespace pipeline::cnn {

ModelThread::ModelThread() : thread_([this] { loop(); }) {}

ModelThread::~ModelThread() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void ModelThread::run(const std::function<void()>& work) {
  std::unique_lock lock(mutex_);
  work_ = &work;
  done_ = false;
  error_ = nullptr;
  changed_.notify_all();
  changed_.wait(lock, [this] { return done_; });
  work_ = nullptr;
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

void ModelThread::loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return stop_ || (work_ != nullptr && !done_); });
    if (work_ == nullptr || done_) return;  // stopping with nothing to do
    const std::function<void()>* work = work_;
    lock.unlock();
    std::exception_ptr error;
    try {
      (*work)();
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    error_ = error;
    done_ = true;
    changed_.notify_all();
  }
}

}  // namespace pipeline::cnn
