// `cnn_train` through the real engine: resuming from a checkpoint gives bit for bit the weights
// and optimizer state of an uninterrupted run; and the stage's checks on its input.
#include <gtest/gtest.h>

#include "cnn_stage_test_util.h"
#include "pipeline/engine/graph.h"
#include "pipeline/engine/runner.h"
#include "pipeline/testing/stage_harness.h"
#include "stages/cnn/checkpoint.h"
#include "training_test_stages.h"

namespace pipeline::cnn::testing {
namespace {

// 512 shuffled MNIST samples, batches of 64, the seed network with Adam and one-cycle over the
// source's epochs (cnn_train takes their number from the data), checkpointed after each epoch.
// `cut` can end the stream at an epoch boundary, as an interrupted run.
const char* const kGraph = R"(
name: "resume_test"
seed: 11
stage {
  name: "data"
  plugin: "idx_source"
  param { key: "images" value: ")" PIPELINE_MNIST_DIR R"(/train-images-idx3-ubyte.gz" }
  param { key: "labels" value: ")" PIPELINE_MNIST_DIR R"(/train-labels-idx1-ubyte.gz" }
  param { key: "shuffle" value: "true" }
  param { key: "limit" value: "512" }
}
stage {
  name: "normalize"
  plugin: "normalize"
  input: "data"
  param { key: "mean" value: "0.1307" }
  param { key: "std" value: "0.3081" }
}
stage {
  name: "cut"
  plugin: "cut_after_epochs"
  input: "normalize"
}
stage {
  name: "batch"
  plugin: "batch"
  input: "cut"
  param { key: "size" value: "64" }
}
stage {
  name: "train"
  plugin: "cnn_train"
  input: "batches=batch"
  param { key: "progress" value: "off" }
}
stage {
  name: "checkpoint"
  plugin: "checkpoint"
  input: "train"
}
)";

Registry TrainingRegistry() {
  Registry registry = StandardRegistry();
  RegisterTrainingTestStages(registry);
  return registry;
}

// Runs kGraph with `overrides`; fails the test with the engine's message on any error.
void RunTestGraph(const Registry& registry, const std::vector<std::string>& overrides) {
  LoadOptions options;
  options.overrides = overrides;
  LoadResult loaded = LoadGraphText(kGraph, "resume_test.graph", registry, options);
  ASSERT_TRUE(loaded.graph.has_value()) << loaded.errors.front().message;
  RunOptions run;
  run.threads = 2;
  const RunResult result = RunGraph(*loaded.graph, run);
  ASSERT_TRUE(result.ok) << result.error;
}

TEST(TrainStage, ResumingEqualsAnUninterruptedRunBitForBit) {
  const Registry registry = TrainingRegistry();
  TempDir whole, split;
  // The precision is named (auto's choice is a measurement); the resumed run leaves it at auto,
  // which must keep the checkpoint's.
  RunTestGraph(registry, {"data.epochs=2", "train.precision=fp32",
                          "checkpoint.dir=" + whole.path().string()});
  // "Interrupted" after the first epoch (the schedule still plans 2), then resumed.
  RunTestGraph(registry, {"data.epochs=2", "cut.epochs=1", "train.precision=fp32",
                          "checkpoint.dir=" + split.path().string()});
  const auto first_half = LoadCheckpoint(split.file("latest.ckpt"));
  ASSERT_EQ(first_half->position.epochs_finished(), 1);
  EXPECT_EQ(first_half->position.planned_epochs(), 2) << "planned from the source's epochs";
  RunTestGraph(registry, {"data.epochs=2", "checkpoint.dir=" + split.path().string(),
                          "train.resume=" + split.file("latest.ckpt")});

  const auto uninterrupted = LoadCheckpoint(whole.file("latest.ckpt"));
  const auto resumed = LoadCheckpoint(split.file("latest.ckpt"));
  EXPECT_EQ(resumed->spec.precision(), proto::PRECISION_FP32);
  EXPECT_EQ(resumed->precision_choice, "fp32 (the checkpoint's)");
  EXPECT_EQ(resumed->position.epochs_finished(), 2);
  EXPECT_EQ(resumed->position.global_step(), 16u);
  EXPECT_EQ(resumed->position.SerializeAsString(), uninterrupted->position.SerializeAsString());
  ExpectBitIdentical(*uninterrupted->tensors, *resumed->tensors);
  ASSERT_TRUE(resumed->optimizer_state && uninterrupted->optimizer_state);
  EXPECT_EQ(resumed->optimizer_state->steps, uninterrupted->optimizer_state->steps);
  ExpectBitIdentical(uninterrupted->optimizer_state->slots, resumed->optimizer_state->slots);
  // The history carries over: both epochs, with identical training figures.
  ASSERT_EQ(resumed->metrics.size(), 2u);
  ASSERT_EQ(uninterrupted->metrics.size(), 2u);
  for (int epoch = 0; epoch < 2; ++epoch) {
    EXPECT_EQ(resumed->metrics[epoch].train_loss(), uninterrupted->metrics[epoch].train_loss());
    EXPECT_EQ(resumed->metrics[epoch].train_accuracy(),
              uninterrupted->metrics[epoch].train_accuracy());
  }
  // Training did something: the weights moved away from the first epoch's.
  EXPECT_NE(first_half->tensors->front().values, resumed->tensors->front().values);
}

TEST(TrainStage, ResumingWithAnotherArchitectureFailsClearly) {
  const Registry registry = StandardRegistry();
  TempDir dir;
  SaveCheckpoint(*TrainedSnapshot(TinySpec(), 1), dir.file("tiny.ckpt"));
  try {
    StageHarness harness(registry, R"(plugin: "cnn_train" param { key: "resume" value: ")" +
                                       dir.file("tiny.ckpt") + R"(" })");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("holds another model"), std::string::npos) << e.what();
  }
}

