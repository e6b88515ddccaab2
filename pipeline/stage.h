// The stage contract: what every standard stage and every plugin stage implements.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "pipeline/main_thread.h"
#include "pipeline/message.h"
#include "pipeline/params.h"
#include "pipeline/process_group.h"

namespace pipeline {

enum class StageKind { kSource, kTransform, kSink };
// kParallel stages must not keep state between messages; the engine runs them on many threads
// and restores the order of their outputs before any serial stage sees them.
enum class Concurrency { kSerial, kParallel };

std::string_view to_string(StageKind kind);
std::string_view to_string(Concurrency concurrency);

// A port's type is a stable string id ("sample", "batch", "model", ...). An input port of
// type "any" accepts every type.
struct PortSpec {
  std::string name;
  std::string type;
  std::string doc;
  // An optional input may be left unconnected; the stage then sees it end at once.
  bool optional = false;
};

inline constexpr const char* kAnyType = "any";

class Stage;

// Everything known about a stage type before an instance exists: the engine validates graphs,
// and `pipeline plugins` documents stages, from this alone.
struct StageInfo {
  std::string name;  // the plugin name used in graph files, e.g. "idx_source"
  StageKind kind = StageKind::kTransform;
  Concurrency concurrency = Concurrency::kSerial;
  std::string doc;  // one line
  std::vector<PortSpec> inputs;
  std::vector<PortSpec> outputs;
  std::vector<ParamSpec> params;
  std::function<std::unique_ptr<Stage>()> create;

  const ParamSpec* find_param(std::string_view param_name) const;
};

// Set by the engine before open().
struct StageEnv {
  std::string name;    // instance name in the graph
  std::string plugin;  // StageInfo::name
  uint64_t graph_seed = 0;
  int threads = 1;
  // The whole graph as run (protobuf text, --set overrides applied), for checkpoints and
  // reports that record where they came from.
  std::string graph_text;
  std::string graph_file;
  // Set when the user asked to stop (Ctrl-C); long-running sources should check it.
  const std::atomic<bool>* stop_requested = nullptr;
  // Ends the sources upstream of this stage after their current message, so the run finishes
  // normally (every stage closes). Set by the engine; see Stage::request_finish().
  std::function<void()> finish_upstream;
  // Which inputs (by port index) the graph feeds: an optional input may be left unconnected.
  // Empty when not known (a stage test bench): every input then counts as connected.
  std::vector<bool> connected_inputs;
  // The processes running this graph together (mpirun); null means a plain single-process run.
  ProcessGroup* world = nullptr;
  // Runs work on the process's main thread (GUI toolkits need it; see main_thread.h); null when
  // the host has none, as in stage tests.
  MainThreadQueue* main_thread = nullptr;
};

// Lifecycle: open() once → produce() (sources) or process() for each data message, with
// end_epoch() after each epoch's data → close() once at end of stream, which is where partial
// work is flushed. Throwing from any of them cancels the run; the engine reports the stage,
// epoch and sample.
class Stage {
 public:
  virtual ~Stage() = default;

  virtual void open(const Params& params) { (void)params; }

  // Sources: emit the next message(s) and return true, or return false at end of stream.
  virtual bool produce(Emitter& out) {
    (void)out;
    return false;
  }

  // Transforms and sinks: one data message arrived (msg.port says on which input).
  virtual void process(const Message& msg, Emitter& out) {
    (void)msg;
    (void)out;
  }

  // All data of `epoch` on input `port` has been processed. Serial stages only; the engine
  // forwards the epoch boundary downstream after this returns.
  virtual void end_epoch(int port, int64_t epoch, Emitter& out) {
    (void)port;
    (void)epoch;
    (void)out;
  }

  // Every input has ended. Flush whatever is pending.
  virtual void close(Emitter& out) { (void)out; }

  // The most input messages this stage gathers before it emits the output built from them
  // (a batcher returns its batch size). The engine keeps those inputs counted as in flight
  // until that output is done, and raises the in-flight bound by this much so it cannot
  // deadlock. Called after open().
  virtual int held_inputs() const { return 0; }

  const StageEnv& env() const { return env_; }

  // Asks the sources that feed this stage to end their streams early (early stopping): the
  // run then ends normally with exit code 0. Sources that do not feed this stage go on.
  void request_finish() const {
    if (env_.finish_upstream) env_.finish_upstream();
  }
  void set_env(StageEnv env) { env_ = std::move(env); }

  // The processes running this graph together: rank 0 of 1 in a plain run. Under mpirun every
  // rank runs the whole graph; sources shard training data, rank 0 alone writes files.
  ProcessGroup& world() const { return env_.world != nullptr ? *env_.world : SingleProcess(); }

  // Whether the graph feeds input `port` (see StageEnv::connected_inputs). A stage can refuse, in
  // open(), parameters that need an optional input the graph left unconnected.
  bool input_connected(int port) const {
    if (env_.connected_inputs.empty()) return true;
    return port >= 0 && port < static_cast<int>(env_.connected_inputs.size()) &&
           env_.connected_inputs[static_cast<size_t>(port)];
  }

  // A generator seeded from (graph seed, stage name, epoch, index): the same sample gets the
  // same random choices whatever thread runs it, in every run with the same seed.
  std::mt19937_64 rng_for(int64_t epoch, int64_t index) const;

 private:
  StageEnv env_;
};

// The seed behind Stage::rng_for, for code that needs it outside a stage.
uint64_t DeriveSeed(uint64_t graph_seed, std::string_view stage_name, int64_t epoch, int64_t index);

}  // namespace pipeline
