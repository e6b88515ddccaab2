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
#include <google/protobuf/util/message_differencer.h>

#include <cmath>
#include <cstdio>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "nn/callbacks.h"
#include "nn/loss.h"
#include "nn/model_spec.h"
#include "nn/trainer.h"
#include "pipeline/payloads.h"
#include "pipeline/registry.h"
#include "stages/cnn/checkpoint.h"
#include "stages/cnn/cnn_registrations.h"
#include "stages/cnn/console.h"
#include "stages/cnn/labelled_set.h"
#include "stages/cnn/model_snapshot.h"
#include "stages/cnn/model_thread.h"
#include "stages/cnn/train_config.h"
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

// Empty when equal, else the differences in protobuf's own words.
std::string Differences(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  std::string report;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&report);
  return differencer.Compare(a, b) ? "" : report;
}

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
    if (!config_.resume.empty()) OpenResume();
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
    CheckBatch(batch);
    if (epoch_ && *epoch_ != msg.epoch) {  // a source without end_epoch
      EndTrainingEpoch(*epoch_, out);
      if (stopped_) return;
      if (waiting_for_validation_) {
        held_.push_back({msg.payload, msg.epoch, msg.index});
        return;
      }
    }
    if (!epoch_) StartEpoch(msg.epoch);
    Train(batch, msg.epoch);
  }

  void OnTrainingEpochEnd(int64_t epoch, Emitter& out) {
    if (stopped_) return;
    if (waiting_for_validation_) {
      held_.push_back({nullptr, epoch, 0});
      return;
    }
    if (epoch_ && *epoch_ == epoch) EndTrainingEpoch(epoch, out);
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
      ConsoleLine("cnn_train: the stream ended during epoch " + std::to_string(*epoch_ + 1) +
                  " after " + std::to_string(epoch_steps_) +
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

  void OpenResume() {
    resume_ = cnn::LoadCheckpoint(config_.resume);
    const cnn::ModelSnapshot& from = *resume_;
    if (!from.optimizer_state) {
      throw std::runtime_error("resume: checkpoint " + config_.resume +
                               " holds no optimizer state");
    }
    if (config_.input_from_data) *config_.model.mutable_input() = from.spec.input();
    if (const std::string diff = Differences(from.spec, config_.model); !diff.empty()) {
      throw std::runtime_error("resume: checkpoint " + config_.resume +
                               " holds another model than this stage trains:\n" + diff);
    }
    if (from.optimizer.kind_case() != config_.optimizer.kind_case()) {
      throw std::runtime_error(
          "resume: checkpoint " + config_.resume +
          " was trained with another optimizer: " + from.optimizer.ShortDebugString());
    }
    start_epoch_ = from.position.epochs_finished();
    model_seed_ = from.position.model_seed();
    metrics_ = from.metrics;
    callbacks_.restore(from.position);
    if (from.position.graph_seed() != env().graph_seed ||
        from.position.stage_name() != env().name) {
      ConsoleLine("resume: " + config_.resume + " was trained with graph seed " +
                  std::to_string(from.position.graph_seed()) + " by stage \"" +
                  from.position.stage_name() +
                  "\"; data order and augmentation will differ from that run");
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
    if (const std::string note = cnn::ResolveEpochs(config_, batch.planned_epochs); !note.empty()) {
      ConsoleLine(note);
    }
    batch_size_ = batch.size();
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
    normalization_ = batch.normalization;
    if (batch.dataset) dataset_ = batch.dataset;
    if (resume_) RestoreFromResume(schedule);
    trainer_->set_lr_scale(callbacks_.lr_scale());
  }

  void RestoreFromResume(const proto::ScheduleSpec& schedule) {
    try {
      model_->load_state_tensors(*resume_->tensors);
      trainer_->optimizer().load_state(*resume_->optimizer_state);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error("resume: checkpoint " + config_.resume + ": " + e.what());
    }
    model_->set_step(resume_->position.global_step());
    if (!Differences(resume_->optimizer, config_.optimizer).empty() ||
        !Differences(resume_->schedule, schedule).empty()) {
      ConsoleLine("resume: the optimizer or schedule differs from " + config_.resume +
                  "'s; training continues, but not as the original run would have");
    }
    if (resume_->normalization != normalization_) {
      throw std::runtime_error("resume: the batches are normalized differently from " +
                               config_.resume + "'s training data");
    }
    resume_.reset();  // its tensors are in the model now
  }

  void CheckBatch(const Batch& batch) const {
    const proto::InputShape& input = model_->spec().input();
    if (batch.rows != static_cast<int>(input.rows()) ||
        batch.cols != static_cast<int>(input.cols()) ||
        batch.channels != static_cast<int>(input.channels())) {
      throw std::runtime_error("batch of " + ShapeText(batch.rows, batch.cols, batch.channels) +
                               " images, but the model takes " +
                               ShapeText(static_cast<int>(input.rows()),
                                         static_cast<int>(input.cols()),
                                         static_cast<int>(input.channels())));
    }
    if (batch.size() == 0) throw std::runtime_error("empty batch");
    if (static_cast<int64_t>(batch.data.size()) != batch.size() * batch.sample_elements()) {
      throw std::runtime_error("batch holds " + std::to_string(batch.data.size()) + " floats for " +
                               std::to_string(batch.size()) + " samples");
    }
    for (size_t i = 0; i < batch.labels.size(); ++i) {
      if (batch.labels[i] < 0 || batch.labels[i] >= model_->classes()) {
        const std::string source = i < batch.sources.size() ? batch.sources[i] : "?";
        throw std::runtime_error("sample " + source + " has label " +
                                 std::to_string(batch.labels[i]) + "; training needs labels 0.." +
                                 std::to_string(model_->classes() - 1));
      }
    }
    if (batch.normalization != normalization_) {
      throw std::runtime_error("batch normalized differently from the first batch");
    }
  }

  void StartEpoch(int64_t epoch) {
    epoch_ = epoch;
    epoch_steps_ = 0;
    epoch_samples_ = 0;
    epoch_correct_ = 0;
    epoch_loss_sum_ = 0;
    epoch_start_ = std::chrono::steady_clock::now();
    if (config_.epochs > 0 && epoch >= config_.epochs && !warned_beyond_plan_) {
      warned_beyond_plan_ = true;
      ConsoleLine("cnn_train: epoch " + std::to_string(epoch + 1) + " is beyond the " +
                  std::to_string(config_.epochs) +
                  " planned (cnn_train epochs); the schedule stays at its final rate");
    }
    progress_->start_epoch(epoch, std::max<int64_t>(config_.epochs, epoch + 1), steps_per_epoch_);
  }

  void Train(const Batch& batch, int64_t epoch) {
    last_learning_rate_ = trainer_->learning_rate();
    const cnn::StepResult result =
        trainer_->step(batch.data.data(), batch.labels.data(), batch.size());
    // Before anything of this step is counted: no snapshot, so no checkpoint, ever holds NaNs.
    cnn::CheckFiniteLoss(result.loss, epoch, config_.epochs, epoch_steps_ + 1, last_learning_rate_);
    ++epoch_steps_;
    epoch_samples_ += result.count;
    epoch_correct_ += result.correct;
    epoch_loss_sum_ += result.loss * static_cast<double>(result.count);
    progress_->update(epoch_steps_, epoch_samples_,
                      epoch_loss_sum_ / static_cast<double>(epoch_samples_));
  }

  // The epoch's training is done. Its snapshot follows once the validation set is complete.
  void EndTrainingEpoch(int64_t epoch, Emitter& out) {
    finished_row_ = TrainingFigures(epoch);
    epoch_.reset();
    if (validation_connected_ && !validation_.ended()) {
      waiting_for_validation_ = true;
      return;
    }
    CompleteEpoch(out);
  }

  proto::EpochMetrics TrainingFigures(int64_t epoch) const {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start_).count();
    proto::EpochMetrics row;
    row.set_epoch(epoch);
    row.set_global_step(model_->step());
    row.set_train_samples(epoch_samples_);
    if (epoch_samples_ > 0) {
      row.set_train_loss(epoch_loss_sum_ / static_cast<double>(epoch_samples_));
      row.set_train_accuracy(static_cast<double>(epoch_correct_) /
                             static_cast<double>(epoch_samples_));
    }
    row.set_train_seconds(seconds);
    row.set_images_per_second(seconds > 0 ? static_cast<double>(epoch_samples_) / seconds : 0);
    row.set_learning_rate(last_learning_rate_);
    return row;
  }

  // Validation, callbacks, snapshot.
  void CompleteEpoch(Emitter& out) {
    proto::EpochMetrics row = *finished_row_;
    finished_row_.reset();
    const int64_t epoch = row.epoch();
    if (validation_connected_) Validate(row);
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
    out.emit(MakeSnapshot(epoch, FiniteStateTensors(epoch)), epoch, 0);
    if (decision.stop) {
      stopped_ = true;
      held_.clear();
      ConsoleLine("cnn_train: " + decision.stop_reason + "; ending the training stream");
      request_finish();
    }
  }

  // The model in inference mode on the validation set: plain cross-entropy (no label
  // smoothing, as evaluate's test loss) and accuracy.
  void Validate(proto::EpochMetrics& row) {
    const auto n = static_cast<int64_t>(validation_.labels.size());
    if (n == 0) {
      if (!warned_validation_empty_) {
        warned_validation_empty_ = true;
        ConsoleLine(
            "cnn_train: the \"validation\" input ended without samples; epochs carry no "
            "validation figures");
      }
      return;
    }
    const proto::InputShape& input = model_->spec().input();
    if (validation_.rows != static_cast<int>(input.rows()) ||
        validation_.cols != static_cast<int>(input.cols()) ||
        validation_.channels != static_cast<int>(input.channels())) {
      throw std::runtime_error(
          "validation images are " + validation_.shape_text() + " but the model takes " +
          ShapeText(static_cast<int>(input.rows()), static_cast<int>(input.cols()),
                    static_cast<int>(input.channels())));
    }
    if (validation_.normalization != normalization_) {
      throw std::runtime_error(
          "the validation batches are normalized differently from the training batches (mean " +
          std::to_string(validation_.normalization.mean) + " std " +
          std::to_string(validation_.normalization.std) + " vs mean " +
          std::to_string(normalization_.mean) + " std " + std::to_string(normalization_.std) + ")");
    }
    const int64_t classes = model_->classes();
    for (int64_t i = 0; i < n; ++i) {
      if (validation_.labels[static_cast<size_t>(i)] >= classes) {
        throw std::runtime_error("validation sample " +
                                 validation_.sources[static_cast<size_t>(i)] + " has label " +
                                 std::to_string(validation_.labels[static_cast<size_t>(i)]) +
                                 "; the model has classes 0.." + std::to_string(classes - 1));
      }
    }
    const auto start = std::chrono::steady_clock::now();
    validation_logits_.resize(static_cast<size_t>(n * classes));
    model_->predict_logits(validation_.images.data(), n, validation_logits_.data());
    const cnn::StepResult result = cnn::softmax_cross_entropy(
        validation_logits_.data(), validation_.labels.data(), n, classes, 0.0f, nullptr);
    if (!std::isfinite(result.loss)) {
      throw std::runtime_error("the validation loss after epoch " +
                               std::to_string(row.epoch() + 1) +
                               " is not finite; the weights have diverged (lower lr)");
    }
    row.set_has_validation(true);
    row.set_validation_loss(result.loss);
    row.set_validation_accuracy(static_cast<double>(result.correct) / static_cast<double>(n));
    row.set_validation_samples(n);
    char line[160];
    std::snprintf(line, sizeof(line),
                  "cnn_train: epoch %lld/%lld validation loss %.4f acc %.2f%% (%lld samples, "
                  "%.1f s)",
                  static_cast<long long>(row.epoch() + 1),
                  static_cast<long long>(std::max<int64_t>(config_.epochs, row.epoch() + 1)),
                  result.loss, 100.0 * row.validation_accuracy(), static_cast<long long>(n),
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    ConsoleLine(line);
  }

  // The model's tensors, refused when any value is NaN or infinite: the loss alone can miss a
  // divergence, since ReLU turns NaN activations into zeros (a NaN pixel leaves the loss finite
  // but makes the first layer's weights NaN). No snapshot, so no checkpoint, ever holds NaNs.
  std::vector<cnn::Tensor> FiniteStateTensors(int64_t epoch) const {
    std::vector<cnn::Tensor> tensors = model_->state_tensors();
    for (const cnn::Tensor& tensor : tensors) {
      for (float value : tensor.values) {
        if (std::isfinite(value)) continue;
        throw std::runtime_error(
            "training stopped: after epoch " + std::to_string(epoch + 1) + " the weights of " +
            tensor.name + " are " + (std::isnan(value) ? "NaN" : "infinite") +
            " (the loss stayed finite; ReLU hides NaN activations); nothing of this epoch is "
            "kept and checkpoints of earlier epochs stay as they were. Look for NaN or Inf "
            "values in the input, or lower lr");
      }
    }
    return tensors;
  }

  std::shared_ptr<const cnn::ModelSnapshot> MakeSnapshot(int64_t epoch,
                                                         std::vector<cnn::Tensor> tensors) const {
    auto snapshot = std::make_shared<cnn::ModelSnapshot>();
    snapshot->spec = model_->spec();
    snapshot->tensors = std::make_shared<const std::vector<cnn::Tensor>>(std::move(tensors));
    snapshot->optimizer = trainer_->optimizer().spec();
    snapshot->schedule = trainer_->schedule().spec();
    snapshot->optimizer_state =
        std::make_shared<const cnn::OptimizerState>(trainer_->optimizer().state());
    proto::TrainingPosition& position = snapshot->position;
    position.set_epochs_finished(epoch + 1);
    position.set_planned_epochs(std::max<int64_t>(config_.epochs, epoch + 1));
    position.set_global_step(model_->step());
    position.set_model_seed(model_seed_);
    position.set_graph_seed(env().graph_seed);
    position.set_stage_name(env().name);
    position.set_steps_per_epoch(steps_per_epoch_);
    position.set_batch_size(batch_size_);
    position.set_epoch_size(epoch_size_);
    callbacks_.save(&position);
    snapshot->normalization = normalization_;
    if (dataset_) {
      snapshot->dataset_name = dataset_->name;
      snapshot->class_names = dataset_->class_names;
    }
    snapshot->metrics = metrics_;
    snapshot->graph_text = env().graph_text;
    snapshot->graph_file = env().graph_file;
    return snapshot;
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
  int64_t batch_size_ = 0, epoch_size_ = 0, steps_per_epoch_ = 0;
  std::vector<proto::EpochMetrics> metrics_;

  std::optional<int64_t> epoch_;  // the epoch being trained
  int64_t epoch_steps_ = 0, epoch_samples_ = 0, epoch_correct_ = 0;
  double epoch_loss_sum_ = 0;
  double last_learning_rate_ = 0;
  std::chrono::steady_clock::time_point epoch_start_;
  bool warned_beyond_plan_ = false;

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
