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
#include "stages/cnn/classification_metrics.h"
#include "stages/cnn/cnn_registrations.h"
#include "stages/cnn/console.h"
#include "stages/cnn/display_pixels.h"
#include "stages/cnn/inference_precision.h"
#include "stages/cnn/labelled_set.h"
#include "stages/cnn/model_snapshot.h"
#include "stages/cnn/model_thread.h"

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
    thread_.run([this] {
      model_.reset();
      int8_.reset();
    });
  }

  void open(const Params& params) override {
    mistakes_kept_ = static_cast<int>(params.get_int("mistakes"));
    epoch_lines_ = params.get_bool("epoch_lines");
    precision_ = params.get_string("precision");
    calibration_ = params.get_string("calibration");
    calibration_images_ = params.get_int("calibration_images");
  }

  void process(const Message& msg, Emitter& out) override {
    // Under mpirun every rank holds the same model; rank 0 alone measures it on the whole test
    // set (the others would only repeat its work), and its outputs feed files only rank 0 writes.
    if (!world().is_root()) return;
    if (msg.port == kSamplesPort) {
      test_.add(msg.as<Batch>(), msg.epoch);
      return;
    }
    msg.as<cnn::ModelSnapshot>();  // a clear error for any other payload type
    pending_.push_back(
        {std::static_pointer_cast<const cnn::ModelSnapshot>(msg.payload), msg.epoch, msg.index});
    if (test_.ended()) EvaluatePending(out);
  }

  void end_epoch(int port, int64_t /*epoch*/, Emitter& out) override {
    if (port != kSamplesPort) return;
    test_.end();
    EvaluatePending(out);
  }

  void close(Emitter& out) override {
    test_.end();
    EvaluatePending(out);
  }

 private:
  void EvaluatePending(Emitter& out) {
    while (!pending_.empty()) {
      PendingModel next = std::move(pending_.front());
      pending_.pop_front();
      thread_.run([&] { EvaluateOne(next, out); });
    }
  }

  void CheckCompatible(const cnn::ModelSnapshot& snapshot) const {
    if (test_.labels.empty()) {
      throw std::runtime_error("no test samples arrived on input \"samples\"");
    }
    const proto::InputShape& input = snapshot.spec.input();
    if (static_cast<int>(input.rows()) != test_.rows ||
        static_cast<int>(input.cols()) != test_.cols ||
        static_cast<int>(input.channels()) != test_.channels) {
      throw std::runtime_error("test images are " + test_.shape_text() + " but the model takes " +
                               ShapeText(static_cast<int>(input.rows()),
                                         static_cast<int>(input.cols()),
                                         static_cast<int>(input.channels())));
    }
    const Normalization& trained = snapshot.normalization;
    if (trained != test_.normalization) {
      throw std::runtime_error(
          "the test batches are normalized differently from the training batches (mean " +
          std::to_string(test_.normalization.mean) + " std " +
          std::to_string(test_.normalization.std) + " vs mean " + std::to_string(trained.mean) +
          " std " + std::to_string(trained.std) + ")");
    }
  }

  // One model is kept and reloaded while the architecture stays the same, so the compiled
  // primitives are reused from epoch to epoch.
  cnn::Model& ModelFor(const cnn::ModelSnapshot& snapshot) {
    const std::string spec = snapshot.spec.SerializeAsString();
    if (!model_ || spec != model_spec_) {
      model_.reset();
      model_ = cnn::RestoreModelAs(snapshot, precision_);
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
    const auto n = static_cast<int64_t>(test_.labels.size());
    int64_t classes = 0;
    if (precision_ == "int8") {
      // Each snapshot has its own weights, hence its own scales: quantized afresh.
      int8_.reset();
      int8_ = cnn::OpenInt8Model(in, "the model of epoch " + std::to_string(pending.epoch + 1),
                                 calibration_, calibration_images_);
      classes = int8_->classes();
      logits_.resize(static_cast<size_t>(n * classes));
      int8_->predict_logits(test_.images.data(), n, logits_.data());
    } else {
      cnn::Model& model = ModelFor(in);
      classes = model.classes();
      logits_.resize(static_cast<size_t>(n * classes));
      model.predict_logits(test_.images.data(), n, logits_.data());
    }

    auto result = std::make_shared<cnn::ModelSnapshot>(in);  // shares the tensors
    if (result->metrics.empty()) {  // a snapshot that did not come from cnn_train
      proto::EpochMetrics row;
      row.set_epoch(pending.epoch);
      result->metrics.push_back(row);
    }
    proto::EpochMetrics& row = result->metrics.back();
    cnn::FillTestMetrics(logits_.data(), test_.labels.data(), n, classes, &row);
    row.set_test_seconds(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    row.set_tested_at_seconds(cnn::SecondsSinceProgramStart());
    // The trainer's history lacks the test figures of earlier epochs; this stage has them.
    tested_[row.epoch()] = row;
    for (proto::EpochMetrics& earlier : result->metrics) {
      const auto found = tested_.find(earlier.epoch());
      if (!earlier.has_test() && found != tested_.end()) earlier = found->second;
    }
    if (epoch_lines_) cnn::ConsoleLine(EpochLine(*result, row));

    auto metrics = std::make_shared<cnn::MetricsPayload>();
    metrics->metrics = row;
    metrics->model = result;
    metrics->mistakes = WorstMistakes(classes);
    out.emit(std::move(result), pending.epoch, pending.index, kModelPort);
    out.emit(std::move(metrics), pending.epoch, pending.index, 1);
  }

  // The most confident wrong answers in logits_, with their pictures for a report.
  std::vector<cnn::Mistake> WorstMistakes(int64_t classes) const {
    const auto n = static_cast<int64_t>(test_.labels.size());
    const int64_t elements = int64_t{test_.rows} * test_.cols * test_.channels;
    std::vector<cnn::Mistake> mistakes;
    for (const cnn::WrongAnswer& wrong : cnn::MostConfidentMistakes(
             logits_.data(), test_.labels.data(), n, classes, mistakes_kept_)) {
      const auto sample = static_cast<size_t>(wrong.sample);
      cnn::Mistake mistake;
      mistake.image = cnn::DisplayPixels(test_.images.data() + wrong.sample * elements, test_.rows,
                                         test_.cols, test_.channels, test_.normalization);
      mistake.label = test_.labels[sample];
      mistake.predicted = wrong.predicted;
      mistake.confidence = wrong.confidence;
      mistake.source = test_.sources[sample];
      mistakes.push_back(std::move(mistake));
    }
    return mistakes;
  }

  cnn::ModelThread thread_;  // first: destroyed last
  std::deque<PendingModel> pending_;
  int mistakes_kept_ = 36;
  bool epoch_lines_ = true;
  cnn::LabelledSet test_{"test", "evaluate"};  // the samples input, kept
  std::unique_ptr<cnn::Model> model_;
  std::unique_ptr<cnn::int8::QuantizedModel> int8_;  // instead of model_ for precision int8
  std::string model_spec_;
  std::string precision_ = "auto";
  std::string calibration_;
  int64_t calibration_images_ = cnn::kDefaultCalibrationImages;
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
      BoolParam("epoch_lines", true,
                "print an epoch line (train and test figures) per model; off where the models "
                "come from a checkpoint, whose training figures are history"),
  };
  for (ParamSpec& param : cnn::InferencePrecisionParams(
           "auto: the model's own (fp32 or bf16; fp32 where the CPU has no native bf16); int8: "
           "quantized with the checkpoint's calibration (`pipeline quantize`) or one made from "
           "`calibration`")) {
    info.params.push_back(std::move(param));
  }
  info.create = [] { return std::make_unique<Evaluate>(); };
  registry.add(std::move(info));
}

}  // namespace pipeline
