// Work that must run on the process's main thread. GUI toolkits want it: Qt (OpenCV's HighGUI on
// Debian) leaves objects behind that its exit handlers, on the main thread, tear down, and warns
// "QObject::killTimer: Timers cannot be stopped from another thread" when another thread made
// them; macOS's toolkits refuse any other thread outright. `pipeline run` therefore runs the flow
// graph on a worker thread and serves this queue on the main thread meanwhile. A host without
// one (a stage test bench) leaves StageEnv::main_thread null, and a stage then runs such work on
// a thread of its own.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>

namespace pipeline {

class MainThreadQueue {
 public:
  // Any thread: queues `job` to run on the main thread after those queued before it, and returns
  // at once. The future holds what the job threw, if anything.
  std::future<void> post(std::function<void()> job);

  // The main thread: runs queued jobs one at a time until finish() was called and none is left.
  void serve();

  // Any thread: serve() returns once the jobs queued so far have run.
  void finish();

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::packaged_task<void()>> jobs_;
  bool finishing_ = false;
};

}  // namespace pipeline
