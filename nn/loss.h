// Softmax cross-entropy with optional label smoothing, on fp32 logits.
#pragma once

#include <cstdint>

namespace pipeline::cnn {

struct StepResult {
  double loss = 0;      // mean over the batch
  int64_t correct = 0;  // samples whose highest score is their label
  int64_t count = 0;    // samples in the batch
};

// logits: n x classes, row-major. Labels must be in [0, classes); otherwise throws
// std::invalid_argument naming the sample. When `diff` is not null it receives
// d(mean loss)/d(logits) = (softmax - target) / n.
StepResult softmax_cross_entropy(const float* logits, const int32_t* labels, int64_t n,
                                 int64_t classes, float label_smoothing, float* diff);

// Row-wise softmax of n x classes logits into `probabilities`.
void softmax(const float* logits, int64_t n, int64_t classes, float* probabilities);

}  // namespace pipeline::cnn
