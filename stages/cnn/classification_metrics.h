// Test figures of a classifier from its raw scores: mean cross-entropy, accuracy, confusion
// matrix and per-class precision, recall and F1, and the answers most worth a look.
#pragma once

#include <cstdint>
#include <vector>

#include "metrics.pb.h"

namespace pipeline::cnn {

// logits: n x classes row-major; labels in [0, classes) (std::invalid_argument naming the first
// sample that is not). The prediction is the highest score (the first one on a tie). Sets
// has_test, test_loss (plain cross-entropy, no label smoothing), test_accuracy, test_samples,
// classes, per_class and confusion; leaves every other field as it was.
void FillTestMetrics(const float* logits, const int32_t* labels, int64_t n, int64_t classes,
                     proto::EpochMetrics* metrics);

// A wrong answer: sample `sample` was classified as `predicted` with softmax probability
// `confidence`.
struct WrongAnswer {
  int64_t sample = 0;
  int32_t predicted = 0;
  float confidence = 0;
};

// Up to `count` wrong answers (prediction as FillTestMetrics makes it, label different), the
// most confident first; equal confidences keep sample order. Labels outside [0, classes) count
// as wrong answers too (FillTestMetrics rejects them anyway).
std::vector<WrongAnswer> MostConfidentMistakes(const float* logits, const int32_t* labels,
                                               int64_t n, int64_t classes, int count);

}  // namespace pipeline::cnn
