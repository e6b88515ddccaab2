// `evaluate`: measures every model snapshot on a test set in inference mode and attaches the
// figures. The test set arrives once, as a stream of batches, and is kept (it is bounded by the
// test set's size); models that arrive before it has ended wait for it.
#include <chrono>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "pipeline/payloads.h"
#include "pipeline/registry.h"
#include "stages/cnn/stages/classification_metrics.h"
#include "stages/cnn/stages/console.h"
#include "stages/cnn/stages/display_pixels.h"
#include "stages/cnn/stages/model_snapshot.h"
#include "stages/cnn/stages/model_thread.h"
#include "stages/stage_registrations.h"

namespace pipeline {
namespace {

constexpr int kModelPort = 0;
constexpr int kSamplesPort = 1;

struct PendingModel {
  std::shared_ptr<const cnn::ModelSnapshot> snapshot;
  int64_t epoch = 0;
  int64_t index = 0;
};

// "epoch 3/12: train loss 0.0412 acc 98.71% | test loss 0.0301 acc 99.12% | 14.2 s"
std::string EpochLine(const cnn::ModelSnapshot& snapshot, const proto::EpochMetrics& row) {
  char text[256];
  std::snprintf(text, sizeof(text),
                "epoch %lld/%lld: train loss %.4f acc %.2f%% | test loss %.4f acc %.2f%% | "
                "%.1f s (at %.1f s)",
                static_cast<long long>(row.epoch() + 1),
                static_cast<long long>(snapshot.position.planned_epochs()), row.train_loss(),
                100 * row.train_accuracy(), row.test_loss(), 100 * row.test_accuracy(),
                row.train_seconds() + row.test_seconds(), row.tested_at_seconds());
  return text;
}

class Evaluate : public Stage {
 public:
  // The model and its primitives live and die on thread_ (see model_thread.h).
  ~Evaluate() override {
    thread_.run([this] { model_.reset(); });
  }

  void open(const Params& params) override {
    mistakes_kept_ = static_cast<int>(params.get_int("mistakes"));
  }

  void process(const Message& msg, Emitter& out) override {
    if (msg.port == kSamplesPort) {
      AddTestBatch(msg);
      return;
    }
    msg.as<cnn::ModelSnapshot>();  // a clear error for any other payload type
    pending_.push_back(
        {std::static_pointer_cast<const cnn::ModelSnapshot>(msg.payload), msg.epoch, msg.index});
    if (test_ended_) EvaluatePending(out);
  }

  void end_epoch(int port, int64_t /*epoch*/, Emitter& out) override {
    if (port != kSamplesPort) return;
    test_ended_ = true;
    EvaluatePending(out);
  }

  void close(Emitter& out) override {
    test_ended_ = true;
    EvaluatePending(out);
  }

 private:
  void AddTestBatch(const Message& msg) {
    const Batch& batch = msg.as<Batch>();
    if (test_ended_ || (test_epoch_ >= 0 && msg.epoch != test_epoch_)) {
      if (!warned_extra_epochs_) {
        warned_extra_epochs_ = true;
        cnn::ConsoleLine(
            "evaluate: the test stream has more than one epoch; only the first is used");
      }
      return;
    }
    test_epoch_ = msg.epoch;
    if (batch.size() == 0) return;
    if (rows_ == 0) {
      rows_ = batch.rows;
      cols_ = batch.cols;
      channels_ = batch.channels;
      normalization_ = batch.normalization;
    } else if (batch.rows != rows_ || batch.cols != cols_ || batch.channels != channels_) {
      throw std::runtime_error("test batches change shape from " + std::to_string(rows_) + "x" +
                               std::to_string(cols_) + "x" + std::to_string(channels_));
    }
    for (size_t i = 0; i < batch.labels.size(); ++i) {
      if (batch.labels[i] < 0) {
        throw std::runtime_error("test sample " +
                                 (i < batch.sources.size() ? batch.sources[i] : std::string("?")) +
                                 " has no label; evaluate needs labelled test data");
      }
    }
    images_.insert(images_.end(), batch.data.begin(), batch.data.end());
    labels_.insert(labels_.end(), batch.labels.begin(), batch.labels.end());
    for (size_t i = 0; i < batch.labels.size(); ++i) {
      sources_.push_back(i < batch.sources.size()
                             ? batch.sources[i]
                             : "test sample " + std::to_string(sources_.size()));
    }
  }

  void EvaluatePending(Emitter& out) {
    while (!pending_.empty()) {
      PendingModel next = std::move(pending_.front());
      pending_.pop_front();
      thread_.run([&] { EvaluateOne(next, out); });
    }
  }

  void CheckCompatible(const cnn::ModelSnapshot& snapshot) const {
    if (labels_.empty()) {
      throw std::runtime_error("no test samples arrived on input \"samples\"");
    }
    const proto::InputShape& input = snapshot.spec.input();
    if (static_cast<int>(input.rows()) != rows_ || static_cast<int>(input.cols()) != cols_ ||
        static_cast<int>(input.channels()) != channels_) {
      throw std::runtime_error(
          "test images are " + std::to_string(rows_) + "x" + std::to_string(cols_) + "x" +
          std::to_string(channels_) + " but the model takes " + std::to_string(input.rows()) + "x" +
          std::to_string(input.cols()) + "x" + std::to_string(input.channels()));
    }
    const Normalization& trained = snapshot.normalization;
    if (trained.applied != normalization_.applied || trained.scale != normalization_.scale ||
        trained.mean != normalization_.mean || trained.std != normalization_.std) {
      throw std::runtime_error(
          "the test batches are normalized differently from the training batches (mean " +
          std::to_string(normalization_.mean) + " std " + std::to_string(normalization_.std) +
          " vs mean " + std::to_string(trained.mean) + " std " + std::to_string(trained.std) + ")");
    }
  }

