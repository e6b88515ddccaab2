// The `checkpoint` sink: latest.ckpt after every epoch, best.ckpt only when the metric improves
// over the snapshot's whole history.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cnn_stage_test_util.h"
#include "pipeline/testing/stage_harness.h"
#include "stages/cnn/checkpoint.h"

namespace pipeline::cnn::testing {
namespace {

// `base` after len(accuracies) epochs whose test accuracies were `accuracies`.
std::shared_ptr<ModelSnapshot> AfterEpochs(const ModelSnapshot& base,
                                           const std::vector<double>& accuracies) {
  auto snapshot = std::make_shared<ModelSnapshot>(base);
  snapshot->metrics.clear();
  for (size_t i = 0; i < accuracies.size(); ++i) {
    proto::EpochMetrics row;
    row.set_epoch(static_cast<int64_t>(i));
    row.set_has_test(true);
    row.set_test_accuracy(accuracies[i]);
    snapshot->metrics.push_back(row);
  }
  snapshot->position.set_epochs_finished(static_cast<int64_t>(accuracies.size()));
  return snapshot;
}

TEST(CheckpointStage, WritesLatestEveryEpochAndBestOnlyWhenItImproves) {
  TempDir dir;
  const std::string run = dir.file("run/nested");  // created by the stage
  const Registry registry = StandardRegistry();
  StageHarness harness(registry,
                       R"(plugin: "checkpoint" param { key: "dir" value: ")" + run + R"(" })");
  const auto base = TrainedSnapshot(TinySpec(), 1);
  const std::string latest = run + "/latest.ckpt";
  const std::string best = run + "/best.ckpt";

  harness.push(0, 0, 0, AfterEpochs(*base, {0.90}));
  EXPECT_EQ(LoadCheckpoint(latest)->position.epochs_finished(), 1);
  EXPECT_EQ(LoadCheckpoint(best)->position.epochs_finished(), 1);

  harness.push(0, 1, 0, AfterEpochs(*base, {0.90, 0.85}));
  EXPECT_EQ(LoadCheckpoint(latest)->position.epochs_finished(), 2);
  EXPECT_EQ(LoadCheckpoint(best)->position.epochs_finished(), 1) << "a worse epoch replaced best";

  harness.push(0, 2, 0, AfterEpochs(*base, {0.90, 0.85, 0.90}));
  EXPECT_EQ(LoadCheckpoint(best)->position.epochs_finished(), 1) << "a tie replaced best";

  harness.push(0, 3, 0, AfterEpochs(*base, {0.90, 0.85, 0.90, 0.93}));
  EXPECT_EQ(LoadCheckpoint(latest)->position.epochs_finished(), 4);
  EXPECT_EQ(LoadCheckpoint(best)->position.epochs_finished(), 4);
  harness.close();
}

TEST(CheckpointStage, WithoutTestMetricsWritesOnlyLatest) {
  TempDir dir;
  const Registry registry = StandardRegistry();
  StageHarness harness(registry, R"(plugin: "checkpoint" param { key: "dir" value: ")" +
                                     dir.path().string() + R"(" })");
  harness.push(0, 0, 0, TrainedSnapshot(TinySpec(), 1));  // train metrics only
  harness.close();
  EXPECT_TRUE(std::filesystem::exists(dir.file("latest.ckpt")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("best.ckpt")));
}

TEST(CheckpointStage, AFolderThatCannotBeCreatedFailsAtOpen) {
  TempDir dir;
  const std::string blocker = dir.file("file");
  std::ofstream(blocker) << "x";
  const Registry registry = StandardRegistry();
  try {
    StageHarness harness(
        registry, R"(plugin: "checkpoint" param { key: "dir" value: ")" + blocker + R"(/run" })");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(blocker), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace pipeline::cnn::testing
