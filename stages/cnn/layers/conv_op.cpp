// Convolution: forward with an optional fused ReLU post-op, backward data and weights.
#include <optional>
#include <stdexcept>

#include "stages/cnn/layers/layer_op.h"
#include "stages/cnn/layers/parameter_layout.h"

namespace pipeline::cnn::detail {
namespace {

using dnnl::algorithm;
using dnnl::convolution_backward_data;
using dnnl::convolution_backward_weights;
using dnnl::convolution_forward;
using dnnl::prop_kind;

// Winograd F(4x4, 3x3) needs fp32, 3x3 stride 1, and pays off only with enough channels.
bool winograd_suits(const ResolvedLayer& layer, DataType type) {
  const Window& w = layer.window;
  return type == DataType::f32 && w.kernel_rows == 3 && w.kernel_cols == 3 && w.stride_rows == 1 &&
         w.stride_cols == 1 && layer.in.channels >= 16 && layer.out.channels >= 16;
}

class ConvOp final : public LayerOp {
 public:
  ConvOp(const ResolvedLayer& layer, LayerParameters params, Fusion fusion)
      : layer_(layer), params_(params), fusion_(fusion) {}

  void build_forward(const BuildContext& context, Edge& in, Edge& out, Pass& forward) override {
    const Window& w = layer_.window;
    const memory::dim n = context.batch;
    const DataType type = context.activation_type;
    strides_ = {w.stride_rows, w.stride_cols};
    pad_before_ = {w.pad_top, w.pad_left};
    pad_after_ = {w.pad_bottom, w.pad_right};
    // Few input channels (the network's image): keep the input's plain layout. With one channel
    // nchw and nhwc are the same bytes, and declaring nchw lets oneDNN 2.6 pick its jit kernel
    // with a blocked output for training (it falls back to the reference kernel for nhwc with a
    // blocked output, and brgconv would force nhwc onto the next layer).
    const bool plain_input = layer_.in.channels < 8;
    src_md_ = plain_input ? retyped(in.desc, type)
                          : memory::desc({n, layer_.in.channels, layer_.in.rows, layer_.in.cols},
                                         type, FormatTag::any);
    weights_md_ =
        memory::desc({layer_.out.channels, layer_.in.channels, w.kernel_rows, w.kernel_cols}, type,
                     FormatTag::any);
    bias_md_ = params_.bias ? memory::desc({layer_.out.channels}, DataType::f32, FormatTag::a)
                            : memory::desc();
    dst_md_ = memory::desc({n, layer_.out.channels, layer_.out.rows, layer_.out.cols}, type,
                           FormatTag::any);

    dnnl::primitive_attr attr;
    if (fusion_.relu) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
      attr.set_post_ops(ops);
    }
    const prop_kind kind =
        context.training ? prop_kind::forward_training : prop_kind::forward_inference;
    const auto algorithm_spec = layer_.spec.conv().algorithm();
    const bool try_winograd =
        algorithm_spec == proto::CONV_ALGORITHM_WINOGRAD ||
        (algorithm_spec == proto::CONV_ALGORITHM_AUTO && winograd_suits(layer_, type));
    if (try_winograd) {
      algorithm_ = algorithm::convolution_winograd;
      forward_pd_ = try_forward_pd(context, kind, attr);
    }
    if (!forward_pd_) {
      if (algorithm_spec == proto::CONV_ALGORITHM_WINOGRAD) {
        throw std::invalid_argument("layer " + layer_.name +
                                    ": Winograd convolution is not available for this shape "
                                    "or precision (needs fp32, 3x3, stride 1)");
      }
      algorithm_ = algorithm::convolution_direct;
      forward_pd_ = try_forward_pd(context, kind, attr);
    }
    if (!forward_pd_) throw std::runtime_error("layer " + layer_.name + ": no convolution");

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
    if (params_.bias) args[DNNL_ARG_BIAS] = bias_memory(context, *params_.bias);
    forward.add(convolution_forward(*forward_pd_), std::move(args));
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
      const memory::desc any_weights(weights_md_.dims(), type, FormatTag::any);
      const memory::desc forward_weights = weights_->get().get_desc();
      const auto data_pd = first_fast<convolution_backward_data::primitive_desc>(
          {[&] { return backward_data_pd(context, in.desc, forward_weights, any_diff_dst); },
           [&] { return backward_data_pd(context, in.desc, any_weights, any_diff_dst); },
           [&] { return backward_data_pd(context, any_src, any_weights, any_diff_dst); }});
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
      backward.add(convolution_backward_data(*data_pd), {{DNNL_ARG_DIFF_DST, diff_dst},
                                                         {DNNL_ARG_WEIGHTS, weights},
                                                         {DNNL_ARG_DIFF_SRC, diff_src}});
      finish_output(diff_src, in.diff, backward);
      implementation_ += " / bwd_data " + std::string(data_pd->impl_info_str());
    }

