// One thread of its own on which a stage does all its oneDNN work.
//
// Why: oneDNN's default ("library") scratchpad is per thread, so a primitive must run — and be
// destroyed — on the thread that created it, while the engine runs a serial stage on whichever
// oneTBB worker is free. Keeping the model on one thread also gives OpenMP a single master
// thread, so one team of OpenMP workers serves every step instead of one team per oneTBB worker.
#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace pipeline::cnn {

class ModelThread {
 public:
  ModelThread();
  ~ModelThread();  // finishes the current call, then joins
  ModelThread(const ModelThread&) = delete;
  ModelThread& operator=(const ModelThread&) = delete;

  // Runs `work` on the thread and waits for it; rethrows whatever it throws. One caller at a
  // time (the engine calls a serial stage one message at a time).
  void run(const std::function<void()>& work);

 private:
  void loop();

  std::mutex mutex_;
  std::condition_variable changed_;
  const std::function<void()>* work_ = nullptr;
  std::exception_ptr error_;
  bool done_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace pipeline::cnn
