// Runs one stage instance for the flow graph: turns bundles into calls of the Stage API, keeps
// tickets with the outputs built from them, forwards epoch and stream ends, and gives every
// failure its stage, epoch and sample. Knows nothing of oneTBB, so it is tested directly.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pipeline/engine/flow_message.h"
#include "pipeline/engine/graph.h"
#include "pipeline/process_group.h"
#include "pipeline/stage.h"

namespace pipeline {

// Shared by all executors of a run: the first failure wins and stops the sources.
class RunStatus {
 public:
  void fail(const std::string& message);
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  std::string error() const;
  // In a distributed run the first failure ends the whole job (see ProcessGroup::abort_job):
  // the other ranks would otherwise wait in their next collective for ever.
  void set_world(ProcessGroup* world) { world_ = world; }

 private:
  ProcessGroup* world_ = nullptr;
  std::atomic<bool> failed_{false};
  mutable std::mutex mutex_;
  std::string error_;
};

// Per-stage figures for --profile (see StageProfile in runner.h for what each one means).
struct StageStats {
  std::atomic<int64_t> calls{0};
  std::atomic<int64_t> messages_in{0};
  std::atomic<int64_t> messages_out{0};
  std::atomic<int64_t> busy_ns{0};
  // Consumers: no call running and no input ready (starved).
  std::atomic<int64_t> input_wait_ns{0};
  // Sources: a produced message waiting for a slot under the in-flight bound (back-pressure).
  // Added by the runner, which owns the limiter.
  std::atomic<int64_t> output_wait_ns{0};
};

class StageExecutor {
 public:
  // `connected[port]` says which inputs the graph feeds; the others (optional) count as ended.
  StageExecutor(const StageInstance& instance, std::unique_ptr<Stage> stage, RunStatus& status,
                const std::vector<bool>& connected);

  // Opens the stage; returns false (and records the error) when it throws.
  bool open(const StageEnv& env);

  // Sources: the next bundle, with a fresh ticket from `make_ticket` for what it holds.
  // Returns nullptr once the stream has ended (after a bundle carrying end of stream).
  BundlePtr produce(const std::function<std::shared_ptr<Ticket>()>& make_ticket,
                    bool stop_requested);

  // Transforms and sinks: the envelopes of `in` from output port `producer_port` of the
  // producer wired to input `port`. Thread-safe for parallel stages; serial stages are called
  // one at a time by the engine.
  BundlePtr consume(const Bundle& in, int port, int producer_port);

  // Parallel stages have no ordered end-of-stream hook; the engine closes them after the run.
  void close_parallel();

  const StageInstance& instance() const { return instance_; }
  // Sources: end the stream at the next produce() (a downstream stage asked to finish).
  void request_finish() { finish_requested_.store(true); }
  int held_inputs() const;
  StageStats& stats() { return stats_; }
  bool is_parallel() const;
  // The flow graph starts: from now on a consumer with no input ready is starved.
  void start_clock(std::chrono::steady_clock::time_point now);

 private:
  class Collector;
  void handle_control(const Envelope& envelope, int port, Collector& out);
  std::string context(const char* what) const;
  std::string sample_context(int64_t epoch, int64_t index) const;
  // Input-wait accounting around each consume() call.
  void call_started(std::chrono::steady_clock::time_point ready_at,
                    std::chrono::steady_clock::time_point now);
  void call_ended(std::chrono::steady_clock::time_point now);

  const StageInstance& instance_;
  std::unique_ptr<Stage> stage_;
  RunStatus& status_;
  StageStats stats_;
  int input_count_ = 0;

  // Serial state (the engine never calls consume concurrently for serial stages).
  std::mutex serial_mutex_;  // multi-input stages get one engine node per port
  uint64_t next_seq_ = 0;
  std::vector<bool> port_ended_;
  bool stream_ended_ = false;
  std::atomic<bool> finish_requested_{false};
  std::vector<std::shared_ptr<Ticket>> pending_tickets_;

  // Calls running now, and since when none has (parallel stages run several at once).
  std::mutex activity_mutex_;
  int active_calls_ = 0;
  std::chrono::steady_clock::time_point idle_since_ = std::chrono::steady_clock::now();
};

}  // namespace pipeline
