// `cnn_train`'s validation input and callbacks through the real engine on MNIST: validation
// figures in every snapshot, early stopping ending the run normally, reduce-LR lowering the rate
// and resuming exactly, a NaN loss failing the run while the earlier checkpoint stays intact, and
// the clear refusals (callbacks without validation, epochs that disagree with the source).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "cnn_stage_test_util.h"
#include "pipeline/engine/graph.h"
#include "pipeline/engine/runner.h"
#include "pipeline/testing/stage_harness.h"
#include "stages/cnn/checkpoint.h"
#include "training_test_stages.h"

namespace pipeline::cnn::testing {
namespace {

// 512 training samples from the train part (validation_fraction 0.0833 of the file held out),
// 256 of the held-out part for validation; the seed network with Adam at a constant rate.
const char* const kGraph = R"(
name: "callbacks_test"
seed: 5
stage {
  name: "data"
  plugin: "idx_source"
  param { key: "images" value: ")" PIPELINE_MNIST_DIR R"(/train-images-idx3-ubyte.gz" }
  param { key: "labels" value: ")" PIPELINE_MNIST_DIR R"(/train-labels-idx1-ubyte.gz" }
  param { key: "shuffle" value: "true" }
  param { key: "split" value: "train" }
  param { key: "validation_fraction" value: "0.0833" }
  param { key: "limit" value: "512" }
}
stage {
  name: "normalize"
  plugin: "normalize"
  input: "data"
  param { key: "mean" value: "0.1307" }
  param { key: "std" value: "0.3081" }
}
stage { name: "cut" plugin: "cut_after_epochs" input: "normalize" }
stage {
  name: "batch"
  plugin: "batch"
  input: "cut"
  param { key: "size" value: "64" }
}
stage { name: "poison" plugin: "poison_batches" input: "batch" }
stage {
  name: "val_data"
  plugin: "idx_source"
  param { key: "images" value: ")" PIPELINE_MNIST_DIR R"(/train-images-idx3-ubyte.gz" }
  param { key: "labels" value: ")" PIPELINE_MNIST_DIR R"(/train-labels-idx1-ubyte.gz" }
  param { key: "split" value: "validation" }
  param { key: "validation_fraction" value: "0.0833" }
  param { key: "limit" value: "256" }
}
stage {
  name: "val_normalize"
  plugin: "normalize"
  input: "val_data"
  param { key: "mean" value: "0.1307" }
  param { key: "std" value: "0.3081" }
}
stage {
  name: "val_batch"
  plugin: "batch"
  input: "val_normalize"
  param { key: "size" value: "100" }
}
stage {
  name: "train"
  plugin: "cnn_train"
  input: "batches=poison"
  input: "validation=val_batch"
  param { key: "precision" value: "fp32" }  # named: runs here are compared bit for bit
  param { key: "optimizer" value: "adam" }
  param { key: "lr" value: "0.001" }
  param { key: "schedule" value: "constant" }
  param { key: "progress" value: "off" }
}
stage {
  name: "checkpoint"
  plugin: "checkpoint"
  input: "train"
  param { key: "metric" value: "train_loss" }
}
)";

Registry TrainingRegistry() {
  Registry registry = StandardRegistry();
  RegisterTrainingTestStages(registry);
  return registry;
}

RunResult RunGraphWith(const std::vector<std::string>& overrides,
                       const std::string& text = kGraph) {
  const Registry registry = TrainingRegistry();
  LoadOptions options;
  options.overrides = overrides;
  LoadResult loaded = LoadGraphText(text, "callbacks_test.graph", registry, options);
  if (!loaded.graph) {
    RunResult failed;
    failed.ok = false;
    failed.error = "graph: " + loaded.errors.front().message;
    return failed;
  }
  RunOptions run;
  run.threads = 2;
  return RunGraph(*loaded.graph, run);
}

std::string ReadBytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(TrainCallbacks, ValidationFiguresAppearInEverySnapshot) {
  TempDir dir;
  const RunResult result = RunGraphWith({"data.epochs=2", "checkpoint.dir=" + dir.path().string()});
  ASSERT_TRUE(result.ok) << result.error;
  const auto latest = LoadCheckpoint(dir.file("latest.ckpt"));
  EXPECT_EQ(latest->position.planned_epochs(), 2) << "cnn_train took the source's epochs";
  ASSERT_EQ(latest->metrics.size(), 2u);
  for (const proto::EpochMetrics& row : latest->metrics) {
    SCOPED_TRACE(row.epoch());
    EXPECT_TRUE(row.has_validation());
    EXPECT_EQ(row.validation_samples(), 256);
    EXPECT_TRUE(std::isfinite(row.validation_loss()));
    EXPECT_GT(row.validation_loss(), 0);
    EXPECT_GT(row.validation_accuracy(), 0.3) << "a trained model beats chance (0.1)";
    EXPECT_LE(row.validation_accuracy(), 1.0);
    EXPECT_EQ(row.stop_reason(), "");
  }
  // Learning shows on the held-out samples.
  EXPECT_LT(latest->metrics[1].validation_loss(), latest->metrics[0].validation_loss());
}

TEST(TrainCallbacks, EarlyStoppingEndsTheRunNormallyAndRecordsWhy) {
  TempDir dir;
  // No epoch can improve on the first by more than 1000: stop after the second of six.
  const RunResult result = RunGraphWith({"data.epochs=6", "train.early_stopping_patience=1",
                                         "train.early_stopping_min_delta=1000",
                                         "checkpoint.dir=" + dir.path().string()});
  ASSERT_TRUE(result.ok) << result.error;
  const auto latest = LoadCheckpoint(dir.file("latest.ckpt"));
  EXPECT_EQ(latest->position.epochs_finished(), 2);
  EXPECT_EQ(latest->position.planned_epochs(), 6);
  ASSERT_EQ(latest->metrics.size(), 2u);
  EXPECT_EQ(latest->metrics[0].stop_reason(), "");
  EXPECT_TRUE(Contains(latest->metrics[1].stop_reason(), "early stopping after epoch 2"))
      << latest->metrics[1].stop_reason();
  EXPECT_TRUE(latest->position.has_early_stopping());
  EXPECT_EQ(latest->position.early_stopping().best_epoch(), 0);
}

TEST(TrainCallbacks, ReduceLrLowersTheRateAndResumingContinuesExactly) {
  TempDir whole, split;
  const std::vector<std::string> reduce = {"train.reduce_lr_patience=1",
                                           "train.reduce_lr_min_delta=1000", "data.epochs=3"};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.end(), reduce.begin(), reduce.end());
    return more;
  };
  ASSERT_TRUE(RunGraphWith(with({"checkpoint.dir=" + whole.path().string()})).ok);
  const auto uninterrupted = LoadCheckpoint(whole.file("latest.ckpt"));
  ASSERT_EQ(uninterrupted->metrics.size(), 3u);
  // No improvement after epochs 2 and 3: the rate halves for epoch 3, and again after it.
  EXPECT_NEAR(uninterrupted->metrics[0].learning_rate(), 0.001, 1e-9);
  EXPECT_NEAR(uninterrupted->metrics[1].learning_rate(), 0.001, 1e-9);
  EXPECT_NEAR(uninterrupted->metrics[2].learning_rate(), 0.0005, 1e-9);
  EXPECT_EQ(uninterrupted->position.lr_scale(), 0.25);

  // Interrupted after two epochs (scale 0.5 by then), then resumed: the same weights.
  ASSERT_TRUE(RunGraphWith(with({"cut.epochs=2", "checkpoint.dir=" + split.path().string()})).ok);
  EXPECT_EQ(LoadCheckpoint(split.file("latest.ckpt"))->position.lr_scale(), 0.5);
  const RunResult resumed_run = RunGraphWith(with(
      {"checkpoint.dir=" + split.path().string(), "train.resume=" + split.file("latest.ckpt")}));
  ASSERT_TRUE(resumed_run.ok) << resumed_run.error;
  const auto resumed = LoadCheckpoint(split.file("latest.ckpt"));
  EXPECT_EQ(resumed->position.SerializeAsString(), uninterrupted->position.SerializeAsString());
  ExpectBitIdentical(*uninterrupted->tensors, *resumed->tensors);
  EXPECT_EQ(resumed->metrics[2].validation_loss(), uninterrupted->metrics[2].validation_loss());
}

