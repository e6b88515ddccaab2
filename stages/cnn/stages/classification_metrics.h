// Test figures of a classifier from its raw scores: mean cross-entropy, accuracy, confusion
// matrix and per-class precision, recall and F1.
#pragma once

#include <cstdint>

#include "metrics.pb.h"

namespace pipeline::cnn {

// logits: n x classes row-major; labels in [0, classes) (std::invalid_argument naming the first
// sample that is not). The prediction is the highest score (the first one on a tie). Sets
// has_test, test_loss (plain cross-entropy, no label smoothing), test_accuracy, test_samples,
// classes, per_class and confusion; leaves every other field as it was.
void FillTestMetrics(const float* logits, const int32_t* labels, int64_t n, int64_t classes,
                     proto::EpochMetrics* metrics);

}  // namespace pipeline::cnn
