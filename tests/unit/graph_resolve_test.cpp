// Valid graphs: topological order, complete parameters, edges, seed, --set overrides, Graphviz.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "graph_test_stages.h"

namespace pipeline::graph_test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Stages written consumers-first, so that the order has to be worked out.
const std::string kDemoGraph = Lines({
    "name: \"demo\"",                          // 1
    "seed: 7",                                 // 2
    "max_in_flight: 16",                       // 3
    "stage {",                                 // 4
    "  name: \"sink\"",                        // 5
    "  plugin: \"collect\"",                   // 6
    "  input: \"batches\"",                    // 7
    "}",                                       // 8
    "stage {",                                 // 9
    "  name: \"batches\"",                     // 10
    "  plugin: \"batcher\"",                   // 11
    "  input: \"double\"",                     // 12
    "  param { key: \"size\" value: \"4\" }",  // 13
    "}",                                       // 14
    "stage {",                                 // 15
    "  name: \"double\"",                      // 16
    "  plugin: \"scale\"",                     // 17
    "  input: \"nums\"",                       // 18
    "}",                                       // 19
    "stage {",                                 // 20
    "  name: \"nums\"",                        // 21
    "  plugin: \"numbers\"",                   // 22
    "}",                                       // 23
    "stage {",                                 // 24
    "  name: \"p\"",                           // 25
    "  plugin: \"pair\"",                      // 26
    "  input: \"right=double\"",               // 27
    "  input: \"left=nums.out\"",              // 28
    "}",                                       // 29
    "stage { name: \"printer\" plugin: \"print\" input: \"p.sum\" "
    "param { key: \"path\" value: \"-\" } }",  // 30
});

std::vector<std::string> StageNames(const ResolvedGraph& graph) {
  std::vector<std::string> names;
  for (const auto& stage : graph.stages) names.push_back(stage.name);
  return names;
}

const StageInstance& StageNamed(const ResolvedGraph& graph, const std::string& name) {
  for (const auto& stage : graph.stages) {
    if (stage.name == name) return stage;
  }
  throw std::out_of_range("no stage " + name);
}

const proto::Param* SpecParam(const ResolvedGraph& graph, const std::string& stage,
                              const std::string& key) {
  for (const auto& spec : graph.spec.stage()) {
    if (spec.name() != stage) continue;
    for (const auto& param : spec.param()) {
      if (param.key() == key) return &param;
    }
  }
  return nullptr;
}

TEST(GraphResolve, OrdersProducersFirstAndStablyByFileOrder) {
  const LoadResult result = Load(kDemoGraph);
  ASSERT_TRUE(result.errors.empty()) << Describe(result.errors);
  ASSERT_TRUE(result.graph.has_value());
  EXPECT_THAT(StageNames(*result.graph),
              ElementsAre("nums", "double", "batches", "sink", "p", "printer"));
}

TEST(GraphResolve, IndependentChainsKeepFileOrder) {
  const LoadResult result = Load(Lines({
      "stage { name: \"a\" plugin: \"numbers\" }",
      "stage { name: \"b\" plugin: \"collect\" input: \"a\" }",
      "stage { name: \"c\" plugin: \"letters\" }",
      "stage { name: \"d\" plugin: \"collect\" input: \"c\" }",
  }));
  ASSERT_TRUE(result.errors.empty()) << Describe(result.errors);
  EXPECT_THAT(StageNames(*result.graph), ElementsAre("a", "b", "c", "d"));
}

TEST(GraphResolve, EdgesIndexTheSortedStagesAndPorts) {
  const ResolvedGraph graph = *Load(kDemoGraph).graph;
  // nums 0, double 1, batches 2, sink 3, p 4, printer 5; sorted by consumer and its port.
  std::vector<std::tuple<int, int, int, int>> edges;
  for (const Edge& e : graph.edges) edges.emplace_back(e.from, e.from_port, e.to, e.to_port);
  EXPECT_THAT(edges,
              ElementsAre(std::tuple(0, 0, 1, 0), std::tuple(1, 0, 2, 0), std::tuple(2, 0, 3, 0),
                          std::tuple(0, 0, 4, 0), std::tuple(1, 0, 4, 1), std::tuple(4, 0, 5, 0)));
}

TEST(GraphResolve, ParamsAreCompleteWithDefaultsAndKnowWhatWasSet) {
  const ResolvedGraph graph = *Load(kDemoGraph).graph;
  const StageInstance& scale = StageNamed(graph, "double");
  EXPECT_EQ(scale.entry->info.name, "scale");
  EXPECT_DOUBLE_EQ(scale.params.get_float("factor"), 2.0);
  EXPECT_EQ(scale.params.get_string("mode"), "multiply");
  EXPECT_FALSE(scale.params.is_set("factor"));

  const StageInstance& batches = StageNamed(graph, "batches");
  EXPECT_EQ(batches.params.get_int("size"), 4);
  EXPECT_TRUE(batches.params.is_set("size"));

  const StageInstance& printer = StageNamed(graph, "printer");
  EXPECT_EQ(printer.params.get_string("path"), "-");
  EXPECT_FALSE(printer.params.get_bool("append"));
  EXPECT_EQ(printer.params.values().size(), 2u);
}