// Trains one good epoch into `dir`, then resumes with NaN pixels in every batch of the second:
// the run fails with `message`, and latest.ckpt is still the first epoch's, byte for byte.
void ExpectNaNStopKeepsCheckpoint(const std::vector<std::string>& settings,
                                  const std::string& message) {
  TempDir dir;
  std::vector<std::string> first = settings;
  first.insert(first.end(),
               {"data.epochs=2", "cut.epochs=1", "checkpoint.dir=" + dir.path().string()});
  ASSERT_TRUE(RunGraphWith(first).ok);
  const std::string before = ReadBytes(dir.file("latest.ckpt"));
  ASSERT_FALSE(before.empty());

  std::vector<std::string> poisoned = settings;
  poisoned.insert(poisoned.end(),
                  {"data.epochs=2", "poison.from_epoch=1", "checkpoint.dir=" + dir.path().string(),
                   "train.resume=" + dir.file("latest.ckpt")});
  const RunResult result = RunGraphWith(poisoned);
  ASSERT_FALSE(result.ok);
  EXPECT_TRUE(Contains(result.error, "stage \"train\" (cnn_train)")) << result.error;
  EXPECT_TRUE(Contains(result.error, message)) << result.error;
  EXPECT_EQ(ReadBytes(dir.file("latest.ckpt")), before) << "the checkpoint was touched";
  const auto kept = LoadCheckpoint(dir.file("latest.ckpt"));
  EXPECT_EQ(kept->position.epochs_finished(), 1);
  for (const Tensor& tensor : *kept->tensors) {
    for (float value : tensor.values) ASSERT_TRUE(std::isfinite(value)) << tensor.name;
  }
}

