// A graph file after parsing and validation: what the runner executes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "graph.pb.h"
#include "pipeline/engine/diagnostic.h"
#include "pipeline/params.h"
#include "pipeline/registry.h"

namespace pipeline {

struct StageInstance {
  std::string name;
  const Registry::Entry* entry = nullptr;  // the registered type implementing it
  Params params;                           // complete: set values and defaults, all valid
  int line = 0;                            // of its `stage {` block
};

// Output port `from_port` of stage `from` feeds input port `to_port` of stage `to`
// (indices into ResolvedGraph::stages and the stages' port lists).
struct Edge {
  int from = 0;
  int from_port = 0;
  int to = 0;
  int to_port = 0;
};

struct ResolvedGraph {
  std::string file;
  proto::GraphSpec spec;  // as written, with --set overrides applied
  uint64_t seed = 0;
  uint32_t max_in_flight = 0;
  std::vector<StageInstance> stages;  // in topological order: producers before consumers
  std::vector<Edge> edges;
};

struct LoadOptions {
  // "stage.param=value" from --set, applied before validation.
  std::vector<std::string> overrides;
  // Overrides the file's seed when set.
  std::optional<uint64_t> seed;
  // The plugin folders that were searched, named in "unknown plugin" errors.
  std::vector<std::string> plugin_dirs;
};

struct LoadResult {
  std::optional<ResolvedGraph> graph;  // set only when `errors` is empty
  std::vector<Diagnostic> errors;      // all of them, in file order
};

// Reads, parses and validates a graph file.
LoadResult LoadGraphFile(const std::string& path, const Registry& registry,
                         const LoadOptions& options);
// Same for text already in memory; `file` names it in diagnostics.
LoadResult LoadGraphText(const std::string& text, const std::string& file,
                         const Registry& registry, const LoadOptions& options);

// Graphviz rendering: one node per stage (plugin and kind), edges labelled with port types.
std::string ToDot(const ResolvedGraph& graph);

}  // namespace pipeline