    // Preferred: the gradient straight into the parameter's stored layout.
    const memory::desc diff_bias_md =
        params_.bias ? memory::desc({layer_.out.channels}, DataType::f32, FormatTag::a)
                     : memory::desc();
    const auto make_weights_pd = [&](const memory::desc& diff_weights) {
      return convolution_backward_weights::primitive_desc(
          {algorithm_, src_.get_desc(), diff_weights, diff_bias_md, any_diff_dst, strides_,
           pad_before_, pad_after_},
          context.engine, *forward_pd_);
    };
    const auto weights_pd = *first_fast<convolution_backward_weights::primitive_desc>(
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
      args[DNNL_ARG_DIFF_BIAS] = memory(diff_bias_md, context.engine, params_.bias->grad.data());
    }
    backward.add(convolution_backward_weights(weights_pd), std::move(args));
    weight_grad_->finish_in(backward);
    implementation_ += " / bwd_weights " + std::string(weights_pd.impl_info_str());
  }

  std::string implementation() const override { return implementation_; }

 private:
  convolution_backward_data::primitive_desc backward_data_pd(const BuildContext& context,
                                                             const memory::desc& diff_src,
                                                             const memory::desc& weights,
                                                             const memory::desc& diff_dst) {
    return convolution_backward_data::primitive_desc(
        {algorithm_, retyped(diff_src, context.activation_type), weights, diff_dst, strides_,
         pad_before_, pad_after_},
        context.engine, *forward_pd_);
  }

  std::optional<convolution_forward::primitive_desc> try_forward_pd(
      const BuildContext& context, prop_kind kind, const dnnl::primitive_attr& attr) {
    try {
      auto pd =
          convolution_forward::primitive_desc({kind, algorithm_, src_md_, weights_md_, bias_md_,
                                               dst_md_, strides_, pad_before_, pad_after_},
                                              attr, context.engine);
      return pd;
    } catch (const dnnl::error&) {
      return std::nullopt;
    }
  }

  static memory bias_memory(const BuildContext& context, Parameter& bias) {
    return memory(logical_desc(bias.shape, FormatTag::a), context.engine, bias.value.data());
  }

  ResolvedLayer layer_;
  LayerParameters params_;
  Fusion fusion_;
  algorithm algorithm_ = algorithm::convolution_direct;
  memory::dims strides_, pad_before_, pad_after_;
  memory::desc src_md_, weights_md_, bias_md_, dst_md_;
  std::optional<convolution_forward::primitive_desc> forward_pd_;
  memory src_;
  std::optional<PrimitiveWeights> weights_, data_weights_;
  std::optional<GradientSink> weight_grad_;
  std::string implementation_;
};

}  // namespace

std::unique_ptr<LayerOp> make_conv_op(const ResolvedLayer& layer, LayerParameters params,
                                      Fusion fusion) {
  return std::make_unique<ConvOp>(layer, params, fusion);
}

}  // namespace pipeline::cnn::detail
