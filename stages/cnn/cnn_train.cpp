// `cnn_train`: trains a CNN on the batches it receives and emits a "model" snapshot after every
// epoch. Resuming from a checkpoint skips the epochs it finished, so that with the same graph and
// seed the weights equal those of an uninterrupted run bit for bit.
//
// With its optional "validation" input connected it measures the model on that held-out set after
// every epoch, and its callbacks act on the validation loss: early stopping (ends the training
// sources through request_finish(), so the run ends normally) and reduce-LR-on-plateau. The
// validation set arrives once and is kept; an epoch that ends before it has fully arrived waits
// for it, and training batches that arrive meanwhile are held back, so results never depend on
// which stream was faster.
//
// Under mpirun every rank trains one model on its shard of each global batch (data_parallel.h):
// the trainer sums the gradients over the ranks before every update, so the ranks' weights stay
// identical, which a checksum verifies after every epoch.
#include "stages/cnn/cnn_train.h"

#include <cstdio>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "nn/callbacks.h"
#include "nn/trainer.h"
#include "pipeline/payloads.h"
#include "pipeline/registry.h"
#include "stages/cnn/console.h"
#include "stages/cnn/data_parallel.h"
#include "stages/cnn/labelled_set.h"
#include "stages/cnn/model_snapshot.h"
#include "stages/cnn/model_thread.h"
#include "stages/cnn/train_config.h"
#include "stages/cnn/train_resume.h"
#include "stages/cnn/train_setup.h"
#include "stages/cnn/train_snapshot.h"
#include "stages/cnn/train_validation.h"
#include "stages/cnn/training_batch_check.h"
#include "stages/cnn/training_epoch.h"
#include "stages/cnn/training_progress.h"

namespace pipeline {
namespace {

using cnn::ConsoleLine;

constexpr int kBatchesPort = 0;
constexpr int kValidationPort = 1;

// A training message that arrived while an epoch's end waited for the validation set.
struct HeldTraining {
  std::shared_ptr<const Payload> payload;  // null for an end of epoch
  int64_t epoch = 0;
  int64_t index = 0;
};

class CnnTrain : public Stage {
 public:
  // The model and its primitives live and die on thread_ (see model_thread.h).
  ~CnnTrain() override {
    thread_.run([this] {
      trainer_.reset();
      model_.reset();
    });
  }

  void open(const Params& params) override {
    thread_.run([&] { Open(params); });
  }
  void process(const Message& msg, Emitter& out) override {
    thread_.run([&] {
      if (msg.port == kValidationPort) {
        validation_.add(msg.as<Batch>(), msg.epoch);
      } else {
        OnTrainingBatch(msg, out);
      }
    });
  }
  void end_epoch(int port, int64_t epoch, Emitter& out) override {
    thread_.run([&] {
      if (port == kValidationPort) {
        OnValidationEnded(out);
      } else {
        OnTrainingEpochEnd(epoch, out);
      }
    });
  }
  void close(Emitter& out) override {
    thread_.run([&] {
      OnValidationEnded(out);  // a validation stream without epoch ends ends here
      Close();
    });
  }

 private:
  void Open(const Params& params) {
    config_ = cnn::ParseTrainConfig(params);
    validation_connected_ = input_connected(kValidationPort);
    if (config_.callbacks.any() && !validation_connected_) {
      std::string which;
      if (config_.callbacks.early_stopping_patience > 0) which = "early_stopping_patience";
      if (config_.callbacks.reduce_lr_patience > 0) {
        which += std::string(which.empty() ? "" : " and ") + "reduce_lr_patience";
      }
      throw std::invalid_argument(
          which +
          " watch the validation loss, but the \"validation\" input is not connected: "
          "connect it to held-out batches (e.g. input: \"validation=val_batch\" from an "
          "idx_source with split validation) or set them to 0");
    }
    callbacks_ = cnn::TrainingCallbacks(config_.callbacks);
    model_seed_ = DeriveSeed(env().graph_seed, env().name, -1, -1);
    if (!config_.resume.empty()) {
      resume_ = cnn::LoadResumeCheckpoint(config_, env().graph_seed, env().name);
      start_epoch_ = resume_->position.epochs_finished();
      model_seed_ = resume_->position.model_seed();
      metrics_ = resume_->metrics;
      callbacks_.restore(resume_->position);
    }
    if (world().distributed()) reducer_ = std::make_unique<cnn::ProcessGroupReducer>(world());
    progress_ = std::make_unique<cnn::TrainingProgress>(
        config_.progress != "off", config_.callbacks.early_stopping_patience > 0);
  }

