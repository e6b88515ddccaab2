// Runs a validated graph as a oneTBB flow graph.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/engine/graph.h"

namespace pipeline {

inline constexpr uint32_t kDefaultMaxInFlight = 256;

struct RunOptions {
  int threads = 0;  // 0 = all cores
  // Most messages from each source alive at once, before stages' own holdings are added;
  // 0 = the graph's max_in_flight, or kDefaultMaxInFlight.
  uint32_t max_in_flight = 0;
  // Set from another thread (the SIGINT handler) to stop sources; sinks still close.
  std::atomic<bool>* stop_requested = nullptr;
};

// What one stage did during the run, for --profile.
struct StageProfile {
  std::string name;
  std::string plugin;
  int64_t calls = 0;
  int64_t messages_in = 0;
  int64_t messages_out = 0;
  double busy_seconds = 0;
};

struct RunResult {
  bool ok = true;
  bool stopped = false;  // ended early because stop was requested
  std::string error;     // `stage "NAME" (PLUGIN), epoch E, sample I: what went wrong`
  double wall_seconds = 0;
  std::vector<StageProfile> profile;  // in the graph's topological order
};

RunResult RunGraph(const ResolvedGraph& graph, const RunOptions& options);

}  // namespace pipeline
