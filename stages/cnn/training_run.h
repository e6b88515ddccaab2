// `cnn_train`'s training run, from the first batch to the last epoch: the model and trainer, the
// epoch being trained, and the bookkeeping of finished epochs (metrics, validation, callbacks,
// snapshots, resuming). The stage (cnn_train.cpp) feeds it batches in order and says where each
// epoch ends; holding training back until the validation set has arrived is the stage's job.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "metrics.pb.h"
#include "nn/callbacks.h"
#include "nn/trainer.h"
#include "pipeline/payloads.h"
#include "pipeline/stage.h"
#include "stages/cnn/data_parallel.h"
#include "stages/cnn/labelled_set.h"
#include "stages/cnn/model_snapshot.h"
#include "stages/cnn/train_config.h"
#include "stages/cnn/training_epoch.h"
#include "stages/cnn/training_progress.h"

namespace pipeline::cnn {

class TrainingRun {
 public:
  // Loads the checkpoint `config.resume` names, if any. `env` and `world` are the stage's and
  // outlive the run.
  TrainingRun(TrainConfig config, const StageEnv& env, ProcessGroup& world);

  // Whether a batch of `epoch` is to be trained: not when the checkpoint resumed from finished
  // that epoch (said once per epoch). Builds the model on the first batch, and checks every
  // batch against it.
  bool Accepts(const Batch& batch, int64_t epoch);
  // The epoch being trained, if one has started and not ended.
  std::optional<int64_t> current_epoch() const;
  // One optimizer step on `batch`, starting `epoch` when none is being trained.
  void Step(const Batch& batch, int64_t epoch);
  // The current epoch's training is done: its row of metrics, training figures only.
  proto::EpochMetrics EndEpoch();
  // Measures the finished epoch on `validation` (null when the input is not connected), runs the
  // callbacks and emits the epoch's snapshot. After early stopping, stopped() is true and the
  // caller ends the training sources.
  void CompleteEpoch(proto::EpochMetrics row, const LabelledSet* validation, Emitter& out);
  bool stopped() const { return stopped_; }
  // End of stream: says what was left untrained, or trained short of the plan.
  void Close() const;

 private:
  void Initialise(const Batch& batch);
  void StartEpoch(int64_t epoch);
  void Account(const StepResult& result, double step_seconds);
  void FinishDataParallelEpoch();
  proto::TrainingPosition Position(int64_t epoch) const;

  TrainConfig config_;
  const StageEnv& env_;
  ProcessGroup& world_;
  TrainingCallbacks callbacks_;
  uint64_t model_seed_ = 0;
  std::shared_ptr<const ModelSnapshot> resume_;  // until the first batch restores it
  int64_t start_epoch_ = 0;
  int64_t skipped_epoch_ = -1;
  // Data-parallel runs: the gradient sum over the ranks (which the trainer uses: declared before
  // it), and its cost so far.
  std::unique_ptr<ProcessGroupReducer> reducer_;
  ReductionMeter reduction_meter_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Trainer> trainer_;  // after model_: destroyed before it
  std::unique_ptr<TrainingProgress> progress_;
  Normalization normalization_;
  std::shared_ptr<const DatasetInfo> dataset_;  // what the first batch said it came from
  int64_t batch_size_ = 0, epoch_size_ = 0, steps_per_epoch_ = 0;  // global, in every rank
  std::vector<proto::EpochMetrics> metrics_;
  std::optional<TrainingEpoch> epoch_;  // the epoch being trained
  double last_learning_rate_ = 0;
  bool warned_beyond_plan_ = false;
  bool warned_validation_empty_ = false;
  std::vector<float> validation_logits_;
  bool stopped_ = false;  // early stopping ended training
};

}  // namespace pipeline::cnn
