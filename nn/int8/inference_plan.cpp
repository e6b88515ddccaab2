#include "nn/int8/inference_plan.h"

#include <stdexcept>

namespace pipeline::cnn::int8 {
namespace {

using Kind = proto::LayerSpec::KindCase;

std::invalid_argument Unsupported(const ResolvedLayer& layer, const std::string& why) {
  return std::invalid_argument("int8 inference: layer " + layer.name + " " + why);
}

}  // namespace

InferencePlan MakeInferencePlan(const proto::ModelSpec& spec, const std::vector<Tensor>& tensors) {
  const ResolvedModel model = resolve_model(spec);
  InferencePlan plan;
  plan.input = model.input;
  plan.classes = model.classes;
  std::vector<bool> consumed(model.layers.size(), false);
  for (size_t i = 0; i < model.layers.size(); ++i) {
    if (consumed[i]) continue;
    const ResolvedLayer& layer = model.layers[i];
    switch (layer.spec.kind_case()) {
      case Kind::kConv:
      case Kind::kDense: {
        PlanStep step;
        step.layer = layer;
        const int bn = FoldedBatchNorm(model, i);
        BatchNormAffine affine;
        if (bn >= 0) {
          affine = BatchNormAt(model.layers[static_cast<size_t>(bn)], tensors);
          consumed[static_cast<size_t>(bn)] = true;
        }
        step.weights = WeightsOf(layer, tensors, bn >= 0 ? &affine : nullptr);
        // The ReLU is the next layer that is neither a dropout nor the folded norm.
        for (size_t j = i + 1; j < model.layers.size(); ++j) {
          if (consumed[j] || model.layers[j].spec.has_dropout()) continue;
          if (model.layers[j].spec.has_relu()) {
            step.relu = true;
            consumed[j] = true;
          }
          break;
        }
        plan.steps.push_back(std::move(step));
        break;
      }
      case Kind::kPool: {
        PlanStep step;
        step.kind = PlanStep::Kind::kPool;
        step.layer = layer;
        plan.steps.push_back(std::move(step));
        break;
      }
      case Kind::kRelu:
        throw Unsupported(layer, "is a ReLU that does not follow a convolution or dense layer");
      case Kind::kBatchnorm:
        throw Unsupported(layer,
                          "is a batch norm that does not directly follow a convolution or dense "
                          "layer, so it cannot be folded into one");
      case Kind::kDropout:
      case Kind::kFlatten:
        break;  // identity at inference; dense layers read 4-D inputs themselves
      case Kind::KIND_NOT_SET:
        throw Unsupported(layer, "has no kind");
    }
  }
  if (plan.steps.empty() || plan.steps.back().kind != PlanStep::Kind::kWeighted ||
      plan.steps.back().relu) {
    throw std::invalid_argument(
        "int8 inference: the model must end with a dense layer giving the class scores");
  }
  plan.steps.back().logits = true;
  return plan;
}

std::vector<std::string> CalibratedTensors(const InferencePlan& plan) {
  std::vector<std::string> names{kInputTensor};
  for (const PlanStep& step : plan.steps) {
    if (step.kind == PlanStep::Kind::kWeighted && !step.logits) names.push_back(step.layer.name);
  }
  return names;
}

}  // namespace pipeline::cnn::int8
