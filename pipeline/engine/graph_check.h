// Private to graph loading: the state of one graph being validated, and the validation phases
// that LoadGraphText runs over it in order. Every phase reports all the problems it finds and
// leaves the next phase enough to go on with, so one run reports every error in the file.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "graph.pb.h"
#include "pipeline/engine/diagnostic.h"
#include "pipeline/engine/graph.h"
#include "pipeline/engine/graph_validate.h"
#include "pipeline/params.h"
#include "pipeline/registry.h"

namespace pipeline::graph_detail {

struct GraphCheck {
  GraphCheck(std::string file_name, const Registry& known_stages, const LoadOptions& load_options)
      : file(std::move(file_name)), registry(known_stages), options(load_options) {}

  std::string file;
  const Registry& registry;
  const LoadOptions& options;
  proto::GraphSpec spec;
  std::vector<StageLocations> where;            // one per spec.stage()
  std::vector<const Registry::Entry*> entries;  // one per stage; nullptr when the plugin is unknown
  std::map<std::string, int, std::less<>> index_by_name;  // the first stage of each name
  std::vector<Diagnostic> errors;

  // An error in the file at `at`, belonging to stage number `stage` (-1: to the whole graph).
  void error(int stage, SourcePosition at, std::string message);
  // An error in a --set override; `stage` may be empty.
  void override_error(const std::string& stage, std::string message);
  std::vector<std::string> stage_names() const;
};

// A connection between two stages, by their index in the file, and the input that made it.
struct Wire {
  Edge edge;
  int input = 0;  // index into the consumer's StageSpec::input
};

// Phases, in the order they run.
// Fills `entries` and `index_by_name`; reports missing, malformed and duplicate stage names,
// missing and unknown plugins.
void CheckNamesAndPlugins(GraphCheck& check);
// Applies LoadOptions::overrides to `spec` and `where`; reports malformed overrides and ones
// naming an unknown stage or parameter.
void ApplyOverrides(GraphCheck& check);
// The complete parameters of each stage (empty for stages with an unknown plugin).
std::vector<Params> ResolveAllParams(GraphCheck& check);
// Resolves every `input`; reports every wiring problem. Returns the valid connections.
std::vector<Wire> ResolveWiring(GraphCheck& check);
// Stage indices in topological order, producers first and otherwise in file order; reports each
// cycle. The order is partial when there are cycles.
std::vector<int> OrderStages(GraphCheck& check, const std::vector<Wire>& wires);
// Reports a graph with no stages, no source or no sink.
void CheckSourcesAndSinks(GraphCheck& check);

}  // namespace pipeline::graph_detail
