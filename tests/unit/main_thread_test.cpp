// MainThreadQueue: what a display stage relies on to put its window on the process's main thread.
#include "pipeline/main_thread.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace pipeline {
namespace {

TEST(MainThreadQueue, RunsJobsInOrderOnTheServingThreadUntilFinished) {
  MainThreadQueue queue;
  const std::thread::id serving = std::this_thread::get_id();
  std::vector<int> order;
  std::vector<std::thread::id> ran_on;
  std::thread worker([&] {
    std::vector<std::future<void>> done;
    for (int i = 0; i < 5; ++i) {
      done.push_back(queue.post([&order, &ran_on, i] {
        order.push_back(i);
        ran_on.push_back(std::this_thread::get_id());
      }));
    }
    for (auto& job : done) job.get();  // each has run once its future is ready
    queue.finish();
  });
  queue.serve();
  worker.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  for (const std::thread::id id : ran_on) EXPECT_EQ(id, serving);
}

TEST(MainThreadQueue, AJobsExceptionReachesItsFutureAndServingGoesOn) {
  MainThreadQueue queue;
  std::future<void> failing = queue.post([] { throw std::runtime_error("no window"); });
  bool later_ran = false;
  std::future<void> later = queue.post([&] { later_ran = true; });
  queue.finish();
  queue.serve();  // runs both, then returns: finish() was called and nothing is left
  EXPECT_TRUE(later_ran);
  later.get();
  try {
    failing.get();
    FAIL() << "the job's exception was lost";
  } catch (const std::runtime_error& error) {
    EXPECT_EQ(std::string(error.what()), "no window");
  }
}

TEST(MainThreadQueue, JobsQueuedBeforeFinishStillRun) {
  MainThreadQueue queue;
  int ran = 0;
  std::thread worker([&] {
    queue.post([&] { ++ran; });
    queue.post([&] { ++ran; });
    queue.finish();
  });
  worker.join();
  queue.serve();
  EXPECT_EQ(ran, 2);
}

}  // namespace
}  // namespace pipeline
