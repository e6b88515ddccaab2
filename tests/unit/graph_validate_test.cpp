// Meaning errors in graph files: each class of problem on a small broken graph, reported at the
// offending value's line:column with the stage it belongs to, and all of them in one pass.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <initializer_list>

#include "graph_test_stages.h"

namespace pipeline::graph_test {
namespace {

using ::testing::HasSubstr;

// Asserts that `result` failed with exactly one error, at line:column of stage `stage`, whose
// message contains every one of `pieces`.
void ExpectOnlyError(const LoadResult& result, int line, int column, const std::string& stage,
                     std::initializer_list<std::string> pieces) {
  EXPECT_FALSE(result.graph.has_value());
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result.errors);
  const Diagnostic& error = result.errors[0];
  EXPECT_EQ(error.file, "test.graph");
  EXPECT_EQ(error.line, line) << error.format();
  EXPECT_EQ(error.column, column) << error.format();
  EXPECT_EQ(error.stage, stage) << error.format();
  for (const auto& piece : pieces) EXPECT_THAT(error.message, HasSubstr(piece));
}

// A valid three-stage graph whose middle `scale` stage has the given param lines (from line 6).
std::string ScaleGraph(const std::vector<std::string>& param_lines) {
  std::vector<std::string> lines = {
      "stage { name: \"nums\" plugin: \"numbers\" }",  // 1
      "stage {",                                       // 2
      "  name: \"s\"",                                 // 3
      "  plugin: \"scale\"",                           // 4
      "  input: \"nums\"",                             // 5
  };
  lines.insert(lines.end(), param_lines.begin(), param_lines.end());
  lines.push_back("}");
  lines.push_back("stage { name: \"out\" plugin: \"collect\" input: \"s\" }");
  return Lines(lines);
}

// A source, then a stage under test written from line 2, then nothing else.
std::string SourceAnd(const std::vector<std::string>& stage_lines) {
  std::vector<std::string> lines = {"stage { name: \"nums\" plugin: \"numbers\" }"};
  lines.insert(lines.end(), stage_lines.begin(), stage_lines.end());
  return Lines(lines);
}

TEST(GraphValidate, ScaleGraphIsValid) {
  const LoadResult result = Load(ScaleGraph({}));
  EXPECT_TRUE(result.errors.empty()) << Describe(result.errors);
  EXPECT_TRUE(result.graph.has_value());
}

// --- stage names and plugins ---

TEST(GraphValidate, OptionalInputMayBeLeftUnconnectedButARequiredOneMayNot) {
  const LoadResult optional_left_out = Load(Lines({
      "stage { name: \"nums\" plugin: \"numbers\" }",
      "stage { name: \"t\" plugin: \"tap\" input: \"main=nums\" }",
  }));
  EXPECT_TRUE(optional_left_out.errors.empty()) << Describe(optional_left_out.errors);
  const LoadResult required_left_out = Load(Lines({
      "stage { name: \"nums\" plugin: \"numbers\" }",
      "stage { name: \"t\" plugin: \"tap\" input: \"extra=nums\" }",
  }));
  ExpectOnlyError(required_left_out, 2, 1, "t", {"input port \"main\"", "not connected"});
}

TEST(GraphValidate, UnnamedInputFeedsTheOnlyRequiredPort) {
  const LoadResult result = Load(Lines({
      "stage { name: \"nums\" plugin: \"numbers\" }",
      "stage { name: \"t\" plugin: \"tap\" input: \"nums\" }",
  }));
  ASSERT_TRUE(result.errors.empty()) << Describe(result.errors);
  ASSERT_TRUE(result.graph.has_value());
  const auto& edges = result.graph->edges;
  ASSERT_EQ(edges.size(), 1u);
  EXPECT_EQ(edges[0].to_port, 0);  // "main", not the optional "extra"
}

TEST(GraphValidate, StageWithoutNameIsReportedAtItsBlock) {
  ExpectOnlyError(Load(Lines({
                      "stage {",                // 1
                      "  plugin: \"numbers\"",  // 2
                      "}",                      // 3
                      "stage { name: \"n\" plugin: \"numbers\" }",
                      "stage { name: \"c\" plugin: \"collect\" input: \"n\" }",
                  })),
                  1, 1, "", {"a stage needs a name"});
}

TEST(GraphValidate, EmptyNameIsReportedAtTheValue) {
  ExpectOnlyError(Load(SourceAnd({
                      "stage {",                // 2
                      "  name: \"\"",           // 3
                      "  plugin: \"collect\"",  // 4
                      "  input: \"nums\"",      // 5
                      "}",
                  })),
                  3, 9, "", {"a stage needs a name"});
}

TEST(GraphValidate, NameThatCannotBeReferencedIsRefused) {
  ExpectOnlyError(Load(SourceAnd({
                      "stage {",                // 2
                      "  name: \"a.b\"",        // 3
                      "  plugin: \"collect\"",  // 4
                      "  input: \"nums\"",      // 5
                      "}",
                  })),
                  3, 9, "a.b", {"may not contain '.', '=' or spaces"});
}

TEST(GraphValidate, DuplicateNameIsReportedAtTheSecondWithTheFirstsLine) {
  ExpectOnlyError(Load(SourceAnd({
                      "stage {",                // 2
                      "  name: \"nums\"",       // 3
                      "  plugin: \"collect\"",  // 4
                      "  input: \"nums\"",      // 5
                      "}",
                  })),
                  3, 9, "nums", {"duplicate stage name \"nums\" (first used on line 1)"});
}

TEST(GraphValidate, UnknownPluginSuggestsAndNamesTheFoldersSearched) {
  LoadOptions options;
  options.plugin_dirs = {"/opt/plugins", "/home/me/plugins"};
  ExpectOnlyError(Load(Lines({
                           "stage {",               // 1
                           "  name: \"n\"",         // 2
                           "  plugin: \"numbrs\"",  // 3
                           "}",
                           "stage { name: \"c\" plugin: \"collect\" input: \"n\" }",
                       }),
                       options),
                  3, 11, "n",
                  {"unknown plugin \"numbrs\" (did you mean \"numbers\"?)",
                   "searched: /opt/plugins, /home/me/plugins"});
}

TEST(GraphValidate, UnknownPluginSaysWhenNoFolderWasSearched) {
  ExpectOnlyError(Load(Lines({
                      "stage {",                 // 1
                      "  name: \"n\"",           // 2
                      "  plugin: \"zzzzzzzz\"",  // 3
                      "}",
                      "stage { name: \"c\" plugin: \"collect\" input: \"n\" }",
                  })),
                  3, 11, "n", {"unknown plugin \"zzzzzzzz\"; no plugin folders were searched"});
}

TEST(GraphValidate, InputsOfAStageWithUnknownPluginStillNameStages) {
  const LoadResult result = Load(SourceAnd({
      "stage {",               // 2
      "  name: \"c\"",         // 3
      "  plugin: \"colect\"",  // 4
      "  input: \"nmus\"",     // 5
      "}",
  }));
  ASSERT_EQ(result.errors.size(), 2u) << Describe(result.errors);
  EXPECT_EQ(result.errors[0].line, 4);
  EXPECT_THAT(result.errors[0].message, HasSubstr("did you mean \"collect\""));
  EXPECT_EQ(result.errors[1].line, 5);
  EXPECT_EQ(result.errors[1].column, 10);
  EXPECT_THAT(result.errors[1].message, HasSubstr("there is no stage \"nmus\""));
}

TEST(GraphValidate, MissingPluginIsReportedAtTheBlock) {
  ExpectOnlyError(Load(SourceAnd({
                      "stage {",        // 2
                      "  name: \"c\"",  // 3
                      "}",
                  })),
                  2, 1, "c", {"names no plugin"});
}

// --- parameters ---

TEST(GraphValidate, UnknownParameterSuggestsADeclaredOne) {
  ExpectOnlyError(Load(ScaleGraph({"  param { key: \"factr\" value: \"3\" }"})), 6, 16, "s",
                  {"plugin \"scale\" has no parameter \"factr\" (did you mean \"factor\"?)"});
}

TEST(GraphValidate, UnknownParameterListsTheDeclaredOnesWhenNothingIsClose) {
  ExpectOnlyError(Load(ScaleGraph({"  param { key: \"zzzzzzzz\" value: \"3\" }"})), 6, 16, "s",
                  {"(its parameters: factor, mode)"});
}

TEST(GraphValidate, IllTypedValueIsReportedAtTheValue) {
  ExpectOnlyError(Load(ScaleGraph({"  param { key: \"factor\" value: \"big\" }"})), 6, 32, "s",
                  {"parameter \"factor\": expects a number, got \"big\""});
}

TEST(GraphValidate, OutOfRangeValueNamesTheRange) {
  ExpectOnlyError(Load(ScaleGraph({"  param { key: \"factor\" value: \"500\" }"})), 6, 32, "s",
                  {"parameter \"factor\": value 500 is out of range [-100, 100]"});
}

TEST(GraphValidate, ValueNotAmongTheChoicesListsThem) {
  ExpectOnlyError(Load(ScaleGraph({"  param { key: \"mode\" value: \"divide\" }"})), 6, 30, "s",
                  {"value \"divide\" is not one of: multiply, add"});
}

TEST(GraphValidate, ParameterGivenTwiceIsReportedAtTheSecond) {
  ExpectOnlyError(Load(ScaleGraph({
                      "  param { key: \"mode\" value: \"add\" }",  // 6
                      "  param { key: \"mode\" value: \"add\" }",  // 7
                  })),
                  7, 16, "s", {"parameter \"mode\" is given twice (first on line 6)"});
}

TEST(GraphValidate, MissingRequiredParameterIsReportedAtTheBlock) {
  ExpectOnlyError(Load(SourceAnd({
                      "stage {",              // 2
                      "  name: \"p\"",        // 3
                      "  plugin: \"print\"",  // 4
                      "  input: \"nums\"",    // 5
                      "}",
                  })),
                  2, 1, "p", {"missing required parameter \"path\" (where to print)"});
}

// --- wiring ---

TEST(GraphValidate, MalformedInput) {
  ExpectOnlyError(Load(SourceAnd({
                      "stage {",                  // 2
                      "  name: \"c\"",            // 3
                      "  plugin: \"collect\"",    // 4
                      "  input: \"nums.out.x\"",  // 5
                      "}",
                  })),
                  5, 10, "c", {"malformed input \"nums.out.x\"", "port=stage[.port]"});
}

TEST(GraphValidate, UnknownProducerSuggestsAStage) {
  ExpectOnlyError(Load(SourceAnd({
                      "stage {",                // 2
                      "  name: \"c\"",          // 3
                      "  plugin: \"collect\"",  // 4
                      "  input: \"nmus\"",      // 5
                      "}",
                  })),
                  5, 10, "c", {"there is no stage \"nmus\" (did you mean \"nums\"?)"});
}

TEST(GraphValidate, UnknownProducerPortSuggestsAnOutput) {
  ExpectOnlyError(Load(SourceAnd({
                      "stage {",                 // 2
                      "  name: \"c\"",           // 3
                      "  plugin: \"collect\"",   // 4
                      "  input: \"nums.outt\"",  // 5
                      "}",
                  })),
                  5, 10, "c",
                  {"stage \"nums\" (plugin \"numbers\") has no output port \"outt\" (did you mean "
                   "\"out\"?)"});
}

TEST(GraphValidate, UnknownConsumerPortSuggestsAnInput) {
  ExpectOnlyError(Load(SourceAnd({
                      "stage {",                  // 2
                      "  name: \"p\"",            // 3
                      "  plugin: \"pair\"",       // 4
                      "  input: \"lft=nums\"",    // 5
                      "  input: \"right=nums\"",  // 6
                      "}",
                      "stage { name: \"c\" plugin: \"collect\" input: \"p.sum\" }",
                  })),
                  5, 10, "p",
                  {"plugin \"pair\" has no input port \"lft\" (did you mean \"left\"?)"});
}

TEST(GraphValidate, MultiInputStageNeedsPortNames) {
  ExpectOnlyError(
      Load(SourceAnd({
          "stage {",                  // 2
          "  name: \"p\"",            // 3
          "  plugin: \"pair\"",       // 4
          "  input: \"nums\"",        // 5
          "  input: \"right=nums\"",  // 6
          "}",
          "stage { name: \"c\" plugin: \"collect\" input: \"p.sum\" }",
      })),
      5, 10, "p",
      {"plugin \"pair\" has 2 input ports (left (number), right (number))", "as in \"left=nums\""});
}

TEST(GraphValidate, SinkCannotFeedAnInput) {
  ExpectOnlyError(Load(SourceAnd({
                      "stage { name: \"c1\" plugin: \"collect\" input: \"nums\" }",  // 2
                      "stage {",                                                     // 3
                      "  name: \"c2\"",                                              // 4
                      "  plugin: \"collect\"",                                       // 5
                      "  input: \"c1\"",                                             // 6
                      "}",
                  })),
                  6, 10, "c2", {"stage \"c1\" cannot feed an input", "is a sink"});
}

TEST(GraphValidate, SourceTakesNoInput) {
  ExpectOnlyError(Load(SourceAnd({
                      "stage {",                // 2
                      "  name: \"more\"",       // 3
                      "  plugin: \"numbers\"",  // 4
                      "  input: \"nums\"",      // 5
                      "}",
                      "stage { name: \"c\" plugin: \"collect\" input: \"more\" }",
                  })),
                  5, 10, "more", {"plugin \"numbers\" is a source and takes no input"});
}

TEST(GraphValidate, PortFedTwiceIsReportedAtTheSecondInput) {
  ExpectOnlyError(Load(SourceAnd({
                      "stage {",                // 2
                      "  name: \"c\"",          // 3
                      "  plugin: \"collect\"",  // 4
                      "  input: \"nums\"",      // 5
                      "  input: \"nums.out\"",  // 6
                      "}",
                  })),
                  6, 10, "c", {"input port \"in\" is fed twice (first by \"nums\" on line 5)"});
}

TEST(GraphValidate, UnconnectedInputPortIsReportedAtTheBlock) {
  ExpectOnlyError(Load(SourceAnd({
                      "stage {",                 // 2
                      "  name: \"p\"",           // 3
                      "  plugin: \"pair\"",      // 4
                      "  input: \"left=nums\"",  // 5
                      "}",
                      "stage { name: \"c\" plugin: \"collect\" input: \"p.sum\" }",
                  })),
                  2, 1, "p", {"input port \"right\" (number) is not connected"});
}

TEST(GraphValidate, PortTypeMismatchNamesBothTypes) {
  ExpectOnlyError(Load(Lines({
                      "stage { name: \"abc\" plugin: \"letters\" }",  // 1
                      "stage {",                                      // 2
                      "  name: \"s\"",                                // 3
                      "  plugin: \"scale\"",                          // 4
                      "  input: \"abc\"",                             // 5
                      "}",
                      "stage { name: \"c\" plugin: \"collect\" input: \"s\" }",
                  })),
                  5, 10, "s",
                  {"port type mismatch: \"abc.out\" produces \"letter\" but input port \"in\" of "
                   "plugin \"scale\" takes \"number\""});
}

TEST(GraphValidate, InputsWrittenAsAListArePointedAtOneByOne) {
  ExpectOnlyError(Load(SourceAnd({
                      "stage {",                                   // 2
                      "  name: \"p\"",                             // 3
                      "  plugin: \"pair\"",                        // 4
                      "  input: [\"left=nums\", \"rigth=nums\"]",  // 5
                      "}",
                      "stage { name: \"c\" plugin: \"collect\" input: \"p.sum\" }",
                  })),
                  5, 24, "p", {"has no input port \"rigth\" (did you mean \"right\"?)"});
}

// --- graph structure ---

TEST(GraphValidate, CycleNamesItsStages) {
  ExpectOnlyError(Load(SourceAnd({
                      "stage {",                 // 2
                      "  name: \"p\"",           // 3
                      "  plugin: \"pair\"",      // 4
                      "  input: \"left=nums\"",  // 5
                      "  input: \"right=s2\"",   // 6
                      "}",
                      "stage { name: \"s1\" plugin: \"scale\" input: \"p.sum\" }",
                      "stage { name: \"s2\" plugin: \"scale\" input: \"s1\" }",
                      "stage { name: \"c\" plugin: \"collect\" input: \"p.diff\" }",
                  })),
                  6, 10, "p", {"the stages form a cycle: p -> s1 -> s2 -> p"});
}

TEST(GraphValidate, SelfLoopAndMissingSourceAreBothReported) {
  const LoadResult result = Load(Lines({
      "stage {",              // 1
      "  name: \"s\"",        // 2
      "  plugin: \"scale\"",  // 3
      "  input: \"s\"",       // 4
      "}",
      "stage { name: \"c\" plugin: \"collect\" input: \"s\" }",
  }));
  ASSERT_EQ(result.errors.size(), 2u) << Describe(result.errors);
  EXPECT_EQ(result.errors[0].line, 4);
  EXPECT_EQ(result.errors[0].column, 10);
  EXPECT_THAT(result.errors[0].message, HasSubstr("cycle: s -> s"));
  EXPECT_EQ(result.errors[1].line, 0);
  EXPECT_EQ(result.errors[1].message,
            "the graph has no source stage; every graph needs at least one");
}

TEST(GraphValidate, GraphWithoutSinkIsRefused) {
  const LoadResult result = Load("stage { name: \"nums\" plugin: \"numbers\" }\n");
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result.errors);
  EXPECT_EQ(result.errors[0].line, 0);
  EXPECT_THAT(result.errors[0].message, HasSubstr("the graph has no sink stage"));
}

