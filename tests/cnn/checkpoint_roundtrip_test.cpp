// Saving and loading a checkpoint gives back exactly what was saved: every tensor bit for bit,
// the optimizer state, the position, the metrics, and identical predictions.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "cnn_stage_test_util.h"
#include "stages/cnn/checkpoint.h"

namespace pipeline::cnn::testing {
namespace {

TEST(CheckpointRoundTrip, RestoresTensorsOptimizerStateAndPredictionsExactly) {
  std::unique_ptr<Model> original;
  const auto saved = TrainedSnapshot(seed_network_spec(), 3, &original);
  TempDir dir;
  const std::string path = dir.file("model.ckpt");
  SaveCheckpoint(*saved, path);

  CheckpointFileInfo info;
  const auto loaded = LoadCheckpoint(path, &info);
  EXPECT_EQ(info.format_version, kCheckpointFormatVersion);
  EXPECT_EQ(info.file_bytes, std::filesystem::file_size(path));
  ExpectBitIdentical(*saved->tensors, *loaded->tensors);
  ASSERT_TRUE(loaded->optimizer_state);
  EXPECT_EQ(loaded->optimizer_state->steps, 3);
  ExpectBitIdentical(saved->optimizer_state->slots, loaded->optimizer_state->slots);
  EXPECT_EQ(loaded->spec.SerializeAsString(), saved->spec.SerializeAsString());
  EXPECT_EQ(loaded->optimizer.SerializeAsString(), saved->optimizer.SerializeAsString());
  EXPECT_EQ(loaded->schedule.SerializeAsString(), saved->schedule.SerializeAsString());
  EXPECT_EQ(loaded->position.SerializeAsString(), saved->position.SerializeAsString());
  EXPECT_EQ(loaded->normalization.mean, 0.1307);
  EXPECT_EQ(loaded->normalization.std, 0.3081);
  EXPECT_EQ(loaded->normalization.scale, 1.0 / 255.0);
  ASSERT_EQ(loaded->metrics.size(), 1u);
  EXPECT_EQ(loaded->metrics[0].train_accuracy(), 0.75);
  EXPECT_EQ(loaded->graph_text, saved->graph_text);
  EXPECT_EQ(loaded->graph_file, "test.graph");

  // The restored model predicts exactly what the trained one does.
  const MnistSamples test = load_mnist("t10k", 300);
  std::vector<float> expected(300 * 10), actual(300 * 10);
  original->predict(test.images.data(), 300, expected.data());
  std::unique_ptr<Model> restored = RestoreModel(*loaded);
  EXPECT_EQ(restored->step(), 3u);
  restored->predict(test.images.data(), 300, actual.data());
  EXPECT_EQ(0, std::memcmp(expected.data(), actual.data(), expected.size() * sizeof(float)));
}

TEST(CheckpointRoundTrip, SavingTwiceReplacesTheFileAndLeavesNoTemporaryFiles) {
  const auto snapshot = TrainedSnapshot(TinySpec(), 2);
  TempDir dir;
  const std::string path = dir.file("latest.ckpt");
  SaveCheckpoint(*snapshot, path);
  auto later = std::make_shared<ModelSnapshot>(*snapshot);
  later->position.set_epochs_finished(2);
  SaveCheckpoint(*later, path);
  EXPECT_EQ(LoadCheckpoint(path)->position.epochs_finished(), 2);
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ++files;
    EXPECT_EQ(entry.path().filename(), "latest.ckpt");
  }
  EXPECT_EQ(files, 1);
}

TEST(CheckpointRoundTrip, WritingIntoAMissingFolderFailsNamingTheFile) {
  const auto snapshot = TrainedSnapshot(TinySpec(), 1);
  TempDir dir;
  const std::string path = dir.file("no/such/folder/latest.ckpt");
  try {
    SaveCheckpoint(*snapshot, path);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace pipeline::cnn::testing
