// LoadGraphFile / LoadGraphText: parse, run every validation phase, and build the ResolvedGraph.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "pipeline/engine/graph.h"
#include "pipeline/engine/graph_check.h"
#include "pipeline/engine/graph_text.h"

namespace pipeline {
namespace {

namespace gp = google::protobuf;

// Locates every stage of the parsed graph in its text.
std::vector<StageLocations> LocateStages(const std::string& text,
                                         const gp::TextFormat::ParseInfoTree& tree,
                                         const proto::GraphSpec& spec) {
  const graph_detail::SourceText source(text);
  const gp::FieldDescriptor* stage_field = proto::GraphSpec::descriptor()->FindFieldByName("stage");
  // Blocks are located one per `stage` keyword, which holds unless they were written as a list.
  const int count = spec.stage_size();
  const bool aligned = count > 0 && tree.GetLocation(stage_field, count - 1).line >= 0 &&
                       tree.GetLocation(stage_field, count).line < 0;
  std::vector<StageLocations> where;
  for (int i = 0; i < count; ++i) {
    const SourcePosition block =
        aligned ? source.FromProtobuf(tree.GetLocation(stage_field, i)) : SourcePosition{};
    const gp::TextFormat::ParseInfoTree* nested = tree.GetTreeForNested(stage_field, i);
    if (nested == nullptr) {
      where.emplace_back().block = block;
      where.back().inputs.resize(spec.stage(i).input_size());
      where.back().params.resize(spec.stage(i).param_size());
      continue;
    }
    where.push_back(graph_detail::LocateStage(source, *nested, spec.stage(i), block));
  }
  return where;
}

// --set errors first (in the order given), then the file's by position, then the file-level
// ones that have no position.
void SortForReading(std::vector<Diagnostic>& errors, const std::string& file) {
  auto key = [&file](const Diagnostic& d) {
    const int group = d.file != file ? 0 : d.line > 0 ? 1 : 2;
    return std::tuple(group, d.line, d.column);
  };
  std::stable_sort(errors.begin(), errors.end(),
                   [&key](const Diagnostic& a, const Diagnostic& b) { return key(a) < key(b); });
}

ResolvedGraph Assemble(graph_detail::GraphCheck& check, std::vector<Params>& params,
                       const std::vector<graph_detail::Wire>& wires,
                       const std::vector<int>& order) {
  ResolvedGraph graph;
  graph.file = check.file;
  graph.seed = check.options.seed.value_or(check.spec.seed());
  graph.max_in_flight = check.spec.max_in_flight();
  std::vector<int> sorted_index(order.size());
  graph.stages.reserve(order.size());  // no reallocation, which copies every stage's Params
  graph.edges.reserve(wires.size());
  for (size_t position = 0; position < order.size(); ++position) {
    const int stage = order[position];
    sorted_index[stage] = static_cast<int>(position);
    graph.stages.push_back({check.spec.stage(stage).name(), check.entries[stage],
                            std::move(params[stage]), check.where[stage].block.line});
  }
  for (const auto& wire : wires) {
    graph.edges.push_back({sorted_index[wire.edge.from], wire.edge.from_port,
                           sorted_index[wire.edge.to], wire.edge.to_port});
  }
  std::sort(graph.edges.begin(), graph.edges.end(), [](const Edge& a, const Edge& b) {
    return std::tie(a.to, a.to_port, a.from) < std::tie(b.to, b.to_port, b.from);
  });
  graph.spec = std::move(check.spec);
  return graph;
}

}  // namespace

LoadResult LoadGraphText(const std::string& text, const std::string& file, const Registry& registry,
                         const LoadOptions& options) {
  graph_detail::GraphCheck check(file, registry, options);
  LoadResult result;
  gp::TextFormat::ParseInfoTree tree;
  result.errors = graph_detail::ParseTextProto(text, file, check.spec, tree);
  // After a syntax error the spec is incomplete; checking its meaning would only add noise.
  if (!result.errors.empty()) {
    graph_detail::NameStagesOfSyntaxErrors(text, result.errors);
    return result;
  }

  check.where = LocateStages(text, tree, check.spec);
  graph_detail::CheckNamesAndPlugins(check);
  graph_detail::ApplyOverrides(check);
  std::vector<Params> params = graph_detail::ResolveAllParams(check);
  const std::vector<graph_detail::Wire> wires = graph_detail::ResolveWiring(check);
  const std::vector<int> order = graph_detail::OrderStages(check, wires);
  graph_detail::CheckSourcesAndSinks(check);

  if (!check.errors.empty()) {
    SortForReading(check.errors, file);
    result.errors = std::move(check.errors);
    return result;
  }
  result.graph = Assemble(check, params, wires, order);
  return result;
}

LoadResult LoadGraphFile(const std::string& path, const Registry& registry,
                         const LoadOptions& options) {
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) {
    return {std::nullopt, {{path, 0, 0, "", "is a folder, not a graph file"}}};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return {std::nullopt,
            {{path, 0, 0, "", std::string("cannot open the graph file: ") + std::strerror(errno)}}};
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return {std::nullopt, {{path, 0, 0, "", "cannot read the graph file"}}};
  return LoadGraphText(text.str(), path, registry, options);
}

}  // namespace pipeline
