#include "stages/cnn/train_validation.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "nn/loss.h"
#include "stages/cnn/console.h"

namespace pipeline::cnn {
namespace {

void CheckFits(const Model& model, const LabelledSet& set, const Normalization& training) {
  const proto::InputShape& input = model.spec().input();
  if (set.rows != static_cast<int>(input.rows()) || set.cols != static_cast<int>(input.cols()) ||
      set.channels != static_cast<int>(input.channels())) {
    throw std::runtime_error("validation images are " + set.shape_text() + " but the model takes " +
                             ShapeText(static_cast<int>(input.rows()),
                                       static_cast<int>(input.cols()),
                                       static_cast<int>(input.channels())));
  }
  if (set.normalization != training) {
    throw std::runtime_error(
        "the validation batches are normalized differently from the training batches (mean " +
        std::to_string(set.normalization.mean) + " std " + std::to_string(set.normalization.std) +
        " vs mean " + std::to_string(training.mean) + " std " + std::to_string(training.std) + ")");
  }
  const int64_t classes = model.classes();
  for (size_t i = 0; i < set.labels.size(); ++i) {
    if (set.labels[i] >= classes) {
      throw std::runtime_error("validation sample " + set.sources[i] + " has label " +
                               std::to_string(set.labels[i]) + "; the model has classes 0.." +
                               std::to_string(classes - 1));
    }
  }
}

}  // namespace

void ValidateEpoch(Model& model, const LabelledSet& set, const Normalization& training,
                   int64_t planned_epochs, proto::EpochMetrics& row, std::vector<float>& logits) {
  CheckFits(model, set, training);
  const int64_t n = set.size();
  const int64_t classes = model.classes();
  const auto start = std::chrono::steady_clock::now();
  logits.resize(static_cast<size_t>(n * classes));
  model.predict_logits(set.images.data(), n, logits.data());
  const StepResult result =
      softmax_cross_entropy(logits.data(), set.labels.data(), n, classes, 0.0f, nullptr);
  if (!std::isfinite(result.loss)) {
    throw std::runtime_error("the validation loss after epoch " + std::to_string(row.epoch() + 1) +
                             " is not finite; the weights have diverged (lower lr)");
  }
  row.set_has_validation(true);
  row.set_validation_loss(result.loss);
  row.set_validation_accuracy(static_cast<double>(result.correct) / static_cast<double>(n));
  row.set_validation_samples(n);
  char line[160];
  std::snprintf(line, sizeof(line),
                "cnn_train: epoch %lld/%lld validation loss %.4f acc %.2f%% (%lld samples, %.1f s)",
                static_cast<long long>(row.epoch() + 1), static_cast<long long>(planned_epochs),
                result.loss, 100.0 * row.validation_accuracy(), static_cast<long long>(n),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  ConsoleLine(line);
}

}  // namespace pipeline::cnn