TEST(TrainCallbacks, NaNLossFailsTheRunAtOnceAndKeepsTheEarlierCheckpoint) {
  // A linear model: the NaN pixel reaches the logits, so the first poisoned step's loss is NaN.
  TempDir spec;
  std::ofstream(spec.file("linear.model")) << "name: \"linear\"\n"
                                              "layer { flatten {} }\n"
                                              "layer { dense { units: 10 } }\n";
  ExpectNaNStopKeepsCheckpoint({"train.model=" + spec.file("linear.model")},
                               "epoch 2, sample 0: training stopped: the loss became NaN in "
                               "epoch 2/2 at step 1");
}

TEST(TrainCallbacks, NaNWeightsBehindAFiniteLossStillFailTheRunAtTheEpochEnd) {
  // The seed network: ReLU turns the NaN activations into zeros, so the loss stays finite while
  // the first convolution's weights turn NaN.
  ExpectNaNStopKeepsCheckpoint({}, "training stopped: after epoch 2 the weights of ");
}

TEST(TrainCallbacks, CallbacksWithoutTheValidationInputAreRefusedAtOpen) {
  std::string text = kGraph;
  const std::string validation_input = "input: \"validation=val_batch\"";
  text.erase(text.find(validation_input), validation_input.size());
  const RunResult result = RunGraphWith({"train.reduce_lr_patience=2"}, text);
  ASSERT_FALSE(result.ok);
  EXPECT_TRUE(Contains(result.error,
                       "stage \"train\" (cnn_train), opening: reduce_lr_patience "
                       "watch the validation loss, but the \"validation\" input is "
                       "not connected"))
      << result.error;
}

TEST(TrainCallbacks, EpochsThatDisagreeWithTheSourceFailAtTheFirstBatch) {
  TempDir dir;
  const RunResult result =
      RunGraphWith({"data.epochs=2", "train.epochs=3", "checkpoint.dir=" + dir.path().string()});
  ASSERT_FALSE(result.ok);
  EXPECT_TRUE(Contains(result.error,
                       "cnn_train's epochs is 3 but the training source makes 2 "
                       "passes"))
      << result.error;
}

