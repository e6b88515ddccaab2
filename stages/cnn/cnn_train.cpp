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
// This file is the stage adapter: ports, the model thread, and holding training back until the
// validation set is complete. The training itself, epoch by epoch, is TrainingRun's
// (training_run.h).
#include "stages/cnn/cnn_train.h"

#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "pipeline/payloads.h"
#include "stages/cnn/labelled_set.h"
#include "stages/cnn/model_thread.h"
#include "stages/cnn/train_config.h"
#include "stages/cnn/training_run.h"

namespace pipeline {
namespace {

constexpr int kBatchesPort = 0;
constexpr int kValidationPort = 1;

// A training message that arrived while an epoch's end waited for the validation set.
struct HeldTraining {
  std::shared_ptr<const Payload> payload;  // null for an end of epoch
  int64_t epoch = 0;
  int64_t index = 0;
};

// The callbacks watch the validation loss: refuses them without a validation input.
void CheckCallbacksHaveValidation(const cnn::CallbackOptions& callbacks, bool connected) {
  if (!callbacks.any() || connected) return;
  std::string which;
  if (callbacks.early_stopping_patience > 0) which = "early_stopping_patience";
  if (callbacks.reduce_lr_patience > 0) {
    which += std::string(which.empty() ? "" : " and ") + "reduce_lr_patience";
  }
  throw std::invalid_argument(
      which +
      " watch the validation loss, but the \"validation\" input is not connected: "
      "connect it to held-out batches (e.g. input: \"validation=val_batch\" from an "
      "idx_source with split validation) or set them to 0");
}

class CnnTrain : public Stage {
 public:
  // The model and its primitives live and die on thread_ (see model_thread.h).
  ~CnnTrain() override {
    thread_.run([this] { run_.reset(); });
  }

  void open(const Params& params) override {
    thread_.run([&] {
      cnn::TrainConfig config = cnn::ParseTrainConfig(params);
      validation_connected_ = input_connected(kValidationPort);
      CheckCallbacksHaveValidation(config.callbacks, validation_connected_);
      run_ = std::make_unique<cnn::TrainingRun>(std::move(config), env(), world());
    });
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
      if (run_) run_->Close();
    });
  }

 private:
  void OnTrainingBatch(const Message& msg, Emitter& out) {
    // After early stopping the sources end; batches already on their way are not trained.
    if (run_->stopped()) return;
    if (waiting_row_) {
      held_.push_back({msg.payload, msg.epoch, msg.index});
      return;
    }
    const Batch& batch = msg.as<Batch>();
    if (!run_->Accepts(batch, msg.epoch)) return;
    const std::optional<int64_t> current = run_->current_epoch();
    if (current && *current != msg.epoch) {  // a source without end_epoch
      EndTrainingEpoch(out);
      if (run_->stopped()) return;
      if (waiting_row_) {
        held_.push_back({msg.payload, msg.epoch, msg.index});
        return;
      }
    }
    run_->Step(batch, msg.epoch);
  }

  void OnTrainingEpochEnd(int64_t epoch, Emitter& out) {
    if (run_->stopped()) return;
    if (waiting_row_) {
      held_.push_back({nullptr, epoch, 0});
      return;
    }
    if (run_->current_epoch() == epoch) EndTrainingEpoch(out);
  }

  // The epoch's training is done. Its snapshot follows once the validation set is complete.
  void EndTrainingEpoch(Emitter& out) {
    proto::EpochMetrics row = run_->EndEpoch();
    if (validation_connected_ && !validation_.ended()) {
      waiting_row_ = std::move(row);
      return;
    }
    CompleteEpoch(std::move(row), out);
  }

  // The validation set is complete: finish the epoch that waited for it, then train what arrived
  // meanwhile, in order.
  void OnValidationEnded(Emitter& out) {
    if (validation_.ended()) return;
    validation_.end();
    if (!waiting_row_) return;
    proto::EpochMetrics row = std::move(*waiting_row_);
    waiting_row_.reset();
    CompleteEpoch(std::move(row), out);
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

  void CompleteEpoch(proto::EpochMetrics row, Emitter& out) {
    run_->CompleteEpoch(std::move(row), validation_connected_ ? &validation_ : nullptr, out);
    if (run_->stopped()) {
      held_.clear();
      request_finish();
    }
  }

  cnn::ModelThread thread_;  // first: destroyed last
  std::unique_ptr<cnn::TrainingRun> run_;
  bool validation_connected_ = false;
  cnn::LabelledSet validation_{"validation", "cnn_train"};  // the validation input, kept
  // An epoch whose training is done, waiting for the validation set, and the training messages
  // that arrived meanwhile.
  std::optional<proto::EpochMetrics> waiting_row_;
  std::deque<HeldTraining> held_;
};

}  // namespace

std::unique_ptr<Stage> CreateCnnTrain() { return std::make_unique<CnnTrain>(); }

}  // namespace pipeline
