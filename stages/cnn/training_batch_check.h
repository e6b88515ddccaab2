// The checks every training batch passes before `cnn_train` steps on it.
#pragma once

#include "nn/model.h"
#include "pipeline/payloads.h"

namespace pipeline::cnn {

// Throws std::runtime_error naming what is wrong: a shape the model does not take, an empty or
// inconsistent batch, a label outside the model's classes (naming the sample), or a normalization
// other than the first batch's (`normalization`).
void CheckTrainingBatch(const Batch& batch, const Model& model, const Normalization& normalization);

}  // namespace pipeline::cnn
