// Convolution: its spec (padding, strides, output shape) and its op, forward with an optional fused
// ReLU post-op, backward data and weights.
#include <algorithm>
#include <optional>
#include <stdexcept>

#include "nn/layers/layer_kind.h"
#include "nn/layers/weighted_op.h"
#include "nn/layers/window_geometry.h"

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

class ConvOp final : public WeightedOp<convolution_forward, convolution_backward_data,
                                       convolution_backward_weights> {
 public:
  ConvOp(const ResolvedLayer& layer, LayerParameters params, Fusion fusion)
      : WeightedOp(layer, params, fusion) {}

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

    const dnnl::primitive_attr attr = relu_post_op(fusion_.relu);
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

    add_forward(context, in, out, forward);
  }

  void build_backward(const BuildContext& context, Edge& in, Edge& out, Pass& backward) override {
    const memory::desc any_diff_dst = start_backward(context, out, backward);
    if (in.needs_diff) {
      // Preferred: the gradient in the activation's own layout and the forward's weights (no
      // reorders); then what the primitive prefers.
      const DataType type = context.activation_type;
      const memory::desc any_src(src_md_.dims(), type, FormatTag::any);
      const memory::desc any_weights(weights_md_.dims(), type, FormatTag::any);
      const memory::desc forward_layout = forward_weights().get_desc();
      add_backward_data(
          context,
          first_fast<BackwardDataPd>(
              {[&] { return backward_data_pd(context, in.desc, forward_layout, any_diff_dst); },
               [&] { return backward_data_pd(context, in.desc, any_weights, any_diff_dst); },
               [&] { return backward_data_pd(context, any_src, any_weights, any_diff_dst); }}),
          in, out, backward);
    }
    add_backward_weights(
        context,
        [&](const memory::desc& diff_weights) {
          return BackwardWeightsPd({algorithm_, forward_src().get_desc(), diff_weights, bias_md_,
                                    any_diff_dst, strides_, pad_before_, pad_after_},
                                   context.engine, *forward_pd_);
        },
        out, backward);
  }

 private:
  BackwardDataPd backward_data_pd(const BuildContext& context, const memory::desc& diff_src,
                                  const memory::desc& weights, const memory::desc& diff_dst) {
    return BackwardDataPd({algorithm_, retyped(diff_src, context.activation_type), weights,
                           diff_dst, strides_, pad_before_, pad_after_},
                          context.engine, *forward_pd_);
  }

  std::optional<ForwardPd> try_forward_pd(const BuildContext& context, prop_kind kind,
                                          const dnnl::primitive_attr& attr) {
    try {
      auto pd = ForwardPd({kind, algorithm_, src_md_, weights_md_, bias_md_, dst_md_, strides_,
                           pad_before_, pad_after_},
                          attr, context.engine);
      return pd;
    } catch (const dnnl::error&) {
      return std::nullopt;
    }
  }

  algorithm algorithm_ = algorithm::convolution_direct;
  memory::dims strides_, pad_before_, pad_after_;
};

class ConvKind final : public LayerKind {
 public:
  proto::LayerSpec::KindCase kind_case() const override { return proto::LayerSpec::kConv; }
  const char* name() const override { return "conv"; }
  bool has_window() const override { return true; }

  void resolve(ResolvedLayer& layer) const override {
    const proto::ConvSpec& conv = layer.spec.conv();
    if (layer.in.flat) fail_layer(layer, "a convolution needs an image input, got flat features");
    if (conv.filters() == 0) fail_layer(layer, "filters must be at least 1");
    Window& w = layer.window;
    w.kernel_rows = or_default(conv.kernel_rows(), conv.kernel());
    w.kernel_cols = or_default(conv.kernel_cols(), conv.kernel());
    if (w.kernel_rows == 0 || w.kernel_cols == 0) fail_layer(layer, "kernel size is missing");
    w.stride_rows = or_default(conv.stride_rows(), or_default(conv.stride(), 1));
    w.stride_cols = or_default(conv.stride_cols(), or_default(conv.stride(), 1));
    if (conv.same()) {
      same_padding(layer.in.rows, w.kernel_rows, w.stride_rows, w.pad_top, w.pad_bottom);
      same_padding(layer.in.cols, w.kernel_cols, w.stride_cols, w.pad_left, w.pad_right);
    } else {
      w.pad_top = w.pad_bottom = conv.has_pad_rows() ? conv.pad_rows() : conv.pad();
      w.pad_left = w.pad_right = conv.has_pad_cols() ? conv.pad_cols() : conv.pad();
    }
    if (w.pad_top >= w.kernel_rows || w.pad_left >= w.kernel_cols) {
      fail_layer(layer, "padding must be smaller than the kernel");
    }
    layer.out.channels = conv.filters();
    slide_window(layer);
  }

  double parameter_count(const ResolvedLayer& layer) const override {
    return static_cast<double>(layer.out.channels) *
           (static_cast<double>(layer.in.channels) * static_cast<double>(layer.window.kernel_rows) *
                static_cast<double>(layer.window.kernel_cols) +
            1);
  }

  double forward_flops(const ResolvedLayer& layer) const override {
    return 2.0 * layer.out.elements() * layer.in.channels * layer.window.kernel_rows *
           layer.window.kernel_cols;
  }

  void add_parameters(const ResolvedLayer& layer, ParameterFactory& factory,
                      LayerParameters& params) const override {
    add_kernel_and_bias(layer, true, layer.spec.conv().no_bias(), factory, params);
  }

  std::string describe(const ResolvedLayer& layer) const override {
    return "conv " + window_text(layer.window) + " x" + std::to_string(layer.spec.conv().filters());
  }

  LayerBuild build(const ResolvedModel& model, size_t index,
                   const LayerParameters& params) const override {
    const Fusion fusion = weighted_layer_fusion(model, index);
    return {std::make_unique<ConvOp>(model.layers[index], params, fusion), fusion.relu ? 2u : 1u};
  }

 private:
  // `same`: output = ceil(input / stride); the extra pixel of an odd total goes after.
  static void same_padding(int64_t length, int64_t kernel, int64_t stride, int64_t& before,
                           int64_t& after) {
    const int64_t out = (length + stride - 1) / stride;
    const int64_t total = std::max<int64_t>((out - 1) * stride + kernel - length, 0);
    before = total / 2;
    after = total - before;
  }
};

}  // namespace

const LayerKind& conv_layer_kind() {
  static const ConvKind kind;
  return kind;
}

}  // namespace pipeline::cnn::detail
