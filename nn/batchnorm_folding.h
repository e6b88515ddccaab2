// Inference-time folding of a batch normalization into the convolution or dense layer before it:
// w'[o] = w[o] * m[o], b'[o] = b[o] * m[o] + s[o], where y = x * m + s is the norm with its
// running statistics. Shared by the ONNX export and int8 quantization, which both run a network
// without separate batch-norm steps.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nn/model_spec.h"
#include "nn/tensor.h"

namespace pipeline::cnn {

// A batch normalization at inference: y = x * multiplier[c] + shift[c].
struct BatchNormAffine {
  std::vector<float> multiplier, shift;
};

// Weights (outputs, ...) and bias (zeros when the layer has none) of a conv or dense layer.
struct FoldedWeights {
  std::vector<int64_t> shape;  // conv: (O, I, kh, kw); dense: (units, inputs)
  std::vector<float> weight, bias;
};

// The tensor called `name` with `expected_elements` values; std::invalid_argument otherwise.
const Tensor& RequireTensor(const std::vector<Tensor>& tensors, const std::string& name,
                            int64_t expected_elements);

// The affine form of batch-norm layer `layer` from its gamma, beta and running statistics.
BatchNormAffine BatchNormAt(const ResolvedLayer& layer, const std::vector<Tensor>& tensors);

// The conv or dense layer's weights and bias, with `folded` (when not null) folded in.
FoldedWeights WeightsOf(const ResolvedLayer& layer, const std::vector<Tensor>& tensors,
                        const BatchNormAffine* folded);

// The index of the batch normalization that folds into layer i (the next layer, dropouts
// skipped), or -1 when layer i is not a conv/dense or no batch norm follows it.
int FoldedBatchNorm(const ResolvedModel& model, size_t i);

}  // namespace pipeline::cnn
