// The one thread on which every CNN stage of a process does its oneDNN work.
//
// Why one thread: oneDNN's default ("library") scratchpad is per thread, so a primitive must run —
// and be destroyed — on the thread that created it, while the engine runs a serial stage on
// whichever oneTBB worker is free. And why one for all stages: each thread that calls oneDNN is
// the master of its own OpenMP team, so a trainer and an evaluator (or two predictors) on
// threads of their own would run two teams on the same cores, each step waiting at barriers for
// threads the other team had pushed off a core. On one thread their steps take turns, each with
// every core.
#pragma once

#include <functional>
#include <memory>

namespace pipeline::cnn {

class ModelThread {
 public:
  // Joins the process's compute thread, starting it if no stage holds it; the thread ends when
  // the last ModelThread is destroyed.
  ModelThread();
  ~ModelThread();
  ModelThread(const ModelThread&) = delete;
  ModelThread& operator=(const ModelThread&) = delete;

  // Runs `work` on the compute thread and waits for it; rethrows whatever it throws. Callers from
  // several stages take turns; a call from the compute thread itself runs `work` at once.
  void run(const std::function<void()>& work);

  class Worker;

 private:
  std::shared_ptr<Worker> worker_;
};

}  // namespace pipeline::cnn
