// The single-stage pieces of graph loading, for tools that check one stage on its own (the stage
// test harness) as well as for LoadGraphText, which applies them to every stage of a graph.
#pragma once

#include <string>
#include <vector>

#include "graph.pb.h"
#include "pipeline/engine/diagnostic.h"
#include "pipeline/params.h"
#include "pipeline/stage.h"

namespace pipeline {

// A place in a text file; both 1-based, 0 when unknown.
struct SourcePosition {
  int line = 0;
  int column = 0;
};

// Where each part of one StageSpec was written, so a diagnostic can point at the offending value
// rather than at the whole stage. Values point at the value itself (the opening quote), not at
// the field name.
struct StageLocations {
  SourcePosition block;                // the `stage` keyword (or the snippet's start)
  SourcePosition name;                 // value of `name`; unknown when absent
  SourcePosition plugin;               // value of `plugin`; unknown when absent
  std::vector<SourcePosition> inputs;  // one per StageSpec::input
  struct ParamPlace {
    SourcePosition key;
    SourcePosition value;
    // Set when the value came from `--set`; diagnostics about it then name the override, not
    // the file.
    std::string override_text;
  };
  std::vector<ParamPlace> params;  // one per StageSpec::param
};

// Parses the text format of one StageSpec (e.g. `plugin: "batch" param { key: "size" value: "4"
// }`). `file` names the text in diagnostics. Returns the syntax errors (empty on success) and
// fills `spec` and `where`.
std::vector<Diagnostic> ParseStageSpecText(const std::string& text, const std::string& file,
                                           proto::StageSpec& spec, StageLocations& where);

// Checks `spec`'s parameters against the schema in `info` and fills in defaults. Appends one
// diagnostic per problem to `errors` (unknown parameter, one given twice, a value of the wrong
// type, out of range or not an allowed choice, a missing required parameter), naming
// `stage_name` and pointing into `file` through `where` (which may have fewer entries than the
// spec; missing places are reported without a line). The returned Params are complete and valid
// only when nothing was appended.
Params ResolveStageParams(const proto::StageSpec& spec, const StageInfo& info,
                          const std::string& stage_name, const std::string& file,
                          const StageLocations& where, std::vector<Diagnostic>& errors);

}  // namespace pipeline