TEST(GraphResolve, KeepsGraphSettingsAndStageLines) {
  const ResolvedGraph graph = *Load(kDemoGraph).graph;
  EXPECT_EQ(graph.file, "test.graph");
  EXPECT_EQ(graph.seed, 7u);
  EXPECT_EQ(graph.max_in_flight, 16u);
  EXPECT_EQ(graph.spec.name(), "demo");
  EXPECT_EQ(graph.spec.stage_size(), 6);
  EXPECT_EQ(StageNamed(graph, "nums").line, 20);
  EXPECT_EQ(StageNamed(graph, "printer").line, 30);
}

TEST(GraphResolve, SeedOptionWinsOverTheFile) {
  LoadOptions options;
  options.seed = 99;
  EXPECT_EQ(Load(kDemoGraph, options).graph->seed, 99u);
}

TEST(GraphResolve, OutputFeedingNothingIsFine) {
  // pair's "diff" output is left unconnected in the demo graph.
  EXPECT_TRUE(Load(kDemoGraph).errors.empty());
}

TEST(GraphResolve, AnyInputAcceptsEveryType) {
  const LoadResult result = Load(Lines({
      "stage { name: \"a\" plugin: \"letters\" }",
      "stage { name: \"b\" plugin: \"collect\" input: \"a\" }",
  }));
  EXPECT_TRUE(result.errors.empty()) << Describe(result.errors);
}

// --- overrides ---

TEST(GraphOverrides, ReplaceAndAddParamsInParamsAndSpec) {
  LoadOptions options;
  options.overrides = {"double.factor=3", "batches.size=8", "nums.count=10"};
  const LoadResult result = Load(kDemoGraph, options);
  ASSERT_TRUE(result.errors.empty()) << Describe(result.errors);
  const ResolvedGraph& graph = *result.graph;

  EXPECT_DOUBLE_EQ(StageNamed(graph, "double").params.get_float("factor"), 3.0);
  EXPECT_TRUE(StageNamed(graph, "double").params.is_set("factor"));
  EXPECT_EQ(StageNamed(graph, "batches").params.get_int("size"), 8);
  EXPECT_EQ(StageNamed(graph, "nums").params.get_int("count"), 10);

  ASSERT_NE(SpecParam(graph, "double", "factor"), nullptr);
  EXPECT_EQ(SpecParam(graph, "double", "factor")->value(), "3");
  EXPECT_EQ(SpecParam(graph, "batches", "size")->value(), "8");
  int size_entries = 0;
  for (const auto& param : graph.spec.stage(1).param()) size_entries += param.key() == "size";
  EXPECT_EQ(size_entries, 1);  // replaced, not added
}

TEST(GraphOverrides, LaterOverrideOfTheSameParamWins) {
  LoadOptions options;
  options.overrides = {"double.factor=3", "double.factor=5"};
  const LoadResult result = Load(kDemoGraph, options);
  ASSERT_TRUE(result.errors.empty()) << Describe(result.errors);
  EXPECT_DOUBLE_EQ(StageNamed(*result.graph, "double").params.get_float("factor"), 5.0);
}

TEST(GraphOverrides, InvalidValueIsBlamedOnTheOverride) {
  LoadOptions options;
  options.overrides = {"batches.size=0", "double.factor=abc"};
  const LoadResult result = Load(kDemoGraph, options);
  ASSERT_EQ(result.errors.size(), 2u) << Describe(result.errors);
  EXPECT_EQ(result.errors[0].file, "--set");
  EXPECT_EQ(result.errors[0].line, 0);
  EXPECT_EQ(result.errors[0].stage, "batches");
  EXPECT_THAT(result.errors[0].message, HasSubstr("value 0 is out of range [1, 100]"));
  EXPECT_THAT(result.errors[0].message, HasSubstr("(from --set batches.size=0)"));
  EXPECT_EQ(result.errors[1].stage, "double");
  EXPECT_THAT(result.errors[1].message, HasSubstr("expects a number, got \"abc\""));
  EXPECT_EQ(result.errors[1].format(),
            "--set: error: stage \"double\": parameter \"factor\": expects a number, got \"abc\" "
            "(from --set double.factor=abc)");
}

