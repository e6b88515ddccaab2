// Runs a validated graph as a oneTBB flow graph.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/engine/graph.h"
#include "pipeline/main_thread.h"
#include "pipeline/process_group.h"

namespace pipeline {

inline constexpr uint32_t kDefaultMaxInFlight = 256;

struct RunOptions {
  int threads = 0;  // 0 = all cores
  // Most messages from each source alive at once, before stages' own holdings are added;
  // 0 = the graph's max_in_flight, or kDefaultMaxInFlight.
  uint32_t max_in_flight = 0;
  // Set from another thread (the SIGINT handler) to stop sources; sinks still close.
  std::atomic<bool>* stop_requested = nullptr;
  // The processes running this graph together (null: a single process). In a distributed run the
  // first stage error ends the whole job at once, prefixed with the rank and host.
  ProcessGroup* world = nullptr;
  // Where stages run work that must be on the main thread (see main_thread.h); null: nowhere.
  MainThreadQueue* main_thread = nullptr;
};

// What one stage did during the run, for --profile. Times are wall-clock seconds while the flow
// graph ran (after every stage opened); a parallel stage's calls overlap, so its busy time can
// exceed the run's.
struct StageProfile {
  std::string name;
  std::string plugin;
  bool source = false;
  bool parallel = false;
  int64_t calls = 0;         // engine calls: produce() for sources, one per input bundle otherwise
  int64_t messages_in = 0;   // data messages received (0 for sources)
  int64_t messages_out = 0;  // data messages emitted
  // Inside the stage's own code (produce/process/end_epoch/close), summed over its calls.
  double busy_seconds = 0;
  // Starved: no call of the stage running and no input ready for it, from the start of the run
  // until its input ended (sources: 0). Time with input ready but no free worker thread is not
  // counted.
  double input_wait_seconds = 0;
  // Blocked: the source could not go on because every slot under the in-flight bound was taken,
  // i.e. downstream stages had not finished enough earlier messages (back-pressure). Only sources
  // block: every other stage's output is queued at its consumers, since the bound is kept at the
  // source; a slow stage therefore shows as blocked time at the sources upstream of it.
  double output_wait_seconds = 0;
};

struct RunResult {
  bool ok = true;
  bool stopped = false;  // ended early because stop was requested
  std::string error;     // `stage "NAME" (PLUGIN), epoch E, sample I: what went wrong`
  double wall_seconds = 0;
  // The flow graph's part of wall_seconds: from the first source starting to the last stage
  // finishing (opening stages and closing parallel ones are outside it).
  double flow_seconds = 0;
  int threads = 1;                    // worker threads the run used
  std::vector<StageProfile> profile;  // in the graph's topological order
};

RunResult RunGraph(const ResolvedGraph& graph, const RunOptions& options);

// The stage that bounds the run: the one busy for the largest share of the time it could have
// been (flow_seconds, times `threads` for a parallel stage). Index into result.profile; -1 when
// the profile is empty or no stage did any work.
int BottleneckStage(const RunResult& result);
// A stage's busy share of the time it could have been busy, in [0, 1] (see BottleneckStage).
double Utilization(const StageProfile& stage, const RunResult& result);

// The --profile report: a table with a row per stage (busy, waits, messages, throughput) and a
// one-line verdict naming the bounding stage.
std::string FormatProfile(const RunResult& result);

}  // namespace pipeline
