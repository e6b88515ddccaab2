// The payloads the CNN stages exchange: "model" (an immutable trained-model snapshot) and
// "metrics" (one epoch's figures).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint.pb.h"
#include "metrics.pb.h"
#include "model.pb.h"
#include "nn/model.h"
#include "nn/optimizer.h"
#include "nn/tensor.h"
#include "pipeline/payload.h"
#include "pipeline/payloads.h"

namespace pipeline::cnn {

// A model as it stood at the end of a training epoch: enough to evaluate it, checkpoint it and
// resume training from it. Emitted once per epoch by `cnn_train` and never changed afterwards;
// a stage that adds to it (evaluate attaches test metrics) emits a new snapshot, which shares
// the large tensor data with the old one.
struct ModelSnapshot : Payload {
  static constexpr std::string_view kType = "model";
  std::string_view type() const override { return kType; }

  proto::ModelSpec spec;
  // Model::state_tensors(): parameters, then batch-norm running statistics.
  std::shared_ptr<const std::vector<Tensor>> tensors;
  proto::OptimizerSpec optimizer;
  proto::ScheduleSpec schedule;
  // Null for a snapshot that carries no optimizer state (a model loaded only to predict).
  std::shared_ptr<const OptimizerState> optimizer_state;
  proto::TrainingPosition position;
  // How the training batches were preprocessed; inference repeats it.
  Normalization normalization;
  // The training data's name and class names (label 0 first; empty: the labels' numbers).
  std::string dataset_name;
  std::vector<std::string> class_names;
  // How the precision was chosen ("bf16 (auto: bf16 7698 img/s, fp32 5786 img/s)"); empty when
  // the graph named it.
  std::string precision_choice;
  // One row per finished epoch, oldest first; the last row is this snapshot's epoch.
  std::vector<proto::EpochMetrics> metrics;
  std::string graph_text;
  std::string graph_file;
  // int8 calibration (`pipeline quantize`); no ranges when the checkpoint was never calibrated.
  proto::CalibrationData calibration;
};

// A test sample the model got wrong, with what a person needs to judge the mistake.
struct Mistake {
  // The pixels as a person sees them: normalization undone, 0..255, CV_8UC(channels).
  cv::Mat image;
  int label = -1;        // the true class
  int predicted = -1;    // the model's answer
  float confidence = 0;  // softmax probability of the answer
  std::string source;    // "t10k-images-idx3-ubyte.gz#1234"
};

// One epoch's training and test figures, as `evaluate` emits them.
struct MetricsPayload : Payload {
  static constexpr std::string_view kType = "metrics";
  std::string_view type() const override { return kType; }

  proto::EpochMetrics metrics;
  // The evaluated snapshot (shares the tensors): its `metrics` is the whole history up to this
  // epoch with every test figure filled in, plus the graph, seeds and normalization of the run
  // it came from. Null when the producer had none.
  std::shared_ptr<const ModelSnapshot> model;
  // The epoch's most confident wrong answers, most confident first.
  std::vector<Mistake> mistakes;
};

// A model with the snapshot's weights, running statistics and training step (dropout masks
// depend on it), seeded with its recorded seed. Throws std::invalid_argument when the tensors do
// not fit the spec.
std::unique_ptr<Model> RestoreModel(const ModelSnapshot& snapshot);

}  // namespace pipeline::cnn
