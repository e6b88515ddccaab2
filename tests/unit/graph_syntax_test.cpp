// Syntax errors in graph files: every one reported, each at its 1-based line:column.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "graph_test_stages.h"

namespace pipeline::graph_test {
namespace {

using ::testing::HasSubstr;

TEST(GraphSyntax, MissingColonIsReportedAtTheValue) {
  const LoadResult result = Load(Lines({
      "stage {",               // 1
      "  name: \"nums\"",      // 2
      "  plugin \"numbers\"",  // 3: no colon before a string
      "}",
  }));
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result.errors);
  const Diagnostic& error = result.errors[0];
  EXPECT_EQ(error.file, "test.graph");
  EXPECT_EQ(error.line, 3);
  EXPECT_EQ(error.column, 10);  // the opening quote
  EXPECT_EQ(error.stage, "nums");
  EXPECT_THAT(error.message, HasSubstr("syntax error: expected \":\""));
  EXPECT_FALSE(result.graph.has_value());
}

TEST(GraphSyntax, ReportsAnErrorInEveryStageNotJustTheFirst) {
  const LoadResult result = Load(Lines({
      "name: \"broken\"",        // 1
      "stage {",                 // 2
      "  name: \"a\"",           // 3
      "  plugin: numbers",       // 4: value must be a string
      "}",                       // 5
      "stage {",                 // 6
      "  name: \"b\"",           // 7
      "  plugin: \"scale\"",     // 8
      "}",                       // 9
      "stage {",                 // 10
      "  name: \"c\" input: 3",  // 11: value must be a string
      "}",
  }));
  ASSERT_EQ(result.errors.size(), 2u) << Describe(result.errors);
  EXPECT_EQ(result.errors[0].line, 4);
  EXPECT_EQ(result.errors[0].column, 11);
  EXPECT_THAT(result.errors[0].message, HasSubstr("expected string"));
  EXPECT_EQ(result.errors[0].stage, "a");
  EXPECT_EQ(result.errors[1].line, 11);
  EXPECT_EQ(result.errors[1].column, 20);
  EXPECT_THAT(result.errors[1].message, HasSubstr("expected string"));
  EXPECT_EQ(result.errors[1].stage, "c");
}

TEST(GraphSyntax, UnknownFieldsAreAllReportedWithSuggestions) {
  const LoadResult result = Load(Lines({
      "stage {",                                 // 1
      "  nme: \"a\"",                            // 2
      "  plugin: \"numbers\"",                   // 3
      "  parm { key: \"count\" value: \"2\" }",  // 4
      "}",                                       // 5
      "sed: 4",                                  // 6
  }));
  ASSERT_EQ(result.errors.size(), 3u) << Describe(result.errors);
  EXPECT_EQ(result.errors[0].line, 2);
  EXPECT_EQ(result.errors[0].column, 3);
  EXPECT_THAT(result.errors[0].message,
              HasSubstr("unknown field \"nme\" in StageSpec (did you mean \"name\"?)"));
  EXPECT_EQ(result.errors[1].line, 4);
  EXPECT_EQ(result.errors[1].column, 3);
  EXPECT_THAT(result.errors[1].message, HasSubstr("did you mean \"param\""));
  EXPECT_EQ(result.errors[2].line, 6);
  EXPECT_EQ(result.errors[2].column, 1);
  EXPECT_THAT(result.errors[2].message, HasSubstr("unknown field \"sed\" in GraphSpec"));
}

TEST(GraphSyntax, UnclosedBlockIsReportedAtTheEnd) {
  const LoadResult result = Load(Lines({
      "stage {",                // 1
      "  name: \"a\"",          // 2
      "  plugin: \"numbers\"",  // 3
  }));
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result.errors);
  EXPECT_EQ(result.errors[0].line, 4);
  EXPECT_EQ(result.errors[0].column, 1);
  EXPECT_EQ(result.errors[0].message,
            "syntax error: expected identifier, got: the end of the file");
  EXPECT_EQ(result.errors[0].stage, "a");  // the block left open
}

TEST(GraphSyntax, UnterminatedStringIsReportedOnItsLine) {
  const LoadResult result = Load(Lines({
      "stage {",      // 1
      "  name: \"a",  // 2
      "}",
  }));
  ASSERT_FALSE(result.errors.empty()) << Describe(result.errors);
  EXPECT_EQ(result.errors[0].line, 2);
  EXPECT_EQ(result.errors[0].column, 11);  // where the line ends
  EXPECT_THAT(result.errors[0].message,
              HasSubstr("syntax error: string literals cannot cross line boundaries"));
}

TEST(GraphSyntax, TabsCountAsOneColumn) {
  // Protobuf counts a tab as up to 8 columns; an editor's column for the '5' is 8.
  const LoadResult result = Load("\tname: 5\n");
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result.errors);
  EXPECT_EQ(result.errors[0].line, 1);
  EXPECT_EQ(result.errors[0].column, 8);
}

TEST(GraphSyntax, FormatsAsFileLineColumn) {
  const LoadResult result = Load("stage { nme: \"a\" }\n");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].format(),
            "test.graph:1:9: error: unknown field \"nme\" in StageSpec (did you mean \"name\"?)");
}

TEST(GraphSyntax, MissingFileNamesThePath) {
  const Registry registry = TestRegistry();
  const LoadResult result = LoadGraphFile("/nonexistent/x.graph", registry, {});
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].file, "/nonexistent/x.graph");
  EXPECT_THAT(result.errors[0].message, HasSubstr("cannot open the graph file"));
}

TEST(GraphSyntax, LoadsAFileFromDisk) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("graph_syntax_test_" + std::to_string(::getpid()) + ".graph");
  {
    std::ofstream out(path);
    out << "stage { name: \"nums\" plugin: \"numbers\" }\n"
           "stage { name: \"sink\" plugin: \"collect\" input: \"nmus\" }\n";
  }
  const Registry registry = TestRegistry();
  const LoadResult result = LoadGraphFile(path.string(), registry, {});
  std::filesystem::remove(path);
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result.errors);
  EXPECT_EQ(result.errors[0].file, path.string());
  EXPECT_EQ(result.errors[0].line, 2);
  EXPECT_EQ(result.errors[0].column, 47);
  EXPECT_THAT(result.errors[0].message,
              HasSubstr("there is no stage \"nmus\" (did you mean \"nums\"?)"));
}

}  // namespace
}  // namespace pipeline::graph_test
