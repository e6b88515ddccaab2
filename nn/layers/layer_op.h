// Internal: how a network is compiled, once per batch size, into two lists of oneDNN primitive
// executions (the forward and the backward pass). Layers choose their own memory layouts
// (format_tag::any); reorders are inserted only where two neighbours disagree, so activations stay
// in the blocked layouts the primitives prefer from one layer to the next.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nn/layers/layer_kind.h"
#include "nn/layers/pass.h"
#include "nn/layers/primitive_weights.h"
#include "nn/model_spec.h"
#include "nn/parameter.h"

namespace pipeline::cnn::detail {

// One activation between two layers as the primitives see it: value in the forward pass and
// its gradient (same layout) in the backward pass.
struct Edge {
  memory::desc desc;
  memory value;
  memory diff;              // created by the consumer layer's build_backward
  bool needs_diff = false;  // some earlier layer has parameters
};

// Returns `mem` when it already has layout `wanted`; otherwise a new buffer of layout `wanted`
// filled by a reorder appended to `pass`.
memory converted_input(const BuildContext& context, const memory& mem, const memory::desc& wanted,
                       Pass& pass);

// The buffer a primitive should write when it produces layout `produced` and the result belongs
// in `target`: `target` itself when the layouts agree, else a scratch buffer that the caller
// reorders into `target` with finish_output() after the primitive.
memory output_buffer(const BuildContext& context, const memory& target,
                     const memory::desc& produced);
void finish_output(const memory& written, const memory& target, Pass& pass);

// `desc` with data type `type`; a plain layout keeps its strides.
memory::desc retyped(const memory::desc& desc, DataType type);

// Whether oneDNN fell back to its slow reference implementation.
template <typename PrimitiveDesc>
bool is_reference(const PrimitiveDesc& pd) {
  return std::string(pd.impl_info_str()).rfind("ref", 0) == 0;
}

// The first candidate that builds and is not the reference kernel; else the first that builds.
template <typename PrimitiveDesc>
std::optional<PrimitiveDesc> first_fast(
    const std::vector<std::function<PrimitiveDesc()>>& candidates) {
  std::optional<PrimitiveDesc> fallback;
  for (const auto& make : candidates) {
    try {
      PrimitiveDesc pd = make();
      if (!is_reference(pd)) return pd;
      if (!fallback) fallback = pd;
    } catch (const dnnl::error&) {
      // unsupported combination: try the next
    }
  }
  return fallback;
}

// Allocates edge.diff in the edge's layout when nobody has yet.
void ensure_diff(const BuildContext& context, Edge& edge);

// Undoes a ReLU whose output is edge.value: edge.diff *= (edge.value > 0), in place.
void add_relu_backward(const BuildContext& context, const Edge& edge, Pass& pass);

// Logical fp32 layout of a parameter: oihw for kernels (dense after a 4-D input too: NCHW
// flatten order), a plain vector otherwise.
memory::desc logical_desc(const std::vector<int64_t>& shape, FormatTag tag);

// The parameters of one layer (null when it has none of that kind).
struct LayerParameters {
  Parameter* weight = nullptr;
  Parameter* bias = nullptr;
  Parameter* running_mean = nullptr;  // batch-norm buffers (not trained)
  Parameter* running_var = nullptr;
};

class LayerOp {
 public:
  virtual ~LayerOp() = default;
  // Creates the forward primitives reading in.value; sets out.desc and out.value.
  virtual void build_forward(const BuildContext& context, Edge& in, Edge& out, Pass& forward) = 0;
  // Appends the backward work to `backward` (passes are built from the last layer back):
  // reads out.diff, writes in.diff when in.needs_diff, writes the parameters' grads.
  virtual void build_backward(const BuildContext& context, Edge& in, Edge& out, Pass& backward) = 0;
  // Name of the oneDNN implementation(s) chosen, for logs ("conv2: jit_wino_4x3:avx512_core").
  virtual std::string implementation() const { return {}; }
};

// What the network builder decided about a layer's neighbourhood.
struct Fusion {
  bool relu = false;                     // apply ReLU inside this conv / dense / batch norm
  bool relu_backward_here = false;       // ... and undo it in this layer's backward
  bool relu_backward_on_output = false;  // pool: the ReLU before it is undone on its output
  bool is_logits = false;                // last dense: fp32 plain output
  bool next_is_dense = false;            // flatten: a dense layer takes the 4-D input as is
};

// What a LayerKind's build() returns: the op, and how many layers of the model it stands for
// (2 when it took the ReLU after it in as a post-op).
struct LayerBuild {
  std::unique_ptr<LayerOp> op;
  size_t consumed = 1;
};

// The kind of model.layers[i]; KIND_NOT_SET past the last layer.
proto::LayerSpec::KindCase kind_at(const ResolvedModel& model, size_t i);

// conv/dense, ReLU, max-pool starting at `first`: the ReLU is fused into the first layer's
// forward and undone on the pool's (smaller) output gradient.
bool relu_before_max_pool(const ResolvedModel& model, size_t first);

// A convolution's or dense layer's kernel (drawn) and, unless `no_bias`, its bias.
void add_kernel_and_bias(const ResolvedLayer& layer, bool conv, bool no_bias,
                         ParameterFactory& factory, LayerParameters& params);

// The fusion of a convolution or dense layer at `index` with its neighbours: the ReLU after it
// as a post-op (undone here, or by a max pool after it; the op then consumes 2 layers), fp32
// output when it gives the logits.
Fusion weighted_layer_fusion(const ResolvedModel& model, size_t index);

}  // namespace pipeline::cnn::detail