// A batch of MNIST images as a batch stage would emit it.
std::shared_ptr<Batch> MnistBatch(const MnistSamples& data, int64_t first, int64_t count,
                                  int64_t planned_epochs) {
  auto batch = std::make_shared<Batch>();
  batch->rows = batch->cols = 28;
  batch->channels = 1;
  batch->data.assign(data.images.begin() + first * 784,
                     data.images.begin() + (first + count) * 784);
  batch->labels.assign(data.labels.begin() + first, data.labels.begin() + first + count);
  for (int64_t i = 0; i < count; ++i) {
    batch->indices.push_back(first + i);
    batch->sources.push_back("mnist#" + std::to_string(first + i));
  }
  batch->epoch_size = 128;
  batch->planned_epochs = planned_epochs;
  batch->normalization = {true, 1.0 / 255.0, 0.1307, 0.3081};  // as load_mnist normalizes
  return batch;
}

// Feeds two epochs of 128 training images and 64 validation images; the validation set arrives
// before training starts, or only after the first epoch (and some of the second) ended.
std::vector<std::shared_ptr<const ModelSnapshot>> TrainWithValidation(bool validation_late) {
  const MnistSamples data = load_mnist("train", 192);
  const Registry registry = StandardRegistry();
  StageHarness harness(registry, R"(plugin: "cnn_train" param { key: "progress" value: "off" }
                                    param { key: "precision" value: "fp32" }
                                    param { key: "schedule" value: "constant" }
                                    param { key: "reduce_lr_patience" value: "1" })");
  auto validate = [&] {
    harness.push(1, 0, 0, MnistBatch(data, 128, 64, 1));
    harness.end_epoch(1, 0);
  };
  if (!validation_late) validate();
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    harness.push(0, epoch, 0, MnistBatch(data, 0, 64, 2));
    if (validation_late && epoch == 1) {
      EXPECT_TRUE(harness.outputs_of_type<ModelSnapshot>().empty())
          << "epoch 1 ended before the validation set did: its snapshot must wait";
      validate();
    }
    harness.push(0, epoch, 1, MnistBatch(data, 64, 64, 2));
    harness.end_epoch(0, epoch);
  }
  harness.close();
  return harness.outputs_of_type<ModelSnapshot>();
}

TEST(TrainCallbacks, AValidationSetArrivingLateGivesTheSameResult) {
  const auto early = TrainWithValidation(false);
  const auto late = TrainWithValidation(true);
  ASSERT_EQ(early.size(), 2u);
  ASSERT_EQ(late.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    ASSERT_TRUE(late[i]->metrics.back().has_validation());
    EXPECT_EQ(late[i]->metrics.back().validation_samples(), 64);
    EXPECT_EQ(late[i]->metrics.back().validation_loss(),
              early[i]->metrics.back().validation_loss());
    EXPECT_EQ(late[i]->position.SerializeAsString(), early[i]->position.SerializeAsString());
    ExpectBitIdentical(*early[i]->tensors, *late[i]->tensors);
  }
}

TEST(TrainCallbacks, CheckpointKeepsTheBestByValidationLoss) {
  TempDir dir;
  const Registry registry = StandardRegistry();
  StageHarness harness(registry, R"(plugin: "checkpoint" param { key: "dir" value: ")" +
                                     dir.path().string() +
                                     R"(" } param { key: "metric" value: "validation_loss" })");
  const auto base = TrainedSnapshot(TinySpec(), 1);
  const std::vector<double> losses = {0.50, 0.40, 0.45, 0.40, 0.38};
  const std::vector<int64_t> best_after = {1, 2, 2, 2, 5};  // a tie keeps the earlier one
  for (size_t epoch = 0; epoch < losses.size(); ++epoch) {
    auto snapshot = std::make_shared<ModelSnapshot>(*base);
    snapshot->metrics.clear();
    for (size_t i = 0; i <= epoch; ++i) {
      proto::EpochMetrics row;
      row.set_epoch(static_cast<int64_t>(i));
      row.set_has_validation(true);
      row.set_validation_loss(losses[i]);
      row.set_train_loss(1.0 / static_cast<double>(i + 1));  // always improving: not the metric
      snapshot->metrics.push_back(row);
    }
    snapshot->position.set_epochs_finished(static_cast<int64_t>(epoch + 1));
    harness.push(0, static_cast<int64_t>(epoch), 0, snapshot);
    EXPECT_EQ(LoadCheckpoint(dir.file("best.ckpt"))->position.epochs_finished(), best_after[epoch])
        << "after epoch " << epoch + 1;
  }
  harness.close();
}

}  // namespace
}  // namespace pipeline::cnn::testing
