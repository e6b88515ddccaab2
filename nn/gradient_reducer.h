// The hook through which data-parallel training sums gradients over processes. nn/ knows nothing
// of MPI or of the engine: the training stage passes an implementation (stages/cnn wraps the
// engine's ProcessGroup) to Trainer::set_gradient_reducer().
#pragma once

#include <span>

namespace pipeline::cnn {

class GradientReducer {
 public:
  virtual ~GradientReducer() = default;
  // Element-wise sum over every process, in place; the same bits on every process. Every process
  // calls it the same number of times with the same length.
  virtual void sum(std::span<float> values) = 0;
};

}  // namespace pipeline::cnn
