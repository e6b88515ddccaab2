#include "nn/loss.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace pipeline::cnn {
namespace {

// Writes exp(logit - max) into `out`; returns log(sum) + max, the log-partition.
double exponentiate(const float* logits, int64_t classes, float* out) {
  const float top = *std::max_element(logits, logits + classes);
  double sum = 0;
  for (int64_t c = 0; c < classes; ++c) {
    out[c] = std::exp(logits[c] - top);
    sum += out[c];
  }
  for (int64_t c = 0; c < classes; ++c) out[c] = static_cast<float>(out[c] / sum);
  return std::log(sum) + top;
}

}  // namespace

StepResult softmax_cross_entropy(const float* logits, const int32_t* labels, int64_t n,
                                 int64_t classes, float label_smoothing, float* diff) {
  StepResult result;
  result.count = n;
  std::vector<float> probabilities(classes);
  const double off_target = label_smoothing / static_cast<double>(classes);
  const double on_target = 1.0 - label_smoothing + off_target;
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t label = labels[i];
    if (label < 0 || label >= classes) {
      throw std::invalid_argument("sample " + std::to_string(i) + " of the batch has label " +
                                  std::to_string(label) + ", outside 0.." +
                                  std::to_string(classes - 1));
    }
    const float* row = logits + i * classes;
    const double log_partition = exponentiate(row, classes, probabilities.data());
    // -sum_c target_c * log p_c, with log p_c = logit_c - log_partition.
    double loss = 0;
    for (int64_t c = 0; c < classes; ++c) {
      const double target = c == label ? on_target : off_target;
      if (target > 0) loss -= target * (row[c] - log_partition);
    }
    total += loss;
    if (std::max_element(row, row + classes) - row == label) ++result.correct;
    if (diff != nullptr) {
      for (int64_t c = 0; c < classes; ++c) {
        const double target = c == label ? on_target : off_target;
        diff[i * classes + c] = static_cast<float>((probabilities[c] - target) / n);
      }
    }
  }
  result.loss = n > 0 ? total / n : 0.0;
  return result;
}

void softmax(const float* logits, int64_t n, int64_t classes, float* probabilities) {
  for (int64_t i = 0; i < n; ++i) {
    exponentiate(logits + i * classes, classes, probabilities + i * classes);
  }
}

}  // namespace pipeline::cnn
