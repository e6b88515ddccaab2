// Max / average pooling. Training max pooling runs oneDNN's inference kernel forward and
// max_pool_backward.cpp backward (oneDNN's workspace-keeping training kernel is far slower); in
// layouts that routine does not know, oneDNN's training kernel and workspace are used instead.
// When a fused ReLU precedes the pool, the ReLU is undone here on the pooled gradient (4x smaller):
// max and ReLU commute, so the mask dst > 0 of the pooled output is exactly the one that matters.
#include <optional>

#include "nn/layers/layer_kind.h"
#include "nn/layers/layer_op.h"
#include "nn/layers/max_pool_backward.h"
#include "nn/layers/window_geometry.h"

namespace pipeline::cnn::detail {
namespace {

using dnnl::algorithm;
using dnnl::pooling_backward;
using dnnl::pooling_forward;
using dnnl::prop_kind;

class PoolOp final : public LayerOp {
 public:
  PoolOp(const ResolvedLayer& layer, Fusion fusion) : layer_(layer), fusion_(fusion) {}

  void build_forward(const BuildContext& context, Edge& in, Edge& out, Pass& forward) override {
    const Window& w = layer_.window;
    const DataType type = context.activation_type;
    algorithm_ = layer_.spec.pool().kind() == proto::POOL_AVG
                     ? algorithm::pooling_avg_include_padding
                     : algorithm::pooling_max;
    strides_ = {w.stride_rows, w.stride_cols};
    kernel_ = {w.kernel_rows, w.kernel_cols};
    pad_before_ = {w.pad_top, w.pad_left};
    pad_after_ = {w.pad_bottom, w.pad_right};
    const memory::desc src_md = retyped(in.desc, type);
    dst_md_ = memory::desc({context.batch, layer_.out.channels, layer_.out.rows, layer_.out.cols},
                           type, FormatTag::any);
    const bool max = algorithm_ == algorithm::pooling_max;
    const auto make_pd = [&](prop_kind kind) {
      return pooling_forward::primitive_desc(
          {kind, algorithm_, src_md, dst_md_, strides_, kernel_, pad_before_, pad_after_},
          context.engine);
    };
    forward_pd_.emplace(make_pd(context.training && !max ? prop_kind::forward_training
                                                         : prop_kind::forward_inference));
    if (context.training && max) {
      own_backward_ = channel_blocked_layout(forward_pd_->src_desc(), in_layout_) &&
                      channel_blocked_layout(forward_pd_->dst_desc(), out_layout_) &&
                      in_layout_.block == out_layout_.block;
      if (!own_backward_) forward_pd_.emplace(make_pd(prop_kind::forward_training));
    }
    const memory src = converted_input(context, in.value, forward_pd_->src_desc(), forward);
    out.desc = forward_pd_->dst_desc();
    out.value = memory(out.desc, context.engine);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, out.value}};
    if (context.training && max && !own_backward_) {
      workspace_ = memory(forward_pd_->workspace_desc(), context.engine);
      args[DNNL_ARG_WORKSPACE] = workspace_;
    }
    src_ = src;
    forward.add(pooling_forward(*forward_pd_), std::move(args));
    implementation_ = forward_pd_->impl_info_str();
  }

  void build_backward(const BuildContext& context, Edge& in, Edge& out, Pass& backward) override {
    if (own_backward_) {
      if (!in.needs_diff) return;
      ensure_diff(context, in);
      const memory diff_src = output_buffer(context, in.diff, src_.get_desc());
      const PoolWindow window{kernel_[0],  kernel_[1],     strides_[0],
                              strides_[1], pad_before_[0], pad_before_[1]};
      const bool bf16 = context.activation_type == DataType::bf16;
      const bool relu_mask = fusion_.relu_backward_on_output;
      backward.add_host(
          [=, this, src = src_, dst = out.value, diff_dst = out.diff](dnnl::stream&) {
            max_pool_backward(in_layout_, out_layout_, window, bf16, relu_mask,
                              src.get_data_handle(), dst.get_data_handle(),
                              diff_dst.get_data_handle(), diff_src.get_data_handle());
          },
          "max_pool_backward");
      finish_output(diff_src, in.diff, backward);
      implementation_ += " / bwd max_pool_backward";
      return;
    }
    if (fusion_.relu_backward_on_output) add_relu_backward(context, out, backward);
    if (!in.needs_diff) return;
    const DataType type = context.activation_type;
    const auto pd = pooling_backward::primitive_desc(
        {algorithm_, memory::desc(src_.get_desc().dims(), type, FormatTag::any),
         memory::desc(dst_md_.dims(), type, FormatTag::any), strides_, kernel_, pad_before_,
         pad_after_},
        context.engine, *forward_pd_);
    const memory diff_dst = converted_input(context, out.diff, pd.diff_dst_desc(), backward);
    ensure_diff(context, in);
    const memory diff_src = output_buffer(context, in.diff, pd.diff_src_desc());
    std::unordered_map<int, memory> args{{DNNL_ARG_DIFF_DST, diff_dst},
                                         {DNNL_ARG_DIFF_SRC, diff_src}};
    if (workspace_) args[DNNL_ARG_WORKSPACE] = workspace_;
    backward.add(pooling_backward(pd), std::move(args));
    finish_output(diff_src, in.diff, backward);
    implementation_ += " / bwd " + std::string(pd.impl_info_str());
  }

  std::string implementation() const override { return implementation_; }

 private:
  ResolvedLayer layer_;
  Fusion fusion_;
  algorithm algorithm_ = algorithm::pooling_max;
  memory::dims strides_, kernel_, pad_before_, pad_after_;
  memory::desc dst_md_;
  std::optional<pooling_forward::primitive_desc> forward_pd_;
  memory src_, workspace_;
  bool own_backward_ = false;
  ChannelBlockedLayout in_layout_, out_layout_;
  std::string implementation_;
};

class PoolKind final : public LayerKind {
 public:
  proto::LayerSpec::KindCase kind_case() const override { return proto::LayerSpec::kPool; }
  const char* name() const override { return "pool"; }
  bool has_window() const override { return true; }

  void resolve(ResolvedLayer& layer) const override {
    const proto::PoolSpec& pool = layer.spec.pool();
    if (layer.in.flat) fail_layer(layer, "pooling needs an image input, got flat features");
    Window& w = layer.window;
    w.kernel_rows = w.kernel_cols = or_default(pool.size(), 2);
    w.stride_rows = w.stride_cols = or_default(pool.stride(), w.kernel_rows);
    w.pad_top = w.pad_bottom = w.pad_left = w.pad_right = pool.pad();
    if (pool.pad() >= static_cast<uint32_t>(w.kernel_rows)) {
      fail_layer(layer, "padding must be smaller than the window");
    }
    layer.out.channels = layer.in.channels;
    slide_window(layer);
  }

  std::string describe(const ResolvedLayer& layer) const override {
    return std::string(layer.spec.pool().kind() == proto::POOL_AVG ? "avgpool " : "maxpool ") +
           window_text(layer.window);
  }

  LayerBuild build(const ResolvedModel& model, size_t index,
                   const LayerParameters& /*params*/) const override {
    Fusion fusion;
    fusion.relu_backward_on_output = index >= 2 && relu_before_max_pool(model, index - 2);
    return {std::make_unique<PoolOp>(model.layers[index], fusion)};
  }
};

}  // namespace

const LayerKind& pool_layer_kind() {
  static const PoolKind kind;
  return kind;
}

}  // namespace pipeline::cnn::detail
