// Under mpirun every rank trains one model on its shard of each global batch (data_parallel.h):
// the trainer sums the gradients over the ranks before every update, so the ranks' weights stay
// identical, which a checksum verifies after every epoch.
#include "stages/cnn/training_run.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <utility>

#include "stages/cnn/console.h"
#include "stages/cnn/train_resume.h"
#include "stages/cnn/train_setup.h"
#include "stages/cnn/train_snapshot.h"
#include "stages/cnn/train_validation.h"
#include "stages/cnn/training_batch_check.h"

namespace pipeline::cnn {

TrainingRun::TrainingRun(TrainConfig config, const StageEnv& env, ProcessGroup& world)
    : config_(std::move(config)), env_(env), world_(world), callbacks_(config_.callbacks) {
  model_seed_ = DeriveSeed(env_.graph_seed, env_.name, -1, -1);
  if (!config_.resume.empty()) {
    resume_ = LoadResumeCheckpoint(config_, env_.graph_seed, env_.name);
    start_epoch_ = resume_->position.epochs_finished();
    model_seed_ = resume_->position.model_seed();
    metrics_ = resume_->metrics;
    callbacks_.restore(resume_->position);
  }
  if (world_.distributed()) reducer_ = std::make_unique<ProcessGroupReducer>(world_);
  progress_ = std::make_unique<TrainingProgress>(config_.progress != "off",
                                                 config_.callbacks.early_stopping_patience > 0);
}

bool TrainingRun::Accepts(const Batch& batch, int64_t epoch) {
  if (!trainer_) Initialise(batch);
  if (epoch < start_epoch_) {  // finished before the checkpoint we resumed from
    if (skipped_epoch_ != epoch) {
      skipped_epoch_ = epoch;
      ConsoleLine("resume: skipping epoch " + std::to_string(epoch + 1) + " (finished in " +
                  config_.resume + ")");
    }
    return false;
  }
  CheckTrainingBatch(batch, *model_, normalization_);
  return true;
}

std::optional<int64_t> TrainingRun::current_epoch() const {
  if (!epoch_) return std::nullopt;
  return epoch_->epoch();
}

void TrainingRun::Step(const Batch& batch, int64_t epoch) {
  if (!epoch_) StartEpoch(epoch);
  last_learning_rate_ = trainer_->learning_rate();
  const auto start = std::chrono::steady_clock::now();
  const StepResult result = trainer_->step(batch.data.data(), batch.labels.data(), batch.size());
  Account(result, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

proto::EpochMetrics TrainingRun::EndEpoch() {
  if (reducer_) FinishDataParallelEpoch();
  proto::EpochMetrics row = epoch_->figures(model_->step(), last_learning_rate_);
  epoch_.reset();
  return row;
}

void TrainingRun::CompleteEpoch(proto::EpochMetrics row, const LabelledSet* validation,
                                Emitter& out) {
  const int64_t epoch = row.epoch();
  const int64_t planned = std::max<int64_t>(config_.epochs, epoch + 1);
  if (validation != nullptr && validation->size() > 0) {
    ValidateEpoch(*model_, *validation, normalization_, planned, row, validation_logits_);
  } else if (validation != nullptr && !warned_validation_empty_) {
    warned_validation_empty_ = true;
    ConsoleLine(
        "cnn_train: the \"validation\" input ended without samples; epochs carry no "
        "validation figures");
  }
  EpochDecision decision;
  if (config_.callbacks.any()) {
    if (!row.has_validation()) {
      throw std::runtime_error(
          "the \"validation\" input ended without samples, but early stopping or reduce-LR "
          "need the validation loss");
    }
    decision = callbacks_.end_of_epoch(epoch, row.validation_loss(), trainer_->schedule_rate());
    trainer_->set_lr_scale(decision.lr_scale);
    if (!decision.note.empty()) ConsoleLine("cnn_train: " + decision.note);
    if (decision.stop) row.set_stop_reason(decision.stop_reason);
  }
  row.set_elapsed_seconds(SecondsSinceProgramStart());
  metrics_.push_back(row);
  SnapshotParts parts{FiniteStateTensors(*model_, epoch),
                      Position(epoch),
                      normalization_,
                      metrics_,
                      env_.graph_text,
                      env_.graph_file,
                      dataset_,
                      config_.precision_note};
  out.emit(MakeTrainingSnapshot(*trainer_, std::move(parts)), epoch, 0);
  if (decision.stop) {
    stopped_ = true;
    ConsoleLine("cnn_train: " + decision.stop_reason + "; ending the training stream");
  }
}

void TrainingRun::Close() const {
  if (epoch_) {
    ConsoleLine("cnn_train: the stream ended during epoch " + std::to_string(epoch_->epoch() + 1) +
                " after " + std::to_string(epoch_->steps()) +
                " steps; that partial epoch is not in any snapshot (resume repeats it)");
  }
  const auto finished = static_cast<int64_t>(metrics_.size());
  if (start_epoch_ > 0 && finished == start_epoch_ && !epoch_) {
    ConsoleLine("resume: " + config_.resume + " had already finished every epoch streamed (" +
                std::to_string(start_epoch_) + "); nothing was trained");
  }
  if (finished > 0 && finished < config_.epochs && !epoch_ && !stopped_) {
    ConsoleLine("cnn_train: training ended after " + std::to_string(finished) + " of " +
                std::to_string(config_.epochs) +
                " planned epochs; the training stream ended before the schedule did");
  }
}

void TrainingRun::Initialise(const Batch& batch) {
  // Every rank holds a share of the global batch; the schedule counts global steps.
  const int64_t global_batch = reducer_ ? GlobalBatchSize(world_, batch.size()) : batch.size();
  SumOverRanks sum_over_ranks;
  if (reducer_) sum_over_ranks = [this](std::span<float> values) { world_.allreduce_sum(values); };
  TrainingSetup setup = SetUpTraining(config_, model_seed_, batch, global_batch, sum_over_ranks);
  model_ = std::move(setup.model);
  trainer_ = std::move(setup.trainer);
  batch_size_ = setup.batch_size;
  epoch_size_ = setup.epoch_size;
  steps_per_epoch_ = setup.steps_per_epoch;
  if (!setup.epochs_note.empty()) ConsoleLine(setup.epochs_note);
  if (!config_.precision_note.empty())
    ConsoleLine("cnn_train: precision " + config_.precision_note);
  trainer_->set_gradient_reducer(reducer_.get());
  normalization_ = batch.normalization;
  if (batch.dataset) dataset_ = batch.dataset;
  if (resume_) {
    RestoreResume(*resume_, config_, setup.schedule, normalization_, *model_, *trainer_);
    resume_.reset();  // its tensors are in the model now
  }
  trainer_->set_lr_scale(callbacks_.lr_scale());
}

void TrainingRun::StartEpoch(int64_t epoch) {
  epoch_.emplace(epoch);
  if (config_.epochs > 0 && epoch >= config_.epochs && !warned_beyond_plan_) {
    warned_beyond_plan_ = true;
    ConsoleLine("cnn_train: epoch " + std::to_string(epoch + 1) + " is beyond the " +
                std::to_string(config_.epochs) +
                " planned (cnn_train epochs); the schedule stays at its final rate");
  }
  progress_->start_epoch(epoch, std::max<int64_t>(config_.epochs, epoch + 1), steps_per_epoch_);
}

// One step's figures (the global batch's in a data-parallel run).
void TrainingRun::Account(const StepResult& result, double step_seconds) {
  // Before anything of this step is counted: no snapshot, so no checkpoint, ever holds NaNs.
  CheckFiniteLoss(result.loss, epoch_->epoch(), config_.epochs, epoch_->steps() + 1,
                  last_learning_rate_);
  epoch_->add(result, step_seconds);
  progress_->update(epoch_->steps(), epoch_->samples(), epoch_->mean_loss());
}

// Joins the updates of ranks that still had a batch, checks that every rank holds the same
// weights, and says what the reduction cost.
void TrainingRun::FinishDataParallelEpoch() {
  const double joined_rate = trainer_->learning_rate();  // of the update it may join
  for (const StepResult& joined : trainer_->finish_epoch()) {
    last_learning_rate_ = joined_rate;
    Account(joined, 0);  // finish_epoch's time is the reduction's, counted by reduction_meter_
  }
  CheckWeightsAgree(world_, *model_, epoch_->epoch());
  ConsoleLine(reduction_meter_.epoch_line(*trainer_, world_.size(), epoch_->seconds()));
}

proto::TrainingPosition TrainingRun::Position(int64_t epoch) const {
  proto::TrainingPosition position;
  position.set_epochs_finished(epoch + 1);
  position.set_planned_epochs(std::max<int64_t>(config_.epochs, epoch + 1));
  position.set_global_step(model_->step());
  position.set_model_seed(model_seed_);
  position.set_graph_seed(env_.graph_seed);
  position.set_stage_name(env_.name);
  position.set_steps_per_epoch(steps_per_epoch_);
  position.set_batch_size(batch_size_);
  position.set_epoch_size(epoch_size_);
  position.set_ranks(world_.size());
  callbacks_.save(&position);
  return position;
}

}  // namespace pipeline::cnn
