// Dense (inner product): forward with an optional fused ReLU, backward data and weights. A 4-D
// input is consumed as is: the weights' logical layout (units, C, H, W) fixes the flatten order to
// NCHW whatever blocked layout the activations use.
#include <optional>
#include <stdexcept>

#include "nn/layers/layer_kind.h"
#include "nn/layers/weighted_op.h"

namespace pipeline::cnn::detail {
namespace {

using dnnl::inner_product_backward_data;
using dnnl::inner_product_backward_weights;
using dnnl::inner_product_forward;
using dnnl::prop_kind;

class DenseOp final : public WeightedOp<inner_product_forward, inner_product_backward_data,
                                        inner_product_backward_weights> {
 public:
  DenseOp(const ResolvedLayer& layer, LayerParameters params, Fusion fusion)
      : WeightedOp(layer, params, fusion) {}

  void build_forward(const BuildContext& context, Edge& in, Edge& out, Pass& forward) override {
    const DataType type = context.activation_type;
    const memory::dims in_dims = in.desc.dims();
    const memory::dim units = layer_.out.channels;
    src_md_ = in.desc.data_type() == type ? in.desc : memory::desc(in_dims, type, FormatTag::any);
    memory::dims weight_dims = in_dims;
    weight_dims[0] = units;
    weights_md_ = memory::desc(weight_dims, type, FormatTag::any);
    bias_md_ = params_.bias ? memory::desc({units}, DataType::f32, FormatTag::a) : memory::desc();
    // The logits stay fp32 in a plain layout: the loss reads them directly.
    dst_md_ = fusion_.is_logits ? memory::desc({context.batch, units}, DataType::f32, FormatTag::nc)
                                : memory::desc({context.batch, units}, type, FormatTag::any);

    const dnnl::primitive_attr attr = relu_post_op(fusion_.relu);
    const prop_kind kind =
        context.training ? prop_kind::forward_training : prop_kind::forward_inference;
    forward_pd_.emplace(inner_product_forward::desc(kind, src_md_, weights_md_, bias_md_, dst_md_),
                        attr, context.engine);
    add_forward(context, in, out, forward);
  }

  void build_backward(const BuildContext& context, Edge& in, Edge& out, Pass& backward) override {
    const memory::desc any_diff_dst = start_backward(context, out, backward);
    if (in.needs_diff) {
      // Preferred: the gradient in the activation's own layout and the forward's weights (no
      // reorders); then what the primitive prefers.
      const memory::desc any_src(src_md_.dims(), context.activation_type, FormatTag::any);
      const memory::desc forward_layout = forward_weights().get_desc();
      add_backward_data(
          context,
          first_fast<BackwardDataPd>(
              {[&] { return backward_data_pd(context, in.desc, forward_layout, any_diff_dst); },
               [&] { return backward_data_pd(context, in.desc, weights_md_, any_diff_dst); },
               [&] { return backward_data_pd(context, any_src, weights_md_, any_diff_dst); }}),
          in, out, backward);
    }
    add_backward_weights(
        context,
        [&](const memory::desc& diff_weights) {
          return BackwardWeightsPd({forward_src().get_desc(), diff_weights, bias_md_, any_diff_dst},
                                   context.engine, *forward_pd_);
        },
        out, backward);
  }

 private:
  BackwardDataPd backward_data_pd(const BuildContext& context, const memory::desc& diff_src,
                                  const memory::desc& weights, const memory::desc& diff_dst) {
    return BackwardDataPd({retyped(diff_src, context.activation_type), weights, diff_dst},
                          context.engine, *forward_pd_);
  }
};

class DenseKind final : public LayerKind {
 public:
  proto::LayerSpec::KindCase kind_case() const override { return proto::LayerSpec::kDense; }
  const char* name() const override { return "dense"; }

  void resolve(ResolvedLayer& layer) const override {
    if (layer.spec.dense().units() == 0) fail_layer(layer, "units must be at least 1");
    layer.out = FeatureShape{layer.spec.dense().units(), 1, 1, true};
  }

  double parameter_count(const ResolvedLayer& layer) const override {
    return (layer.in.elements_in_double() + 1) * static_cast<double>(layer.out.channels);
  }

  double forward_flops(const ResolvedLayer& layer) const override {
    return 2.0 * layer.in.elements() * layer.out.elements();
  }

  void add_parameters(const ResolvedLayer& layer, ParameterFactory& factory,
                      LayerParameters& params) const override {
    add_kernel_and_bias(layer, false, layer.spec.dense().no_bias(), factory, params);
  }

  std::string describe(const ResolvedLayer& layer) const override {
    return "dense " + std::to_string(layer.spec.dense().units());
  }

  LayerBuild build(const ResolvedModel& model, size_t index,
                   const LayerParameters& params) const override {
    const Fusion fusion = weighted_layer_fusion(model, index);
    return {std::make_unique<DenseOp>(model.layers[index], params, fusion), fusion.relu ? 2u : 1u};
  }
};

}  // namespace

const LayerKind& dense_layer_kind() {
  static const DenseKind kind;
  return kind;
}

}  // namespace pipeline::cnn::detail
