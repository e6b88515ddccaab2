#include "nn/batchnorm_folding.h"

#include <cmath>
#include <stdexcept>

namespace pipeline::cnn {

const Tensor& RequireTensor(const std::vector<Tensor>& tensors, const std::string& name,
                            int64_t expected_elements) {
  const Tensor* tensor = find_tensor(tensors, name);
  if (tensor == nullptr) throw std::invalid_argument("tensor " + name + " is missing");
  if (static_cast<int64_t>(tensor->values.size()) != expected_elements) {
    throw std::invalid_argument("tensor " + name + " has " + std::to_string(tensor->values.size()) +
                                " values, expected " + std::to_string(expected_elements));
  }
  return *tensor;
}

BatchNormAffine BatchNormAt(const ResolvedLayer& layer, const std::vector<Tensor>& tensors) {
  const int64_t channels = layer.in.channels;
  const Tensor& gamma = RequireTensor(tensors, layer.name + ".gamma", channels);
  const Tensor& beta = RequireTensor(tensors, layer.name + ".beta", channels);
  const Tensor& mean = RequireTensor(tensors, layer.name + ".running_mean", channels);
  const Tensor& var = RequireTensor(tensors, layer.name + ".running_var", channels);
  const double epsilon =
      layer.spec.batchnorm().epsilon() > 0 ? layer.spec.batchnorm().epsilon() : 1e-5;
  BatchNormAffine affine;
  for (int64_t c = 0; c < channels; ++c) {
    const size_t i = static_cast<size_t>(c);
    // In double: the folded weights should round once, not twice.
    const double multiplier =
        gamma.values[i] / std::sqrt(static_cast<double>(var.values[i]) + epsilon);
    affine.multiplier.push_back(static_cast<float>(multiplier));
    affine.shift.push_back(static_cast<float>(beta.values[i] - mean.values[i] * multiplier));
  }
  return affine;
}

FoldedWeights WeightsOf(const ResolvedLayer& layer, const std::vector<Tensor>& tensors,
                        const BatchNormAffine* folded) {
  const bool conv = layer.spec.has_conv();
  const int64_t outputs = layer.out.channels;
  FoldedWeights result;
  result.shape = conv ? std::vector<int64_t>{outputs, layer.in.channels, layer.window.kernel_rows,
                                             layer.window.kernel_cols}
                      : std::vector<int64_t>{outputs, layer.in.elements()};
  result.weight =
      RequireTensor(tensors, layer.name + ".weight", element_count(result.shape)).values;
  const bool no_bias = conv ? layer.spec.conv().no_bias() : layer.spec.dense().no_bias();
  result.bias = no_bias ? std::vector<float>(static_cast<size_t>(outputs), 0.0f)
                        : RequireTensor(tensors, layer.name + ".bias", outputs).values;
  if (folded != nullptr) {
    const size_t per_output = result.weight.size() / static_cast<size_t>(outputs);
    for (size_t o = 0; o < static_cast<size_t>(outputs); ++o) {
      for (size_t k = 0; k < per_output; ++k)
        result.weight[o * per_output + k] *= folded->multiplier[o];
      result.bias[o] = result.bias[o] * folded->multiplier[o] + folded->shift[o];
    }
  }
  return result;
}

int FoldedBatchNorm(const ResolvedModel& model, size_t i) {
  if (!model.layers[i].spec.has_conv() && !model.layers[i].spec.has_dense()) return -1;
  for (size_t j = i + 1; j < model.layers.size(); ++j) {
    if (model.layers[j].spec.has_dropout()) continue;
    return model.layers[j].spec.has_batchnorm() ? static_cast<int>(j) : -1;
  }
  return -1;
}

}  // namespace pipeline::cnn
