// Graph text written to break the loader: nesting deep enough to overflow protobuf's stack,
// strings that are not UTF-8, numbers where integers belong, and graphs large enough that a
// quadratic step would show. Each must end in errors at file:line:column, never in a crash.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "graph_test_stages.h"
#include "pipeline/engine/text_limits.h"
#include "pipeline/utf8.h"

namespace pipeline::graph_test {
namespace {

using ::testing::HasSubstr;

std::string Repeat(const std::string& text, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += text;
  return out;
}

TEST(HostileGraph, DeeplyNestedUnknownBlocksAreRefusedNotRecursedInto) {
  // Before the limit this overflowed the stack in protobuf's SkipField/SkipFieldMessage.
  const LoadResult result = Load("name: \"x\"\n" + Repeat("stage { ", 20000) + Repeat("}", 20000));
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result.errors);
  EXPECT_EQ(result.errors[0].line, 2);
  EXPECT_EQ(result.errors[0].column, 7 + 8 * kMaxTextNesting);  // the brace of the 65th "stage {"
  EXPECT_THAT(result.errors[0].message, HasSubstr("nested more than 64 deep"));
}

TEST(HostileGraph, DeeplyNestedParamBlocksAndAngleBracketsAreRefused) {
  const LoadResult params = Load("stage { name: \"a\" plugin: \"numbers\"\n" +
                                 Repeat("param < ", 30000) + Repeat("> ", 30000) + "}\n");
  ASSERT_EQ(params.errors.size(), 1u) << Describe(params.errors);
  EXPECT_EQ(params.errors[0].line, 2);
  EXPECT_THAT(params.errors[0].message, HasSubstr("nested more than"));
}

TEST(HostileGraph, BracesInsideStringsAndCommentsDoNotCount) {
  const LoadResult result = Load(Lines({
      "# " + Repeat("{", 1000),
      "stage { name: \"nums\" plugin: \"numbers\" }",
      "stage { name: \"c\" plugin: \"collect\" input: \"nums\" }",
      "name: \"" + Repeat("{", 1000) + "\"",
  }));
  EXPECT_TRUE(result.errors.empty()) << Describe(result.errors);
}

TEST(HostileGraph, StageNameThatIsNotUtf8IsRefusedAtTheByte) {
  // A Latin-1 "é": before, the graph loaded, training ran and every checkpoint was unreadable.
  const LoadResult result = Load(Lines({
      "stage { name: \"nums\" plugin: \"numbers\" }",
      "stage { name: \"tr\xE9in\" plugin: \"collect\" input: \"nums\" }",
  }));
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result.errors);
  EXPECT_EQ(result.errors[0].file, "test.graph");
  EXPECT_EQ(result.errors[0].line, 2);
  EXPECT_EQ(result.errors[0].column, 18);
  EXPECT_THAT(result.errors[0].message, HasSubstr("not UTF-8 (byte 0xE9)"));
}

TEST(HostileGraph, EscapedBytesThatAreNotUtf8AreRefusedToo) {
  const LoadResult result = Load(Lines({
      "stage { name: \"nums\" plugin: \"numbers\" }",
      "stage { name: \"c\" plugin: \"collect\" input: \"nums\"",
      "  param { key: \"k\" value: \"ok \\303\\251 then \\xE9\" } }",
  }));
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result.errors);
  EXPECT_EQ(result.errors[0].line, 3);
  EXPECT_EQ(result.errors[0].column, 45);  // the backslash of \xE9
  EXPECT_THAT(result.errors[0].message, HasSubstr("not UTF-8"));
}

TEST(HostileGraph, Utf8NamesAreFine) {
  const LoadResult result = Load(Lines({
      "stage { name: \"nums\" plugin: \"numbers\" }",
      "stage { name: \"tr\xC3\xA4in\" plugin: \"collect\" input: \"nums\" }",
  }));
  EXPECT_TRUE(result.errors.empty()) << Describe(result.errors);
}

TEST(HostileGraph, OverrideThatIsNotUtf8IsRefused) {
  LoadOptions options;
  options.overrides = {"nums.count=\xFF"};
  const LoadResult result = Load(Lines({
                                     "stage { name: \"nums\" plugin: \"numbers\" }",
                                     "stage { name: \"c\" plugin: \"collect\" input: \"nums\" }",
                                 }),
                                 options);
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result.errors);
  EXPECT_EQ(result.errors[0].file, "--set");
  EXPECT_THAT(result.errors[0].message, HasSubstr("not UTF-8"));
  EXPECT_TRUE(IsValidUtf8(result.errors[0].message));
}

TEST(HostileGraph, FloatSeedIsOneErrorAtTheSeed) {
  // Before, "e308" was taken for the start of another statement and blamed on the next stage.
  const LoadResult result = Load(Lines({
      "seed: 1e308",
      "stage { name: \"nums\" plugin: \"numbers\" }",
      "stage { name: \"c\" plugin: \"collect\" input: \"nums\" }",
  }));
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result.errors);
  EXPECT_EQ(result.errors[0].line, 1);
  EXPECT_EQ(result.errors[0].stage, "");
}

// A long chain written downstream-first: every stage must still come after its producer. (The
// old ordering rescanned every wire per placed stage; its speed is measured by hand, not here.)
TEST(HostileGraph, LongReversedChainIsOrderedProducersFirst) {
  constexpr int kStages = 5000;
  std::string text =
      "stage { name: \"c\" plugin: \"collect\" input: \"s" + std::to_string(kStages - 1) + "\" }\n";
  for (int i = kStages - 1; i >= 1; --i) {
    text += "stage { name: \"s" + std::to_string(i) + "\" plugin: \"scale\" input: \"s" +
            std::to_string(i - 1) + "\" }\n";
  }
  text += "stage { name: \"s0\" plugin: \"numbers\" }\n";
  const LoadResult result = Load(text);
  ASSERT_TRUE(result.errors.empty()) << Describe(result.errors);
  ASSERT_EQ(result.graph->stages.size(), static_cast<size_t>(kStages + 1));
  for (int i = 0; i < kStages; ++i) {
    EXPECT_EQ(result.graph->stages[i].name, "s" + std::to_string(i));
  }
  EXPECT_EQ(result.graph->stages.back().name, "c");
}

TEST(HostileGraph, TwoSeparateCyclesAreBothReported) {
  const LoadResult result = Load(Lines({
      "stage { name: \"nums\" plugin: \"numbers\" }",
      "stage { name: \"a\" plugin: \"scale\" input: \"b\" }",
      "stage { name: \"b\" plugin: \"scale\" input: \"a\" }",
      "stage { name: \"c\" plugin: \"scale\" input: \"d\" }",
      "stage { name: \"d\" plugin: \"scale\" input: \"c\" }",
      "stage { name: \"out\" plugin: \"collect\" input: \"nums\" }",
  }));
  ASSERT_EQ(result.errors.size(), 2u) << Describe(result.errors);
  EXPECT_THAT(result.errors[0].message, HasSubstr("cycle: a -> b -> a"));
  EXPECT_THAT(result.errors[1].message, HasSubstr("cycle: c -> d -> c"));
}

}  // namespace
}  // namespace pipeline::graph_test
