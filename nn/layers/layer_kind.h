// The layer registry. Each kind of layer (one field of LayerSpec's `kind` oneof) declares once, in
// its own file under nn/layers/ (the op's file: conv_op.cpp, pool_op.cpp, ...), everything the
// rest of the library asks about it: its name, how its spec is checked and its output shape
// computed, what it costs, its parameters, how `pipeline inspect` describes it, and how it is built
// into a net. model_spec.cpp, model.cpp, net.cpp and the inspect command look a layer's kind up
// here instead of switching over the oneof, so a new kind is one new file plus one line in
// layer_registry.cpp (and layer_registry_test fails for a proto field without one).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "nn/model_spec.h"

namespace pipeline::cnn {
struct Parameter;
namespace detail {
struct LayerBuild;
struct LayerParameters;
}  // namespace detail

// How a kind asks for its layer's parameters when the model is created (nn/model.cpp), named
// "<layer>.<suffix>" in checkpoints.
class ParameterFactory {
 public:
  virtual ~ParameterFactory() = default;
  // A parameter the optimizer trains, zero-filled; `decays`: weight decay applies to it.
  virtual Parameter* trained(const std::string& suffix, std::vector<int64_t> shape,
                             bool decays) = 0;
  // A buffer kept in checkpoints but not trained (batch norm's running statistics), zero-filled.
  virtual Parameter* buffer(const std::string& suffix, std::vector<int64_t> shape) = 0;
  // Draws a kernel's first values, He-normal when the layer's output reaches a ReLU before the
  // next weighted layer, Glorot-uniform otherwise; leaves them when a checkpoint will fill them.
  virtual void draw_kernel(Parameter& kernel, int64_t fan_in, int64_t fan_out) = 0;
};

class LayerKind {
 public:
  virtual ~LayerKind() = default;

  // The LayerSpec field this kind is registered for.
  virtual proto::LayerSpec::KindCase kind_case() const = 0;
  // The stem of default layer names: "conv" names conv1, conv2, ...
  virtual const char* name() const = 0;

  // Checks layer.spec against layer.in and sets layer.out (which arrives as a copy of layer.in)
  // and, for windowed kinds, layer.window. Throws through fail_layer() on the first problem.
  virtual void resolve(ResolvedLayer& layer) const = 0;
  // Whether layer.window is meaningful (describe_model prints it).
  virtual bool has_window() const { return false; }
  // Trainable values (weights and biases) and forward FLOPs per image. Computed in double: a
  // spec's uint32 sizes multiplied together overflow int64.
  virtual double parameter_count(const ResolvedLayer& /*layer*/) const { return 0; }
  virtual double forward_flops(const ResolvedLayer& /*layer*/) const { return 0; }

  // Creates the layer's parameters through `factory` and says which is which for the op.
  virtual void add_parameters(const ResolvedLayer& /*layer*/, ParameterFactory& /*factory*/,
                              detail::LayerParameters& /*params*/) const {}

  // The kind column of `pipeline inspect`: "conv 3x3 x32", "maxpool 2x2", "dropout 0.25".
  virtual std::string describe(const ResolvedLayer& layer) const = 0;

  // The op for model.layers[index] with `params`, fused with the layers after it where the kind
  // can (see Fusion in layer_op.h); LayerBuild says how many layers the op consumed.
  virtual detail::LayerBuild build(const ResolvedModel& model, size_t index,
                                   const detail::LayerParameters& params) const = 0;
};

// Every registered kind, in the order of layer_registry.cpp.
const std::vector<const LayerKind*>& registered_layer_kinds();

// The kind registered for `kind`, or null (KIND_NOT_SET, or a field nobody registered).
const LayerKind* find_layer_kind(proto::LayerSpec::KindCase kind);

// The kind of a resolved layer (resolve_model has checked that it has one).
const LayerKind& layer_kind_of(const ResolvedLayer& layer);

// Throws std::invalid_argument naming the layer: "model layer 3 (conv2): <what>".
[[noreturn]] void fail_layer(const ResolvedLayer& layer, const std::string& what);

}  // namespace pipeline::cnn
