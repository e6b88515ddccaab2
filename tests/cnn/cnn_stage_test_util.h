// Shared by the checkpoint and CNN stage tests: a small network, a snapshot of a model that has
// really been trained on MNIST (so weights and optimizer state are not trivial), temporary
// folders, and bitwise tensor comparison.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "mnist_samples.h"
#include "nn/model.h"
#include "nn/model_spec.h"
#include "nn/trainer.h"
#include "pipeline/registry.h"
#include "stages/cnn/model_snapshot.h"
#include "stages/stage_registrations.h"

namespace pipeline::cnn::testing {

inline Registry StandardRegistry() {
  Registry registry;
  for (const auto& register_stage : StandardStageRegistrations()) register_stage(registry);
  return registry;
}

// conv3x3*4 -> ReLU -> maxpool2 -> flatten -> dense 10: small and quick, with every tensor kind
// a checkpoint must carry (conv and dense weights and biases).
inline proto::ModelSpec TinySpec() {
  proto::ModelSpec spec;
  spec.set_name("tiny");
  spec.mutable_input()->set_rows(28);
  spec.mutable_input()->set_cols(28);
  spec.mutable_input()->set_channels(1);
  proto::ConvSpec* conv = spec.add_layer()->mutable_conv();
  conv->set_filters(4);
  conv->set_kernel(3);
  spec.add_layer()->mutable_relu();
  spec.add_layer()->mutable_pool()->set_size(2);
  spec.add_layer()->mutable_flatten();
  spec.add_layer()->mutable_dense()->set_units(10);
  return spec;
}

// A model trained for `steps` Adam steps of 64 MNIST images, as cnn_train would snapshot it.
inline std::shared_ptr<ModelSnapshot> TrainedSnapshot(const proto::ModelSpec& spec, int steps,
                                                      std::unique_ptr<Model>* trained = nullptr) {
  const MnistSamples data = load_mnist("train", 64 * steps);
  auto model = std::make_unique<Model>(spec, 7);
  proto::OptimizerSpec optimizer;
  optimizer.mutable_adam();
  proto::ScheduleSpec schedule;
  schedule.set_base_lr(0.003f);
  schedule.mutable_constant();
  Trainer trainer(*model, optimizer, schedule);
  for (int step = 0; step < steps; ++step) {
    trainer.step(data.images.data() + step * 64 * 784, data.labels.data() + step * 64, 64);
  }
  auto snapshot = std::make_shared<ModelSnapshot>();
  snapshot->spec = spec;
  snapshot->tensors = std::make_shared<const std::vector<Tensor>>(model->state_tensors());
  snapshot->optimizer = optimizer;
  snapshot->schedule = schedule;
  snapshot->optimizer_state = std::make_shared<const OptimizerState>(trainer.optimizer().state());
  snapshot->position.set_epochs_finished(1);
  snapshot->position.set_planned_epochs(3);
  snapshot->position.set_global_step(model->step());
  snapshot->position.set_model_seed(7);
  snapshot->position.set_graph_seed(42);
  snapshot->position.set_stage_name("train");
  snapshot->normalization = {true, 1.0 / 255.0, 0.1307, 0.3081};
  proto::EpochMetrics row;
  row.set_epoch(0);
  row.set_train_loss(0.5);
  row.set_train_accuracy(0.75);
  snapshot->metrics.push_back(row);
  snapshot->graph_text = "name: \"test\"\n";
  snapshot->graph_file = "test.graph";
  if (trained != nullptr) *trained = std::move(model);
  return snapshot;
}

// A fresh folder under the system's temporary folder, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "pipeline-cnn-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Same names, shapes and bit patterns (so -0.0 vs 0.0 or NaN payloads would differ).
inline void ExpectBitIdentical(const std::vector<Tensor>& expected,
                               const std::vector<Tensor>& actual) {
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(expected[i].name);
    EXPECT_EQ(expected[i].name, actual[i].name);
    EXPECT_EQ(expected[i].shape, actual[i].shape);
    ASSERT_EQ(expected[i].values.size(), actual[i].values.size());
    EXPECT_EQ(0, std::memcmp(expected[i].values.data(), actual[i].values.data(),
                             expected[i].values.size() * sizeof(float)));
  }
}

}  // namespace pipeline::cnn::testing