  void OnTrainingBatch(const Message& msg, Emitter& out) {
    // After early stopping the sources end; batches already on their way are not trained.
    if (stopped_) return;
    if (waiting_for_validation_) {
      held_.push_back({msg.payload, msg.epoch, msg.index});
      return;
    }
    const Batch& batch = msg.as<Batch>();
    if (!trainer_) Initialise(batch);
    if (msg.epoch < start_epoch_) {  // finished before the checkpoint we resumed from
      if (skipped_epoch_ != msg.epoch) {
        skipped_epoch_ = msg.epoch;
        ConsoleLine("resume: skipping epoch " + std::to_string(msg.epoch + 1) + " (finished in " +
                    config_.resume + ")");
      }
      return;
    }
    cnn::CheckTrainingBatch(batch, *model_, normalization_);
    if (epoch_ && epoch_->epoch() != msg.epoch) {  // a source without end_epoch
      EndTrainingEpoch(out);
      if (stopped_) return;
      if (waiting_for_validation_) {
        held_.push_back({msg.payload, msg.epoch, msg.index});
        return;
      }
    }
    if (!epoch_) StartEpoch(msg.epoch);
    last_learning_rate_ = trainer_->learning_rate();
    Account(trainer_->step(batch.data.data(), batch.labels.data(), batch.size()));
  }

  void OnTrainingEpochEnd(int64_t epoch, Emitter& out) {
    if (stopped_) return;
    if (waiting_for_validation_) {
      held_.push_back({nullptr, epoch, 0});
      return;
    }
    if (epoch_ && epoch_->epoch() == epoch) EndTrainingEpoch(out);
  }

  // The validation set is complete: finish the epoch that waited for it, then train what arrived
  // meanwhile, in order.
  void OnValidationEnded(Emitter& out) {
    if (validation_.ended()) return;
    validation_.end();
    if (!waiting_for_validation_) return;
    waiting_for_validation_ = false;
    CompleteEpoch(out);
    std::deque<HeldTraining> held = std::move(held_);
    held_.clear();
    for (const HeldTraining& item : held) {
      if (item.payload) {
        OnTrainingBatch(Message{item.epoch, item.index, kBatchesPort, item.payload}, out);
      } else {
        OnTrainingEpochEnd(item.epoch, out);
      }
    }
  }

