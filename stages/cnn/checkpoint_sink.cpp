// `checkpoint`: writes each model snapshot to DIR/latest.ckpt, and to DIR/best.ckpt when it is
// the best so far. "Best" is judged by the `metric` parameter over the snapshot's own metrics
// history, which a resumed run carries over, so resuming keeps the same notion of best without
// reading old files. With `onnx` each file gets an ONNX export beside it (latest.onnx, best.onnx).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "pipeline/registry.h"
#include "pipeline/temp_files.h"
#include "stages/cnn/checkpoint.h"
#include "stages/cnn/cnn_registrations.h"
#include "stages/cnn/console.h"
#include "stages/cnn/model_snapshot.h"
#include "stages/cnn/onnx_snapshot.h"

namespace pipeline {
namespace {

// The row's value of `metric` with larger = better, or nothing when the row lacks it.
std::optional<double> Score(const proto::EpochMetrics& row, const std::string& metric) {
  if (metric == "test_accuracy") {
    return row.has_test() ? std::optional<double>(row.test_accuracy()) : std::nullopt;
  }
  if (metric == "test_loss") {
    return row.has_test() ? std::optional<double>(-row.test_loss()) : std::nullopt;
  }
  if (metric == "validation_accuracy") {
    return row.has_validation() ? std::optional<double>(row.validation_accuracy()) : std::nullopt;
  }
  if (metric == "validation_loss") {
    return row.has_validation() ? std::optional<double>(-row.validation_loss()) : std::nullopt;
  }
  if (metric == "train_accuracy") return row.train_accuracy();
  return -row.train_loss();  // train_loss
}

bool IsLoss(const std::string& metric) { return metric.size() > 5 && metric.ends_with("_loss"); }

class CheckpointSink : public Stage {
 public:
  void open(const Params& params) override {
    dir_ = params.get_string("dir");
    keep_best_ = params.get_bool("keep_best");
    metric_ = params.get_string("metric");
    onnx_ = params.get_bool("onnx");
    if (!world().is_root()) return;  // rank 0 alone writes a distributed run's files
    PrepareOutputFolder(dir_, "checkpoint");
  }

  void process(const Message& msg, Emitter& /*out*/) override {
    if (!world().is_root()) return;
    const auto& snapshot = msg.as<cnn::ModelSnapshot>();
    const std::string latest = (std::filesystem::path(dir_) / "latest.ckpt").string();
    cnn::SaveCheckpoint(snapshot, latest);
    if (onnx_) Export(snapshot, "latest");
    latest_epoch_ = snapshot.position.epochs_finished();
    if (keep_best_ && IsBest(snapshot)) {
      cnn::SaveCheckpoint(snapshot, (std::filesystem::path(dir_) / "best.ckpt").string());
      if (onnx_) Export(snapshot, "best");
      best_epoch_ = snapshot.position.epochs_finished();
      best_score_ = Score(snapshot.metrics.back(), metric_).value_or(0);
    }
  }

  void close(Emitter& /*out*/) override {
    if (latest_epoch_ == 0) return;
    std::string line =
        "checkpoint: " + dir_ + "/latest.ckpt (epoch " + std::to_string(latest_epoch_) + ")";
    if (best_epoch_ > 0) {
      char score[64];
      const bool negated = IsLoss(metric_);
      std::snprintf(score, sizeof(score), "%s %.4f", metric_.c_str(),
                    negated ? -best_score_ : best_score_);
      line += ", best.ckpt (epoch " + std::to_string(best_epoch_) + ", " + score + ")";
    }
    cnn::ConsoleLine(line);
  }

 private:
  void Export(const cnn::ModelSnapshot& snapshot, const std::string& stem) {
    cnn::ExportSnapshotOnnx(snapshot, (std::filesystem::path(dir_) / (stem + ".onnx")).string(),
                            stem + ".ckpt");
  }

  // Better than every earlier epoch in the snapshot's history (ties keep the earlier one).
  bool IsBest(const cnn::ModelSnapshot& snapshot) {
    if (snapshot.metrics.empty()) return false;
    const std::optional<double> current = Score(snapshot.metrics.back(), metric_);
    if (!current) {
      if (!warned_missing_) {
        warned_missing_ = true;
        const bool validation = metric_.starts_with("validation_");
        cnn::ConsoleLine("checkpoint: the snapshots carry no " + metric_ +
                         (validation ? " (is cnn_train's \"validation\" input connected?)"
                                     : " (is `evaluate` upstream?)") +
                         "; best.ckpt is not written");
      }
      return false;
    }
    for (size_t i = 0; i + 1 < snapshot.metrics.size(); ++i) {
      const std::optional<double> earlier = Score(snapshot.metrics[i], metric_);
      if (earlier && *earlier >= *current) return false;
    }
    return true;
  }

  std::string dir_;
  bool keep_best_ = true;
  bool onnx_ = false;
  std::string metric_;
  bool warned_missing_ = false;
  int64_t latest_epoch_ = 0, best_epoch_ = 0;
  double best_score_ = 0;
};

}  // namespace

void RegisterCheckpointSink(Registry& registry) {
  StageInfo info;
  info.name = "checkpoint";
  info.kind = StageKind::kSink;
  info.concurrency = Concurrency::kSerial;
  info.doc =
      "Writes each model snapshot to DIR/latest.ckpt and the best one to DIR/best.ckpt, "
      "atomically";
  info.inputs = {{"model", "model", "snapshots, usually with test metrics from `evaluate`"}};
  info.params = {
      StringParam("dir", "runs/mnist", "run folder (created if missing)"),
      BoolParam("keep_best", true, "also keep the best snapshot as best.ckpt"),
      ChoiceParam("metric", "test_accuracy",
                  {"test_accuracy", "test_loss", "validation_accuracy", "validation_loss",
                   "train_accuracy", "train_loss"},
                  "what keeps a snapshot as best.ckpt (accuracies higher, losses lower): test_* "
                  "needs `evaluate` upstream, validation_* cnn_train's \"validation\" input; "
                  "snapshots without it are never best"),
      BoolParam("onnx", false,
                "also export each checkpoint as ONNX beside it (latest.onnx, best.onnx; see "
                "`pipeline export`)"),
  };
  info.create = [] { return std::make_unique<CheckpointSink>(); };
  registry.add(std::move(info));
}

}  // namespace pipeline