  // One model is kept and reloaded while the architecture stays the same, so the compiled
  // primitives are reused from epoch to epoch.
  cnn::Model& ModelFor(const cnn::ModelSnapshot& snapshot) {
    const std::string spec = snapshot.spec.SerializeAsString();
    if (!model_ || spec != model_spec_) {
      model_.reset();
      model_ = cnn::RestoreModel(snapshot);
      model_spec_ = spec;
    } else {
      model_->load_state_tensors(*snapshot.tensors);
      model_->set_step(snapshot.position.global_step());
    }
    return *model_;
  }

  void EvaluateOne(const PendingModel& pending, Emitter& out) {
    const cnn::ModelSnapshot& in = *pending.snapshot;
    CheckCompatible(in);
    const auto start = std::chrono::steady_clock::now();
    cnn::Model& model = ModelFor(in);
    const auto n = static_cast<int64_t>(labels_.size());
    logits_.resize(static_cast<size_t>(n * model.classes()));
    model.predict_logits(images_.data(), n, logits_.data());

    auto result = std::make_shared<cnn::ModelSnapshot>(in);  // shares the tensors
    if (result->metrics.empty()) {  // a snapshot that did not come from cnn_train
      proto::EpochMetrics row;
      row.set_epoch(pending.epoch);
      result->metrics.push_back(row);
    }
    proto::EpochMetrics& row = result->metrics.back();
    cnn::FillTestMetrics(logits_.data(), labels_.data(), n, model.classes(), &row);
    row.set_test_seconds(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    row.set_tested_at_seconds(cnn::SecondsSinceProgramStart());
    // The trainer's history lacks the test figures of earlier epochs; this stage has them.
    tested_[row.epoch()] = row;
    for (proto::EpochMetrics& earlier : result->metrics) {
      const auto found = tested_.find(earlier.epoch());
      if (!earlier.has_test() && found != tested_.end()) earlier = found->second;
    }
    cnn::ConsoleLine(EpochLine(*result, row));

    auto metrics = std::make_shared<cnn::MetricsPayload>();
    metrics->metrics = row;
    metrics->model = result;
    metrics->mistakes = WorstMistakes(model.classes());
    out.emit(std::move(result), pending.epoch, pending.index, kModelPort);
    out.emit(std::move(metrics), pending.epoch, pending.index, 1);
  }

  // The most confident wrong answers in logits_, with their pictures for a report.
  std::vector<cnn::Mistake> WorstMistakes(int64_t classes) const {
    const auto n = static_cast<int64_t>(labels_.size());
    const int64_t elements = int64_t{rows_} * cols_ * channels_;
    std::vector<cnn::Mistake> mistakes;
    for (const cnn::WrongAnswer& wrong :
         cnn::MostConfidentMistakes(logits_.data(), labels_.data(), n, classes, mistakes_kept_)) {
      const auto sample = static_cast<size_t>(wrong.sample);
      cnn::Mistake mistake;
      mistake.image = cnn::DisplayPixels(images_.data() + wrong.sample * elements, rows_, cols_,
                                         channels_, normalization_);
      mistake.label = labels_[sample];
      mistake.predicted = wrong.predicted;
      mistake.confidence = wrong.confidence;
      mistake.source = sources_[sample];
      mistakes.push_back(std::move(mistake));
    }
    return mistakes;
  }

  cnn::ModelThread thread_;  // first: destroyed last
  std::deque<PendingModel> pending_;
  bool test_ended_ = false;
  int64_t test_epoch_ = -1;
  bool warned_extra_epochs_ = false;
  std::vector<float> images_;
  std::vector<int32_t> labels_;
  std::vector<std::string> sources_;
  int mistakes_kept_ = 36;
  int rows_ = 0, cols_ = 0, channels_ = 0;
  Normalization normalization_;
  std::unique_ptr<cnn::Model> model_;
  std::string model_spec_;
  std::vector<float> logits_;
  std::map<int64_t, proto::EpochMetrics> tested_;  // by epoch
};

}  // namespace

void RegisterEvaluate(Registry& registry) {
  StageInfo info;
  info.name = "evaluate";
  info.kind = StageKind::kTransform;
  info.concurrency = Concurrency::kSerial;
  info.doc =
      "Measures each model on a test set: loss, accuracy, per-class precision/recall/F1, "
      "confusion matrix";
  info.inputs = {
      {"model", "model", "snapshots to evaluate (one per training epoch)"},
      {"samples", "batch", "the labelled test set, streamed once and kept"},
  };
  info.outputs = {
      {"model", "model", "the same snapshot with this epoch's test metrics attached"},
      {"metrics", "metrics",
       "this epoch's training and test figures, the history so far and the worst mistakes"},
  };
  info.params = {
      IntParam("mistakes", 36, 0, 10000,
               "how many of the most confident wrong answers to pass on (for `report`)"),
  };
  info.create = [] { return std::make_unique<Evaluate>(); };
  registry.add(std::move(info));
}

}  // namespace pipeline