std::shared_ptr<Batch> LabelledBatch(const std::vector<int32_t>& labels, int rows = 28) {
  auto batch = std::make_shared<Batch>();
  batch->rows = rows;
  batch->cols = 28;
  batch->channels = 1;
  batch->labels = labels;
  batch->data.assign(labels.size() * static_cast<size_t>(rows) * 28, 0.0f);
  for (size_t i = 0; i < labels.size(); ++i) {
    batch->indices.push_back(static_cast<int64_t>(i));
    batch->sources.push_back("fixture#" + std::to_string(i));
  }
  batch->epoch_size = static_cast<int64_t>(labels.size());
  batch->normalization = {true, 1.0 / 255.0, 0.1307, 0.3081};
  return batch;
}

TEST(TrainStage, RejectsUnlabelledSamplesNamingThem) {
  const Registry registry = StandardRegistry();
  StageHarness harness(registry, R"(plugin: "cnn_train" param { key: "progress" value: "off" }
                                    param { key: "epochs" value: "1" })");
  try {
    harness.push(0, 0, 0, LabelledBatch({3, -1, 4}));
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("sample fixture#1 has label -1"), std::string::npos)
        << e.what();
  }
}

TEST(TrainStage, EmitsOneSnapshotPerEpochWithItsPosition) {
  const Registry registry = StandardRegistry();
  StageHarness harness(registry, R"(plugin: "cnn_train" param { key: "epochs" value: "2" }
                                    param { key: "progress" value: "off" }
                                    param { key: "schedule" value: "constant" })");
  // The bench cannot say the optional validation input is unconnected, so cnn_train waits for
  // it at each epoch end: end it empty.
  harness.end_epoch(1, 0);
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    auto full = LabelledBatch({1, 2, 3, 4});
    auto rest = LabelledBatch({5, 6});
    full->epoch_size = rest->epoch_size = 6;
    harness.push(0, epoch, 0, full);
    harness.push(0, epoch, 1, rest);
    harness.end_epoch(0, epoch);
  }
  const auto snapshots = harness.outputs_of_type<ModelSnapshot>();
  ASSERT_EQ(snapshots.size(), 2u);
  EXPECT_EQ(snapshots[0]->position.epochs_finished(), 1);
  EXPECT_EQ(snapshots[1]->position.epochs_finished(), 2);
  EXPECT_EQ(snapshots[1]->position.global_step(), 4u);
  EXPECT_EQ(snapshots[1]->position.steps_per_epoch(), 2) << "6 samples in batches of 4";
  EXPECT_EQ(snapshots[1]->metrics.size(), 2u);
  EXPECT_EQ(snapshots[1]->metrics[1].train_samples(), 6);
  // The time inside the two steps is part of the epoch, and not nothing: each ran the network.
  const proto::EpochMetrics& second = snapshots[1]->metrics[1];
  EXPECT_GT(second.step_seconds(), 0);
  EXPECT_LE(second.step_seconds(), second.train_seconds());
  EXPECT_FALSE(snapshots[1]->metrics[1].has_validation());
  EXPECT_EQ(snapshots[1]->normalization.mean, 0.1307);
  EXPECT_NE(snapshots[0]->tensors, snapshots[1]->tensors);
  // A batch of another shape is refused.
  try {
    harness.push(0, 2, 0, LabelledBatch({1}, 20));
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("20x28x1 images, but the model takes 28x28x1"),
              std::string::npos)
        << e.what();
  }
  harness.close();
}

}  // namespace
}  // namespace pipeline::cnn::testing
