// Internal: the model compiled for one batch size and one mode (training or inference): layer
// ops, the activations between them, and the two passes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nn/layers/layer_op.h"

namespace pipeline::cnn::detail {

class Net {
 public:
  Net(const ResolvedModel& model, const std::vector<LayerParameters>& params,
      const BuildContext& context);

  // Runs the forward pass on `batch` NHWC fp32 images (read, never written).
  void forward(const float* images, dnnl::stream& stream, Profile* profile = nullptr);
  // Backpropagates logits_diff() into every parameter's grad (training nets only).
  void backward(dnnl::stream& stream, Profile* profile = nullptr);

  const float* logits() const;  // batch x classes, row-major
  float* logits_diff();

  int64_t batch() const { return context_.batch; }
  // One line per layer: its name and the oneDNN implementations it runs.
  std::string implementations() const;

 private:
  BuildContext context_;
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<LayerOp>> ops_;
  std::vector<Edge> edges_;  // edges_[0]: the input; edges_[i + 1]: output of ops_[i]
  Pass forward_{"forward"}, backward_{"backward"};
};

}  // namespace pipeline::cnn::detail