TEST(GraphValidate, GraphWithoutStagesIsRefused) {
  const LoadResult result = Load("name: \"empty\"\n");
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result.errors);
  EXPECT_EQ(result.errors[0].message, "the graph has no stages");
}

// --- everything at once ---

TEST(GraphValidate, ReportsEveryErrorInOnePassInFileOrder) {
  LoadOptions options;
  options.overrides = {"nope.x=1", "bad", "s.factor=2"};
  const LoadResult result = Load(Lines({
                                     "name: \"many\"",                            // 1
                                     "stage {",                                   // 2
                                     "  name: \"nums\"",                          // 3
                                     "  plugin: \"numbers\"",                     // 4
                                     "  param { key: \"count\" value: \"-1\" }",  // 5
                                     "}",                                         // 6
                                     "stage {",                                   // 7
                                     "  name: \"s\"",                             // 8
                                     "  plugin: \"scael\"",                       // 9
                                     "  input: \"nums\"",                         // 10
                                     "}",                                         // 11
                                     "stage {",                                   // 12
                                     "  name: \"b\"",                             // 13
                                     "  plugin: \"batcher\"",                     // 14
                                     "  input: \"nmus\"",                         // 15
                                     "  param { key: \"sise\" value: \"4\" }",    // 16
                                     "}",                                         // 17
                                     "stage {",                                   // 18
                                     "  name: \"nums\"",                          // 19
                                     "  plugin: \"collect\"",                     // 20
                                     "  input: \"b\"",                            // 21
                                     "}",                                         // 22
                                     "stage {",                                   // 23
                                     "  name: \"p\"",                             // 24
                                     "  plugin: \"print\"",                       // 25
                                     "  input: \"b\"",                            // 26
                                     "}",                                         // 27
                                 }),
                                 options);
  ASSERT_EQ(result.errors.size(), 9u) << Describe(result.errors);
  struct Expected {
    std::string file;
    int line, column;
    std::string stage, piece;
  };
  const std::vector<Expected> expected = {
      {"--set", 0, 0, "", "no stage is named \"nope\""},
      {"--set", 0, 0, "", "malformed override \"bad\""},
      {"test.graph", 5, 31, "nums", "value -1 is out of range [0, 1000]"},
      {"test.graph", 9, 11, "s", "unknown plugin \"scael\" (did you mean \"scale\"?)"},
      {"test.graph", 15, 10, "b", "there is no stage \"nmus\" (did you mean \"nums\"?)"},
      {"test.graph", 16, 16, "b", "has no parameter \"sise\" (did you mean \"size\"?)"},
      {"test.graph", 19, 9, "nums", "duplicate stage name \"nums\" (first used on line 2)"},
      {"test.graph", 23, 1, "p", "missing required parameter \"path\""},
      {"test.graph", 26, 10, "p", "\"b.out\" produces \"number_batch\""},
  };
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(result.errors[i].format());
    EXPECT_EQ(result.errors[i].file, expected[i].file);
    EXPECT_EQ(result.errors[i].line, expected[i].line);
    EXPECT_EQ(result.errors[i].column, expected[i].column);
    EXPECT_EQ(result.errors[i].stage, expected[i].stage);
    EXPECT_THAT(result.errors[i].message, HasSubstr(expected[i].piece));
  }
}

}  // namespace
}  // namespace pipeline::graph_test
