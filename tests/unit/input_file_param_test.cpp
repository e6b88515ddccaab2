// Parameters that name files a stage reads (InputFile, InputPaths): validation refuses a graph
// whose input file is missing or unreadable, at the value's line:column, before anything runs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "graph_test_stages.h"

namespace pipeline::graph_test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class InputFileParamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("input_file_param_" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "folder");
    std::ofstream(dir_ / "data.bin") << "x";
    std::ofstream(dir_ / "list.txt") << "data.bin\n";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string at(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

TEST_F(InputFileParamTest, InputFileMustBeAReadableFile) {
  const ParamSpec file = InputFile(StringParam("file", "", ""), {"seed"});
  EXPECT_EQ(CheckInputPath(file, at("data.bin")), "");
  EXPECT_EQ(CheckInputPath(file, ""), "") << "empty means none";
  EXPECT_EQ(CheckInputPath(file, "seed"), "") << "a built-in value names no file";
  EXPECT_EQ(CheckInputPath(file, "rtsp://camera/stream"), "") << "a URL is not a local file";
  EXPECT_EQ(CheckInputPath(file, at("missing.gz")),
            at("missing.gz") + ": No such file or directory");
  EXPECT_EQ(CheckInputPath(file, at("folder")), at("folder") + ": is a folder, not a file");
  EXPECT_EQ(CheckInputPath(StringParam("plain", "", ""), at("missing.gz")), "")
      << "a parameter not declared as an input is not checked";
}

TEST_F(InputFileParamTest, InputPathsChecksEveryItemButLeavesGlobsToTheStage) {
  const ParamSpec paths = InputPaths(StringParam("path", "", ""));
  EXPECT_EQ(CheckInputPath(paths, at("data.bin") + ", " + at("folder") + ",@" + at("list.txt")),
            "");
  EXPECT_EQ(CheckInputPath(paths, at("folder") + "/*.jpg"), "");
  EXPECT_EQ(CheckInputPath(paths, at("folder") + "," + at("gone")),
            at("gone") + ": No such file or directory");
  EXPECT_EQ(CheckInputPath(paths, "@" + at("nolist.txt")),
            "@" + at("nolist.txt") + ": No such file or directory");
}

LoadResult LoadReader(const std::string& value, const LoadOptions& options = {}) {
  static const Registry registry = [] {
    Registry made = TestRegistry();
    made.add(Info("reader", StageKind::kSource, {}, {{"out", "number", ""}},
                  {InputFile(RequiredStringParam("file", "what to read"))},
                  Make<CountingSource>()));
    return made;
  }();
  return LoadGraphText(Lines({
                           "stage {",
                           "  name: \"in\" plugin: \"reader\"",
                           "  param { key: \"file\" value: \"" + value + "\" }",
                           "}",
                           "stage { name: \"out\" plugin: \"collect\" input: \"in\" }",
                       }),
                       "test.graph", registry, options);
}

TEST_F(InputFileParamTest, GraphWithAMissingInputFileIsRefusedAtTheValue) {
  EXPECT_TRUE(LoadReader(at("data.bin")).errors.empty());
  const LoadResult missing = LoadReader(at("missing.gz"));
  ASSERT_EQ(missing.errors.size(), 1u) << Describe(missing.errors);
  const Diagnostic& error = missing.errors[0];
  EXPECT_EQ(error.line, 3);
  EXPECT_EQ(error.column, 30);
  EXPECT_EQ(error.stage, "in");
  EXPECT_EQ(error.message,
            "parameter \"file\": " + at("missing.gz") + ": No such file or directory");
}

TEST_F(InputFileParamTest, MissingFileFromSetIsBlamedOnTheOverride) {
  LoadOptions options;
  options.overrides = {"in.file=/nonexistent.gz"};
  const LoadResult result = LoadReader(at("data.bin"), options);
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result.errors);
  EXPECT_EQ(result.errors[0].file, "--set");
  EXPECT_THAT(result.errors[0].message,
              HasSubstr("/nonexistent.gz: No such file or directory (from --set "
                        "in.file=/nonexistent.gz)"));
}

}  // namespace
}  // namespace pipeline::graph_test