TEST(GraphOverrides, UnknownStageAndParamSuggestNames) {
  LoadOptions options;
  options.overrides = {"dubble.factor=3", "double.fctor=3"};
  const LoadResult result = Load(kDemoGraph, options);
  ASSERT_EQ(result.errors.size(), 2u) << Describe(result.errors);
  EXPECT_EQ(result.errors[0].file, "--set");
  EXPECT_THAT(result.errors[0].message,
              HasSubstr("override \"dubble.factor=3\": no stage is named \"dubble\" (did you mean "
                        "\"double\"?)"));
  EXPECT_EQ(result.errors[1].stage, "double");
  EXPECT_THAT(result.errors[1].message,
              HasSubstr("plugin \"scale\" has no parameter \"fctor\" (did you mean \"factor\"?)"));
}

TEST(GraphOverrides, MalformedOverridesAreEachReported) {
  LoadOptions options;
  options.overrides = {"double.factor", "factor=3", ".factor=3", "double.=3"};
  const LoadResult result = Load(kDemoGraph, options);
  ASSERT_EQ(result.errors.size(), 4u) << Describe(result.errors);
  for (size_t i = 0; i < options.overrides.size(); ++i) {
    EXPECT_EQ(result.errors[i].file, "--set");
    EXPECT_EQ(result.errors[i].message,
              "malformed override \"" + options.overrides[i] + "\" (expected STAGE.PARAM=VALUE)");
  }
}

TEST(GraphOverrides, ValueMayContainDotsAndEquals) {
  LoadOptions options;
  options.overrides = {"printer.path=out/a=b.txt"};
  const LoadResult result = Load(kDemoGraph, options);
  ASSERT_TRUE(result.errors.empty()) << Describe(result.errors);
  EXPECT_EQ(StageNamed(*result.graph, "printer").params.get_string("path"), "out/a=b.txt");
}

// --- Graphviz ---

// Every line's double quotes are balanced once escaped ones are skipped.
bool QuotesBalanced(const std::string& dot) {
  std::istringstream lines(dot);
  std::string line;
  while (std::getline(lines, line)) {
    bool inside = false;
    for (size_t i = 0; i < line.size(); ++i) {
      if (inside && line[i] == '\\') {
        ++i;
      } else if (line[i] == '"') {
        inside = !inside;
      }
    }
    if (inside) return false;
  }
  return true;
}

TEST(GraphDot, HasANodePerStageAndALabelledEdgePerConnection) {
  const std::string dot = ToDot(*Load(kDemoGraph).graph);
  EXPECT_EQ(dot.rfind("digraph \"demo\" {\n", 0), 0u) << dot;
  EXPECT_THAT(dot, HasSubstr("\"nums\" [label=\"nums\\nnumbers (source)\", shape=invhouse];"));
  EXPECT_THAT(dot, HasSubstr("\"double\" [label=\"double\\nscale (transform)\", shape=box];"));
  EXPECT_THAT(dot, HasSubstr("\"sink\" [label=\"sink\\ncollect (sink)\", shape=house];"));
  EXPECT_THAT(dot, HasSubstr("\"nums\" -> \"double\" [label=\"out \u2192 in (number)\"];"));
  EXPECT_THAT(dot, HasSubstr("\"double\" -> \"p\" [label=\"out \u2192 right (number)\"];"));
  EXPECT_THAT(dot, HasSubstr("\"batches\" -> \"sink\" [label=\"out \u2192 in (number_batch)\"];"));
  size_t edges = 0;
  for (size_t at = dot.find(" -> "); at != std::string::npos; at = dot.find(" -> ", at + 1)) {
    ++edges;
  }
  EXPECT_EQ(edges, 6u);
  EXPECT_EQ(dot.substr(dot.size() - 2), "}\n");
  EXPECT_TRUE(QuotesBalanced(dot)) << dot;
}

TEST(GraphDot, EscapesQuotesAndBackslashes) {
  const LoadResult result = Load(Lines({
      "name: \"my \\\"graph\\\"\"",
      "stage { name: \"we\\\"ird\\\\\" plugin: \"numbers\" }",
      "stage { name: \"c\" plugin: \"collect\" input: \"we\\\"ird\\\\\" }",
  }));
  ASSERT_TRUE(result.errors.empty()) << Describe(result.errors);
  const std::string dot = ToDot(*result.graph);
  EXPECT_EQ(dot.rfind("digraph \"my \\\"graph\\\"\" {", 0), 0u) << dot;
  EXPECT_THAT(dot, HasSubstr("\"we\\\"ird\\\\\" [label=\"we\\\"ird\\\\\\nnumbers (source)\""));
  EXPECT_THAT(dot, HasSubstr("\"we\\\"ird\\\\\" -> \"c\""));
  EXPECT_TRUE(QuotesBalanced(dot)) << dot;
}

}  // namespace
}  // namespace pipeline::graph_test
