#include "stages/cnn/model_thread.h"

#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

namespace pipeline::cnn {

// The thread itself: one piece of work at a time, handed over under mutex_.
class ModelThread::Worker {
 public:
  Worker() : thread_([this] { loop(); }) {}

  ~Worker() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  void run(const std::function<void()>& work) {
    if (std::this_thread::get_id() == thread_.get_id()) {
      work();
      return;
    }
    std::lock_guard turn(callers_);  // one caller's work at a time
    std::unique_lock lock(mutex_);
    work_ = &work;
    done_ = false;
    error_ = nullptr;
    changed_.notify_all();
    changed_.wait(lock, [this] { return done_; });
    work_ = nullptr;
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

 private:
  void loop() {
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

  std::mutex callers_;
  std::mutex mutex_;
  std::condition_variable changed_;
  const std::function<void()>* work_ = nullptr;
  std::exception_ptr error_;
  bool done_ = false;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the rest is ready
};

namespace {

// The running worker, while some stage holds it.
std::mutex registry_mutex;
std::weak_ptr<ModelThread::Worker>& running_worker() {
  static std::weak_ptr<ModelThread::Worker> worker;
  return worker;
}

}  // namespace

ModelThread::ModelThread() {
  std::lock_guard lock(registry_mutex);
  worker_ = running_worker().lock();
  if (!worker_) {
    worker_ = std::make_shared<Worker>();
    running_worker() = worker_;
  }
}

ModelThread::~ModelThread() {
  // The last holder joins the thread when `last` goes, outside the registry lock.
  std::shared_ptr<Worker> last;
  {
    std::lock_guard lock(registry_mutex);
    last = std::move(worker_);
  }
}

void ModelThread::run(const std::function<void()>& work) { worker_->run(work); }

}  // namespace pipeline::cnn
