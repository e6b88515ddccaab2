// ToDot: a resolved graph as Graphviz source (`pipeline dot train.graph | dot -Tsvg`).
#include <string>
#include <string_view>

#include "pipeline/engine/graph.h"

namespace pipeline {
namespace {

// A DOT double-quoted string. Backslashes are doubled so that a name never turns into one of
// DOT's label escapes (\l, \N...); a line break becomes DOT's \n.
std::string Quoted(std::string_view text) {
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (c == '\n') {
      quoted += "\\n";
    } else if (c != '\r') {
      quoted += c;
    }
  }
  return quoted + "\"";
}

// Sources and sinks point into and out of the picture; transforms are plain boxes.
std::string_view ShapeOf(StageKind kind) {
  switch (kind) {
    case StageKind::kSource:
      return "invhouse";
    case StageKind::kSink:
      return "house";
    case StageKind::kTransform:
      return "box";
  }
  return "box";
}

}  // namespace

std::string ToDot(const ResolvedGraph& graph) {
  const std::string& title = graph.spec.name().empty() ? graph.file : graph.spec.name();
  std::string dot = "digraph " + Quoted(title) + " {\n";
  dot += "  rankdir=TB;\n";
  dot += "  node [fontname=\"Helvetica\", style=rounded];\n";
  dot += "  edge [fontname=\"Helvetica\", fontsize=10];\n";

  for (const StageInstance& stage : graph.stages) {
    const StageInfo& info = stage.entry->info;
    const std::string label =
        Quoted(stage.name + "\n" + info.name + " (" + std::string(to_string(info.kind)) + ")");
    dot += "  " + Quoted(stage.name) + " [label=" + label +
           ", shape=" + std::string(ShapeOf(info.kind)) + "];\n";
  }
  for (const Edge& edge : graph.edges) {
    const StageInstance& from = graph.stages[edge.from];
    const StageInstance& to = graph.stages[edge.to];
    const PortSpec& out = from.entry->info.outputs[edge.from_port];
    const PortSpec& in = to.entry->info.inputs[edge.to_port];
    dot += "  " + Quoted(from.name) + " -> " + Quoted(to.name) +
           " [label=" + Quoted(out.name + " \u2192 " + in.name + " (" + out.type + ")") + "];\n";
  }
  return dot + "}\n";
}

}  // namespace pipeline
