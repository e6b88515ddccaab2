// `pipeline inspect`: the report names what the checkpoint holds, and a bad file is exit code 1
// with the file named.
#include <gtest/gtest.h>

#include <fstream>

#include "app/inspect_command.h"
#include "cnn_stage_test_util.h"
#include "stages/cnn/checkpoint.h"

namespace pipeline::cnn::testing {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(CheckpointInspect, DescribesModelTrainingNormalizationMetricsAndGraph) {
  TempDir dir;
  auto snapshot = TrainedSnapshot(TinySpec(), 2);
  snapshot->metrics[0].set_has_test(true);
  snapshot->metrics[0].set_test_accuracy(0.9123);
  snapshot->metrics[0].set_classes(10);
  const std::string path = dir.file("tiny.ckpt");
  SaveCheckpoint(*snapshot, path);
  const std::string report = DescribeCheckpoint(path);
  EXPECT_TRUE(Contains(report, "format version 1, CRC-32")) << report;
  EXPECT_TRUE(Contains(report, " ok,")) << report;
  EXPECT_TRUE(Contains(report, "model: tiny, fp32, 10 classes")) << report;
  // conv1: 4 x 1 x 3 x 3 + 4 = 40; dense1: 10 x (4 x 13 x 13) + 10 = 6,770.
  EXPECT_TRUE(Contains(report, "conv1       conv 3x3 x4         26x26x4         40")) << report;
  EXPECT_TRUE(Contains(report, "6,770")) << report;
  EXPECT_TRUE(Contains(report, "parameters: 6,810 trainable")) << report;
  EXPECT_TRUE(Contains(report, "training: 1 of 3 planned epochs, 2 steps")) << report;
  EXPECT_TRUE(Contains(report, "normalization: (pixel * 0.0039215686 - 0.1307) / 0.3081"))
      << report;
  EXPECT_TRUE(Contains(report, "91.23%")) << report;
  EXPECT_TRUE(Contains(report, "graph: test.graph, 1 lines")) << report;
  EXPECT_TRUE(Contains(report, "| name: \"test\"")) << report;
}

TEST(CheckpointInspect, CommandExitsOneOnABadCheckpointAndTwoOnBadUsage) {
  TempDir dir;
  const std::string bad = dir.file("bad.ckpt");
  std::ofstream(bad) << "garbage";
  const CliCommand command = InspectCommand();
  EXPECT_EQ(command.name, "inspect");
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(command.run({bad}), kExitRunFailed);
  EXPECT_TRUE(Contains(::testing::internal::GetCapturedStderr(), bad));
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(command.run({}), kExitUsage);
  EXPECT_EQ(command.run({bad, bad}), kExitUsage);
  ::testing::internal::GetCapturedStderr();
}

}  // namespace
}  // namespace pipeline::cnn::testing
