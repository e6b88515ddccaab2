// What convolution and dense layers share once each has chosen its primitive descriptors: the
// fp32 master weights kept in the forward primitive's layout, the forward execution, and the
// backward passes over data and weights with their reorders.
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "nn/layers/layer_op.h"
#include "nn/layers/parameter_layout.h"

namespace pipeline::cnn::detail {

// A ReLU post-op when the network builder fused the following ReLU into this layer.
inline dnnl::primitive_attr relu_post_op(bool relu) {
  dnnl::primitive_attr attr;
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
  }
  return attr;
}

template <typename Forward, typename BackwardData, typename BackwardWeights>
class WeightedOp : public LayerOp {
 public:
  std::string implementation() const override { return implementation_; }

 protected:
  using ForwardPd = typename Forward::primitive_desc;
  using BackwardDataPd = typename BackwardData::primitive_desc;
  using BackwardWeightsPd = typename BackwardWeights::primitive_desc;

  WeightedOp(const ResolvedLayer& layer, LayerParameters params, Fusion fusion)
      : layer_(layer), params_(params), fusion_(fusion) {}

  // Once forward_pd_ is chosen: converts the input, lays the weights out for the primitive and
  // appends it to `forward`.
  void add_forward(const BuildContext& context, Edge& in, Edge& out, Pass& forward) {
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
    forward.add(Forward(*forward_pd_), std::move(args));
    implementation_ = forward_pd_->impl_info_str();
  }

  // The gradient a backward pass receives, in any layout, with a fused ReLU undone first.
  memory::desc start_backward(const BuildContext& context, Edge& out, Pass& backward) {
    if (fusion_.relu && fusion_.relu_backward_here) add_relu_backward(context, out, backward);
    return memory::desc(dst_md_.dims(), context.activation_type, FormatTag::any);
  }

  // Appends the backward-data primitive `data_pd` (the caller's first fast candidate), with
  // the weights reordered for it when it wants another layout than the forward's.
  void add_backward_data(const BuildContext& context, const std::optional<BackwardDataPd>& data_pd,
                         Edge& in, Edge& out, Pass& backward) {
    if (!data_pd) throw std::runtime_error("layer " + layer_.name + ": no backward-data kernel");
    const memory diff_dst = converted_input(context, out.diff, data_pd->diff_dst_desc(), backward);
    memory weights = weights_->get();
    if (data_pd->weights_desc() != weights.get_desc()) {
      data_weights_.emplace(context, *params_.weight, weights_md_.dims(), data_pd->weights_desc());
      data_weights_->refresh_in(backward);
      weights = data_weights_->get();
    }
    ensure_diff(context, in);
    const memory diff_src = output_buffer(context, in.diff, data_pd->diff_src_desc());
    backward.add(BackwardData(*data_pd), {{DNNL_ARG_DIFF_DST, diff_dst},
                                          {DNNL_ARG_WEIGHTS, weights},
                                          {DNNL_ARG_DIFF_SRC, diff_src}});
    finish_output(diff_src, in.diff, backward);
    implementation_ += " / bwd_data " + std::string(data_pd->impl_info_str());
  }

  // Appends the backward-weights primitive. Preferred: the gradient straight into the
  // parameter's stored layout; else whatever fp32 layout the primitive likes (then reordered).
  void add_backward_weights(const BuildContext& context,
                            const std::function<BackwardWeightsPd(const memory::desc&)>& make_pd,
                            Edge& out, Pass& backward) {
    const memory::dims dims = weights_md_.dims();
    const auto weights_pd = *first_fast<BackwardWeightsPd>(
        {[&] { return make_pd(stored_desc(*params_.weight, dims)); },
         [&] { return make_pd(memory::desc(dims, DataType::f32, FormatTag::any)); }});
    const memory src = converted_input(context, src_, weights_pd.src_desc(), backward);
    const memory diff_dst =
        converted_input(context, out.diff, weights_pd.diff_dst_desc(), backward);
    weight_grad_.emplace(context, *params_.weight, dims, weights_pd.diff_weights_desc());
    weight_grad_->prepare_in(backward);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src},
                                         {DNNL_ARG_DIFF_DST, diff_dst},
                                         {DNNL_ARG_DIFF_WEIGHTS, weight_grad_->get()}};
    if (params_.bias) {
      args[DNNL_ARG_DIFF_BIAS] = memory(bias_md_, context.engine, params_.bias->grad.data());
    }
    backward.add(BackwardWeights(weights_pd), std::move(args));
    weight_grad_->finish_in(backward);
    implementation_ += " / bwd_weights " + std::string(weights_pd.impl_info_str());
  }

  ResolvedLayer layer_;
  LayerParameters params_;
  Fusion fusion_;
  // Set by the subclass's build_forward before add_forward.
  memory::desc src_md_, weights_md_, bias_md_, dst_md_;
  std::optional<ForwardPd> forward_pd_;

 private:
  memory src_;  // the forward's input in the layout the primitive read it
  std::optional<PrimitiveWeights> weights_, data_weights_;
  std::optional<GradientSink> weight_grad_;
  std::string implementation_;

 protected:
  const memory& forward_src() const { return src_; }
  const memory& forward_weights() const { return weights_->get(); }
};

}  // namespace pipeline::cnn::detail
