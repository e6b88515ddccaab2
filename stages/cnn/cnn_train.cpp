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
#include "stages/cnn/cnn_registrations.h"
#include "stages/cnn/console.h"
#include "stages/cnn/data_parallel.h"
#include "stages/cnn/labelled_set.h"
#include "stages/cnn/model_snapshot.h"
#include "stages/cnn/model_thread.h"
#include "stages/cnn/train_config.h"
#include "stages/cnn/train_resume.h"
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
      throw std::invalid_argument(
          std::string(config_.callbacks.early_stopping_patience > 0 ? "early_stopping_patience"
                                                                    : "reduce_lr_patience") +
          " watches the validation loss, but the \"validation\" input is not connected: "
          "connect it to held-out batches (e.g. input: \"validation=val_batch\" from an "
          "idx_source with split validation) or set it to 0");
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
    proto::ModelSpec spec = config_.model;
    if (config_.input_from_data) {
      spec.mutable_input()->set_rows(static_cast<uint32_t>(batch.rows));
      spec.mutable_input()->set_cols(static_cast<uint32_t>(batch.cols));
      spec.mutable_input()->set_channels(static_cast<uint32_t>(batch.channels));
    }
    try {
      model_ = std::make_unique<cnn::Model>(spec, model_seed_);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(std::string("model: ") + e.what());
    }
    cnn::ResolveEpochs(config_, batch.planned_epochs);
    // Every rank holds a share of the global batch; the schedule counts global steps.
    batch_size_ = reducer_ ? cnn::GlobalBatchSize(world(), batch.size()) : batch.size();
    epoch_size_ = batch.epoch_size;
    steps_per_epoch_ = epoch_size_ > 0 ? (epoch_size_ + batch_size_ - 1) / batch_size_ : 0;
    const bool needs_epoch_size = config_.schedule != "constant" || config_.warmup_epochs > 0;
    if (steps_per_epoch_ == 0 && needs_epoch_size) {
      throw std::runtime_error("schedule " + config_.schedule +
                               " needs the epoch size, which the batches do not carry "
                               "(use schedule constant without warm-up)");
    }
    const proto::ScheduleSpec schedule = cnn::BuildSchedule(config_, steps_per_epoch_);
    try {
      trainer_ = std::make_unique<cnn::Trainer>(*model_, config_.optimizer, schedule);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(e.what());
    }
    trainer_->set_gradient_reducer(reducer_.get());
    normalization_ = batch.normalization;
    if (resume_) {
      cnn::RestoreResume(*resume_, config_, schedule, normalization_, *model_, *trainer_);
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
    last_learning_rate_ = trainer_->learning_rate();
    for (const cnn::StepResult& joined : trainer_->finish_epoch()) Account(joined);
    cnn::CheckWeightsAgree(world(), *model_, epoch_->epoch());
    const double reduce = trainer_->reduce_seconds() - reduce_seconds_before_;
    const int64_t calls = trainer_->reductions() - reductions_before_;
    reduce_seconds_before_ = trainer_->reduce_seconds();
    reductions_before_ = trainer_->reductions();
    char line[200];
    std::snprintf(line, sizeof(line),
                  "cnn_train: %d ranks: allreduce %.2f ms per step (%.1f%% of the epoch's %.1f s, "
                  "waiting for the slowest rank included)",
                  world().size(), calls > 0 ? 1e3 * reduce / static_cast<double>(calls) : 0.0,
                  100 * reduce / std::max(epoch_->seconds(), 1e-9), epoch_->seconds());
    ConsoleLine(line);
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
                             env().graph_file};
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
  int64_t batch_size_ = 0, epoch_size_ = 0, steps_per_epoch_ = 0;  // global, in every rank
  std::vector<proto::EpochMetrics> metrics_;
  std::optional<cnn::TrainingEpoch> epoch_;  // the epoch being trained
  double last_learning_rate_ = 0;
  bool warned_beyond_plan_ = false;

  // Data-parallel runs: the gradient sum over the ranks, and its cost so far.
  std::unique_ptr<cnn::ProcessGroupReducer> reducer_;
  double reduce_seconds_before_ = 0;
  int64_t reductions_before_ = 0;

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

void RegisterCnnTrain(Registry& registry) {
  StageInfo info;
  info.name = "cnn_train";
  info.kind = StageKind::kTransform;
  info.concurrency = Concurrency::kSerial;
  info.doc =
      "Trains a CNN (oneDNN, fp32 or bf16) on labelled batches; emits a model snapshot "
      "after every epoch";
  info.inputs = {
      {"batches", "batch", "labelled training batches, normalized (CV_32F)"},
      {"validation", "batch",
       "optional held-out labelled batches (e.g. idx_source split validation), streamed once "
       "and kept: measured after every epoch, for the callbacks and the metrics",
       /*optional=*/true},
  };
  info.outputs = {{"model", "model",
                   "the model after each epoch: weights, optimizer state, position, metrics"}};
  info.params = cnn::TrainParams();
  info.create = [] { return std::make_unique<CnnTrain>(); };
  registry.add(std::move(info));
}

}  // namespace pipeline
