// Optimizers over a model's fp32 master parameters: SGD (momentum, Nesterov, weight decay),
// Adam, AdamW and RMSprop, with PyTorch's update rules. Their state (momentum buffers, moment
// estimates, step count) is exposed as named tensors so that checkpoints can save and restore it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model.pb.h"
#include "nn/parameter.h"
#include "nn/tensor.h"

namespace pipeline::cnn {

struct OptimizerState {
  int64_t steps = 0;          // updates applied so far (Adam's bias correction uses it)
  std::vector<Tensor> slots;  // "<parameter>/<slot>", e.g. "conv1.weight/momentum"
};

class Optimizer {
 public:
  // Validates the spec (std::invalid_argument) and allocates zeroed state for `parameters`,
  // which must outlive the optimizer.
  static std::unique_ptr<Optimizer> create(const proto::OptimizerSpec& spec,
                                           std::vector<Parameter*> parameters);
  virtual ~Optimizer() = default;

  // Updates every parameter from its grad with this learning rate; bumps versions and steps().
  void step(double learning_rate);

  const proto::OptimizerSpec& spec() const { return spec_; }
  std::string kind() const;  // "sgd", "adam", "adamw", "rmsprop"
  int64_t steps() const { return steps_; }
  const std::vector<std::string>& slot_names() const { return slot_names_; }

  // Slots in the parameters' logical row-major order, whatever their stored layout.
  OptimizerState state() const;
  // Every slot of every parameter must be present with the parameter's shape; throws
  // std::invalid_argument naming the first problem and leaves the state unchanged.
  void load_state(const OptimizerState& state);

 protected:
  Optimizer(const proto::OptimizerSpec& spec, std::vector<Parameter*> parameters,
            std::vector<std::string> slot_names);
  // Applies one update to `parameter`; slots[k] is its slot_names()[k] buffer; `t` counts
  // this update from 1.
  virtual void update(Parameter& parameter, std::vector<AlignedFloats>& slots, double lr,
                      int64_t t) = 0;

 private:
  proto::OptimizerSpec spec_;
  std::vector<Parameter*> parameters_;
  std::vector<std::string> slot_names_;
  void follow_layout_changes();

  std::vector<std::vector<AlignedFloats>> slots_;  // [parameter][slot][element]
  // The stored layout each parameter's slots are in (parameters move once, see parameter.h).
  std::vector<std::shared_ptr<const StoredLayout>> slot_layouts_;
  std::vector<uint64_t> slot_layout_versions_;
  int64_t steps_ = 0;
};

}  // namespace pipeline::cnn
