// `cnn_train`'s per-epoch measurement on its optional validation input: the model in inference
// mode, plain cross-entropy (no label smoothing, as evaluate's test loss) and accuracy.
#pragma once

#include <cstdint>
#include <vector>

#include "metrics.pb.h"
#include "nn/model.h"
#include "stages/cnn/labelled_set.h"

namespace pipeline::cnn {

// Fills row's validation fields and prints one line. The set must not be empty. Throws
// std::runtime_error when the set does not fit the model or the training data's normalization,
// or when the loss is not finite. `logits` is scratch space kept between epochs.
void ValidateEpoch(Model& model, const LabelledSet& set, const Normalization& training,
                   int64_t planned_epochs, proto::EpochMetrics& row, std::vector<float>& logits);

}  // namespace pipeline::cnn
