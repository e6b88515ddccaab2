// Internal: a model reduced to what inference runs: convolution and dense layers with their batch
// norms folded in and their ReLUs fused, and poolings. Dropout and flatten vanish (a dense layer
// reads a 4-D input in NCHW order itself).
#pragma once

#include <string>
#include <vector>

#include "model.pb.h"
#include "nn/batchnorm_folding.h"
#include "nn/model_spec.h"
#include "nn/tensor.h"

namespace pipeline::cnn::int8 {

struct PlanStep {
  enum class Kind { kWeighted, kPool };
  Kind kind = Kind::kWeighted;
  ResolvedLayer layer;    // the conv, dense or pool layer
  FoldedWeights weights;  // kWeighted: batch norm folded in
  bool relu = false;      // kWeighted: a ReLU follows (the output is never negative)
  bool logits = false;    // the last layer: fp32 output
};

struct InferencePlan {
  FeatureShape input;
  int64_t classes = 0;
  std::vector<PlanStep> steps;
};

// The name under which calibration records the range of the network's input.
inline const char* const kInputTensor = "input";

// Throws std::invalid_argument naming the layer when the model has something int8 inference does
// not run: a batch norm that does not directly follow a conv/dense layer, or a ReLU that does not
// follow one (after its batch norm).
InferencePlan MakeInferencePlan(const proto::ModelSpec& spec, const std::vector<Tensor>& tensors);

// The tensors whose ranges calibration measures: kInputTensor, then every non-logits conv/dense.
std::vector<std::string> CalibratedTensors(const InferencePlan& plan);

}  // namespace pipeline::cnn::int8