  void Close() {
    if (epoch_) {
      ConsoleLine("cnn_train: the stream ended during epoch " +
                  std::to_string(epoch_->epoch() + 1) + " after " +
                  std::to_string(epoch_->steps()) +
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

  void Initialise(const Batch& batch) {
    // Every rank holds a share of the global batch; the schedule counts global steps.
    const int64_t global_batch =
        reducer_ ? cnn::GlobalBatchSize(world(), batch.size()) : batch.size();
    cnn::SumOverRanks sum_over_ranks;
    if (reducer_)
      sum_over_ranks = [this](std::span<float> values) { world().allreduce_sum(values); };
    cnn::TrainingSetup setup =
        cnn::SetUpTraining(config_, model_seed_, batch, global_batch, sum_over_ranks);
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
      cnn::RestoreResume(*resume_, config_, setup.schedule, normalization_, *model_, *trainer_);
      resume_.reset();  // its tensors are in the model now
    }
    trainer_->set_lr_scale(callbacks_.lr_scale());
  }

  void StartEpoch(int64_t epoch) {
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
  void Account(const cnn::StepResult& result) {
    // Before anything of this step is counted: no snapshot, so no checkpoint, ever holds NaNs.
    cnn::CheckFiniteLoss(result.loss, epoch_->epoch(), config_.epochs, epoch_->steps() + 1,
                         last_learning_rate_);
    epoch_->add(result);
    progress_->update(epoch_->steps(), epoch_->samples(), epoch_->mean_loss());
  }

  // The epoch's training is done. Its snapshot follows once the validation set is complete.
  void EndTrainingEpoch(Emitter& out) {
    if (reducer_) FinishDataParallelEpoch();
    finished_row_ = epoch_->figures(model_->step(), last_learning_rate_);
    epoch_.reset();
    if (validation_connected_ && !validation_.ended()) {
      waiting_for_validation_ = true;
      return;
    }
    CompleteEpoch(out);
  }

  // Joins the updates of ranks that still had a batch, checks that every rank holds the same
  // weights, and says what the reduction cost.
  void FinishDataParallelEpoch() {
    const double joined_rate = trainer_->learning_rate();  // of the update it may join
    for (const cnn::StepResult& joined : trainer_->finish_epoch()) {
      last_learning_rate_ = joined_rate;
      Account(joined);
    }
    cnn::CheckWeightsAgree(world(), *model_, epoch_->epoch());
    ConsoleLine(reduction_meter_.epoch_line(*trainer_, world().size(), epoch_->seconds()));
  }

  // Validation, callbacks, snapshot.
  void CompleteEpoch(Emitter& out) {
    proto::EpochMetrics row = *finished_row_;
    finished_row_.reset();
    const int64_t epoch = row.epoch();
    const int64_t planned = std::max<int64_t>(config_.epochs, epoch + 1);
    if (validation_connected_ && validation_.size() > 0) {
      cnn::ValidateEpoch(*model_, validation_, normalization_, planned, row, validation_logits_);
    } else if (validation_connected_ && !warned_validation_empty_) {
      warned_validation_empty_ = true;
      ConsoleLine(
          "cnn_train: the \"validation\" input ended without samples; epochs carry no "
          "validation figures");
    }
    cnn::EpochDecision decision;
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
    row.set_elapsed_seconds(cnn::SecondsSinceProgramStart());
    metrics_.push_back(row);
    cnn::SnapshotParts parts{cnn::FiniteStateTensors(*model_, epoch),
                             Position(epoch),
                             normalization_,
                             metrics_,
                             env().graph_text,
                             env().graph_file,
                             dataset_,
                             config_.precision_note};
    out.emit(cnn::MakeTrainingSnapshot(*trainer_, std::move(parts)), epoch, 0);
    if (decision.stop) {
      stopped_ = true;
      held_.clear();
      ConsoleLine("cnn_train: " + decision.stop_reason + "; ending the training stream");
      request_finish();
    }
  }

  proto::TrainingPosition Position(int64_t epoch) const {
    proto::TrainingPosition position;
    position.set_epochs_finished(epoch + 1);
    position.set_planned_epochs(std::max<int64_t>(config_.epochs, epoch + 1));
    position.set_global_step(model_->step());
    position.set_model_seed(model_seed_);
    position.set_graph_seed(env().graph_seed);
    position.set_stage_name(env().name);
    position.set_steps_per_epoch(steps_per_epoch_);
    position.set_batch_size(batch_size_);
    position.set_epoch_size(epoch_size_);
    position.set_ranks(world().size());
    callbacks_.save(&position);
    return position;
  }

  cnn::ModelThread thread_;  // first: destroyed last
  cnn::TrainConfig config_;
  cnn::TrainingCallbacks callbacks_{cnn::CallbackOptions{}};
  uint64_t model_seed_ = 0;
  std::shared_ptr<const cnn::ModelSnapshot> resume_;  // until the first batch restores it
  int64_t start_epoch_ = 0;
  int64_t skipped_epoch_ = -1;
  std::unique_ptr<cnn::Model> model_;
  std::unique_ptr<cnn::Trainer> trainer_;
  std::unique_ptr<cnn::TrainingProgress> progress_;
  Normalization normalization_;
  std::shared_ptr<const DatasetInfo> dataset_;  // what the first batch said it came from
  int64_t batch_size_ = 0, epoch_size_ = 0, steps_per_epoch_ = 0;  // global, in every rank
  std::vector<proto::EpochMetrics> metrics_;
  std::optional<cnn::TrainingEpoch> epoch_;  // the epoch being trained
  double last_learning_rate_ = 0;
  bool warned_beyond_plan_ = false;

  // Data-parallel runs: the gradient sum over the ranks, and its cost so far.
  std::unique_ptr<cnn::ProcessGroupReducer> reducer_;
  cnn::ReductionMeter reduction_meter_;

  // Validation and callbacks.
  bool validation_connected_ = false;
  bool warned_validation_empty_ = false;
  cnn::LabelledSet validation_{"validation", "cnn_train"};  // the validation input, kept
  std::vector<float> validation_logits_;
  // An epoch whose training is done, waiting for the validation set, and the training messages
  // that arrived meanwhile.
  std::optional<proto::EpochMetrics> finished_row_;
  bool waiting_for_validation_ = false;
  std::deque<HeldTraining> held_;
  bool stopped_ = false;  // early stopping ended training
};

}  // namespace

std::unique_ptr<Stage> CreateCnnTrain() { return std::make_unique<CnnTrain>(); }

}  // namespace pipeline
