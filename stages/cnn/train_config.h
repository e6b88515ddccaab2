// `cnn_train`'s parameters and how they map onto the cnn library's specs (proto/model.proto).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model.pb.h"
#include "nn/callbacks.h"
#include "pipeline/params.h"

namespace pipeline::cnn {

struct TrainConfig {
  // Complete except, for the seed network or a spec file without `input`, the input shape,
  // which the first batch supplies (input_from_data).
  proto::ModelSpec model;
  bool input_from_data = false;
  // precision: auto — model.precision is settled at the first batch (SetUpTraining) or from the
  // checkpoint resumed.
  bool precision_auto = false;
  // How the precision was chosen, for the run line, report and checkpoint ("bf16 (auto: ...)");
  // empty when the graph named it.
  std::string precision_note;
  proto::OptimizerSpec optimizer;

  std::string schedule;  // constant | step | cosine | onecycle
  double lr = 0;
  double warmup_epochs = 0;
  double step_epochs = 1;
  double gamma = 0.1;
  double final_lr_fraction = 0;
  double div_factor = 25;

  // Epochs the schedule spans; 0 until known: the parameter when set, else the training data's
  // planned passes (Batch::planned_epochs), resolved at the first batch (ResolveEpochs).
  int64_t epochs = 0;
  std::string resume;    // checkpoint path, empty for a fresh start
  std::string progress;  // auto | off

  CallbackOptions callbacks;
};

std::vector<ParamSpec> TrainParams();

// Reads validated parameters; throws std::runtime_error for a model file that cannot be read
// or parsed (naming file:line:column) and std::invalid_argument for inconsistent values.
TrainConfig ParseTrainConfig(const Params& params);

// "seed" (the seed network) or the path of a ModelSpec in protobuf text format.
proto::ModelSpec LoadModelSpec(const std::string& model, int classes);

// Settles config.epochs from the parameter (config.epochs, 0 when not set) and what the training
// batches say (`data_epochs`, 0 when unknown): either one, or both when they agree. Throws
// std::runtime_error when they disagree, or when neither says and the schedule needs it.
// A onecycle warm-up as long as a run whose length came from the source (train.graph with
// `--set train_data.epochs=1`) is shortened to the default rise (the first 25%) rather than
// refused: the graph was written for longer runs. Returns a line saying so, else empty.
std::string ResolveEpochs(TrainConfig& config, int64_t data_epochs);

// Checks what depends on the number of epochs (std::invalid_argument); config.epochs > 0.
void CheckScheduleEpochs(const TrainConfig& config);

// The schedule for `config` once the steps per epoch are known.
proto::ScheduleSpec BuildSchedule(const TrainConfig& config, int64_t steps_per_epoch);

}  // namespace pipeline::cnn
