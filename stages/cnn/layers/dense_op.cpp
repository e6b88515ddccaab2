// Dense (inner product): forward with an optional fused ReLU, backward data and weights. A 4-D
// input is consumed as is: the weights' logical layout (units, C, H, W) fixes the flatten order to
// NCHW whatever blocked layout the activations use.
#include <optional>
#include <stdexcept>

#include "stages/cnn/layers/layer_op.h"
#include "stages/cnn/layers/parameter_layout.h"

namespace pipeline::cnn::detail {
namespace {

using dnnl::algorithm;
using dnnl::inner_product_backward_data;
using dnnl::inner_product_backward_weights;
using dnnl::inner_product_forward;
using dnnl::prop_kind;

class DenseOp final : public LayerOp {
 public:
  DenseOp(const ResolvedLayer& layer, LayerParameters params, Fusion fusion)
      : layer_(layer), params_(params), fusion_(fusion) {}

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

    dnnl::primitive_attr attr;
    if (fusion_.relu) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
      attr.set_post_ops(ops);
    }
    const prop_kind kind =
        context.training ? prop_kind::forward_training : prop_kind::forward_inference;
    forward_pd_.emplace(inner_product_forward::desc(kind, src_md_, weights_md_, bias_md_, dst_md_),
                        attr, context.engine);
    src_ = converted_input(context, in.value, forward_pd_->src_desc(), forward);
    // Training keeps the fp32 master weights in the primitive's own layout (parameter.h).
    const memory::desc stored = retyped(forward_pd_->weights_desc(), DataType::f32);
    if (context.training && storable(stored)) adopt_layout(*params_.weight, stored);
    weights_.emplace(context, *params_.weight, weights_md_.dims(), forward_pd_->weights_desc());
    weights_->refresh_in(forward);
    out.desc = forward_pd_->dst_desc();
    out.value = memory(out.desc, context.engine);
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, weights_->get()}, {DNNL_ARG_DST, out.value}};
    if (params_.bias) {
      args[DNNL_ARG_BIAS] = memory(bias_md_, context.engine, params_.bias->value.data());
    }
    forward.add(inner_product_forward(*forward_pd_), std::move(args));
    implementation_ = forward_pd_->impl_info_str();
  }

  void build_backward(const BuildContext& context, Edge& in, Edge& out, Pass& backward) override {
    if (fusion_.relu && fusion_.relu_backward_here) add_relu_backward(context, out, backward);
    const DataType type = context.activation_type;
    const memory::desc any_diff_dst(dst_md_.dims(), type, FormatTag::any);

    if (in.needs_diff) {
      // Preferred: the gradient in the activation's own layout and the forward's weights (no
      // reorders); then what the primitive prefers.
      const memory::desc any_src(src_md_.dims(), type, FormatTag::any);
      const memory::desc forward_weights = weights_->get().get_desc();
      const auto data_pd = first_fast<inner_product_backward_data::primitive_desc>(
          {[&] { return backward_data_pd(context, in.desc, forward_weights, any_diff_dst); },
           [&] { return backward_data_pd(context, in.desc, weights_md_, any_diff_dst); },
           [&] { return backward_data_pd(context, any_src, weights_md_, any_diff_dst); }});
      if (!data_pd) throw std::runtime_error("layer " + layer_.name + ": no backward-data kernel");
      const memory diff_dst =
          converted_input(context, out.diff, data_pd->diff_dst_desc(), backward);
      memory weights = weights_->get();
      if (data_pd->weights_desc() != weights.get_desc()) {
        data_weights_.emplace(context, *params_.weight, weights_md_.dims(),
                              data_pd->weights_desc());
        data_weights_->refresh_in(backward);
        weights = data_weights_->get();
      }
      ensure_diff(context, in);
      const memory diff_src = output_buffer(context, in.diff, data_pd->diff_src_desc());
      backward.add(inner_product_backward_data(*data_pd), {{DNNL_ARG_DIFF_DST, diff_dst},
                                                           {DNNL_ARG_WEIGHTS, weights},
                                                           {DNNL_ARG_DIFF_SRC, diff_src}});
      finish_output(diff_src, in.diff, backward);
      implementation_ += " / bwd_data " + std::string(data_pd->impl_info_str());
    }

    // Preferred: the gradient straight into the parameter's stored layout.
    const auto make_weights_pd = [&](const memory::desc& diff_weights) {
      return inner_product_backward_weights::primitive_desc(
          {src_.get_desc(), diff_weights, bias_md_, any_diff_dst}, context.engine, *forward_pd_);
    };
    const auto weights_pd = *first_fast<inner_product_backward_weights::primitive_desc>(
        {[&] { return make_weights_pd(stored_desc(*params_.weight, weights_md_.dims())); },
         [&] {
           return make_weights_pd(memory::desc(weights_md_.dims(), DataType::f32, FormatTag::any));
         }});
    const memory src = converted_input(context, src_, weights_pd.src_desc(), backward);
    const memory diff_dst =
        converted_input(context, out.diff, weights_pd.diff_dst_desc(), backward);
    weight_grad_.emplace(context, *params_.weight, weights_md_.dims(),
                         weights_pd.diff_weights_desc());
    weight_grad_->prepare_in(backward);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src},
                                         {DNNL_ARG_DIFF_DST, diff_dst},
                                         {DNNL_ARG_DIFF_WEIGHTS, weight_grad_->get()}};
    if (params_.bias) {
      args[DNNL_ARG_DIFF_BIAS] = memory(bias_md_, context.engine, params_.bias->grad.data());
    }
    backward.add(inner_product_backward_weights(weights_pd), std::move(args));
    weight_grad_->finish_in(backward);
    implementation_ += " / bwd_weights " + std::string(weights_pd.impl_info_str());
  }

  std::string implementation() const override { return implementation_; }

 private:
  inner_product_backward_data::primitive_desc backward_data_pd(const BuildContext& context,
                                                               const memory::desc& diff_src,
                                                               const memory::desc& weights,
                                                               const memory::desc& diff_dst) {
    return inner_product_backward_data::primitive_desc(
        {retyped(diff_src, context.activation_type), weights, diff_dst}, context.engine,
        *forward_pd_);
  }

  ResolvedLayer layer_;
  LayerParameters params_;
  Fusion fusion_;
  memory::desc src_md_, weights_md_, bias_md_, dst_md_;
  std::optional<inner_product_forward::primitive_desc> forward_pd_;
  memory src_;
  std::optional<PrimitiveWeights> weights_, data_weights_;
  std::optional<GradientSink> weight_grad_;
  std::string implementation_;
};

}  // namespace

std::unique_ptr<LayerOp> make_dense_op(const ResolvedLayer& layer, LayerParameters params,
                                       Fusion fusion) {
  return std::make_unique<DenseOp>(layer, params, fusion);
}

}  // namespace pipeline::cnn::detail
