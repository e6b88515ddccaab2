// A test bench for one stage: builds it from a text snippet the way a graph file would, then
// lets a test feed it messages and inspect everything it emits, with no flow graph involved.
//
//   pipeline::Registry registry;
//   RegisterMyStages(registry);
//   pipeline::StageHarness harness(registry, R"(plugin: "batch" param { key: "size" value: "2"
//   })"); harness.push(0, /*epoch=*/0, /*index=*/0, first_sample); harness.push(0, 0, 1,
//   second_sample); auto batches = harness.outputs_of_type<pipeline::Batch>();  // one batch of two
//   samples harness.close();
//
// The harness checks what the engine guarantees a stage (valid parameters, inputs of the declared
// port types) and what a stage promises the engine (outputs on declared ports, of the declared
// types), so a mistake in a stage fails its own test instead of a whole graph.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/message.h"
#include "pipeline/params.h"
#include "pipeline/payload.h"
#include "pipeline/registry.h"
#include "pipeline/stage.h"

namespace pipeline {

// One thing the stage under test sent to its Emitter.
struct HarnessOutput {
  enum class Kind { kData, kEndOfEpoch };
  Kind kind = Kind::kData;
  int port = 0;  // output port of a data message; -1 for an end of epoch (it covers every port)
  int64_t epoch = 0;
  int64_t index = 0;                       // 0 for an end of epoch
  std::shared_ptr<const Payload> payload;  // null for an end of epoch
};

class StageHarness {
 public:
  // Creates the stage described by `spec_text`, the text format of one graph-file stage block,
  // e.g. `plugin: "batch" param { key: "size" value: "4" }` (`name` defaults to the plugin name;
  // `input` lines are ignored, the test is the producer). Parameters are checked and defaulted
  // exactly as in a graph file; the stage gets StageEnv{name, plugin, seed, threads = 1} and is
  // opened. Throws std::invalid_argument listing every problem in the snippet (syntax, unknown
  // plugin, invalid parameters); whatever the stage's constructor or open() throws passes
  // through unchanged.
  StageHarness(const Registry& registry, const std::string& spec_text, uint64_t seed = 0);
  ~StageHarness();
  StageHarness(const StageHarness&) = delete;
  StageHarness& operator=(const StageHarness&) = delete;

  const StageInfo& info() const { return *info_; }
  const Params& params() const { return params_; }
  Stage& stage() { return *stage_; }
  const std::string& name() const { return name_; }
  // Index of the input or output port called `name`; throws std::out_of_range when none is.
  int input_port(std::string_view port_name) const;
  int output_port(std::string_view port_name) const;

  // Transforms and sinks: delivers one data message on input `port` (process()).
  void push(int port, int64_t epoch, int64_t index, std::shared_ptr<const Payload> payload);
  // Transforms and sinks: all of `epoch` has arrived on input `port` (end_epoch()).
  void end_epoch(int port, int64_t epoch);
  // Sources: calls produce() until it returns false (end of stream) or until `max_messages`
  // data messages were emitted by this call. Returns how many were.
  size_t run_source(size_t max_messages = std::numeric_limits<size_t>::max());
  // True once produce() has returned false.
  bool source_finished() const { return source_finished_; }
  // What Ctrl-C does in a real run: sets StageEnv::stop_requested.
  void request_stop() { stop_requested_ = true; }
  // End of stream (close()); the stage flushes. Called at most once, and not by the destructor.
  void close();
  bool closed() const { return closed_; }

  // Everything emitted so far, in order. End-of-epoch records come only from sources: for other
  // stages the engine, not the stage, forwards epoch boundaries.
  const std::vector<HarnessOutput>& outputs() const { return outputs_; }
  // The payloads of type T emitted (on output `port`, or on any port when -1), in order. Other
  // payload types are skipped.
  template <typename T>
  std::vector<std::shared_ptr<const T>> outputs_of_type(int port = -1) const;
  // Epochs a source ended, in order.
  std::vector<int64_t> ended_epochs() const;
  void clear_outputs() { outputs_.clear(); }

 private:
  class Recorder;
  void require_open(std::string_view action) const;
  std::string describe() const;  // `stage "x" (plugin)` for messages

  const StageInfo* info_ = nullptr;
  std::string name_;
  Params params_;
  std::unique_ptr<Stage> stage_;
  std::unique_ptr<Recorder> recorder_;
  std::vector<HarnessOutput> outputs_;
  std::atomic<bool> stop_requested_{false};
  bool source_finished_ = false;
  bool closed_ = false;
};

template <typename T>
std::vector<std::shared_ptr<const T>> StageHarness::outputs_of_type(int port) const {
  std::vector<std::shared_ptr<const T>> typed;
  for (const HarnessOutput& output : outputs_) {
    if (output.kind != HarnessOutput::Kind::kData || (port >= 0 && output.port != port)) continue;
    if (const T* payload = payload_cast<T>(output.payload.get())) {
      typed.emplace_back(output.payload, payload);  // shares ownership with the record
    }
  }
  return typed;
}

}  // namespace pipeline
