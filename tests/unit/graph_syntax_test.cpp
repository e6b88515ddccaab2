// Syntax errors in graph files: every one reported, each at its 1-based line:column.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

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

TEST(GraphSyntax, AStatementAfterATabKeepsItsColumn) {
  // The second statement is re-parsed on its own, from the start of its line: the tab before it
  // must count as it does in the whole text (protobuf's 8 columns, one for us).
  const LoadResult result = Load("stage { plugin: 1 }\tstage { plugin: 2 }\n");
  ASSERT_EQ(result.errors.size(), 2u) << Describe(result.errors);
  EXPECT_EQ(result.errors[0].column, 17);
  EXPECT_EQ(result.errors[1].line, 1);
  EXPECT_EQ(result.errors[1].column, 37);
  EXPECT_THAT(result.errors[1].message, HasSubstr("expected string"));
}

TEST(GraphSyntax, AStatementCutShortIsReportedAtTheEnd) {
  // The second `stage` alone runs into the end of its text: as when the rest of the file is blank,
  // the error is at the end of the file (and the whole-text parse's error at the next statement
  // stays).
  const LoadResult result = Load(Lines({
      "stage { name: \"a\" plugin: \"numbers\" } stage",  // 1
      "stage { name: \"b\" plugin: \"collect\" input: \"a\" }",
  }));
  ASSERT_EQ(result.errors.size(), 2u) << Describe(result.errors);
  EXPECT_EQ(result.errors[0].line, 2);
  EXPECT_EQ(result.errors[1].line, 3);
  EXPECT_EQ(result.errors[1].column, 1);
  EXPECT_THAT(result.errors[1].message, HasSubstr("syntax error: expected \"{\""));
}

TEST(GraphSyntax, ManyBrokenStatementsTakeLinearTime) {
  // Each statement used to be re-parsed with the whole text around it (blanked): 20,000 broken
  // stages took minutes (fuzz_graph_text's timeout). Now each is parsed alone; seconds would
  // still be plenty under a sanitizer.
  std::string text;
  for (int i = 0; i < 20000; ++i) {
    text += "stage { name: \"s" + std::to_string(i) + "\" plugin: 1 bogus: 2 }\n";
  }
  const auto start = std::chrono::steady_clock::now();
  const LoadResult result = Load(text);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(result.errors.size(), 20000u);
  EXPECT_EQ(result.errors.back().line, 20000);
  EXPECT_EQ(result.errors.back().stage, "s19999");
  EXPECT_LT(seconds, 30.0);
}

TEST(GraphSyntax, ALongStageNameIsNamedWithoutOverflowingTheStack) {
  // The stage of a syntax error was found with std::regex, which recursed once per character of
  // the name: 60,000 of them overflowed the stack (fuzz_graph_text under ASan).
  const std::string name(300000, 'n');
  const LoadResult result = Load("stage { name: \"" + name + "\" plugin: 1 }\n");
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result.errors);
  EXPECT_EQ(result.errors[0].stage, name);
}

TEST(GraphSyntax, TheStageOfAnErrorIsItsOwnNameNotAParamsOrAString) {
  const LoadResult result = Load(Lines({
      "stage {",                                                             // 1
      "  input: \"name: \\\"no\\\"\" param { key: \"name\" value: \"x\" }",  // 2
      "  # name: \"comment\"",                                               // 3
      "  name : \"yes\" plugin: 1",                                          // 4
      "}",
  }));
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result.errors);
  EXPECT_EQ(result.errors[0].stage, "yes");
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
