// A ReLU that could not be fused into the layer before it (e.g. after batch-norm or pooling).
#include <optional>

#include "nn/layers/layer_kind.h"
#include "nn/layers/layer_op.h"

namespace pipeline::cnn::detail {
namespace {

using dnnl::algorithm;
using dnnl::prop_kind;

class ReluOp final : public LayerOp {
 public:
  explicit ReluOp(const ResolvedLayer& layer) : layer_(layer) {}

  void build_forward(const BuildContext& context, Edge& in, Edge& out, Pass& forward) override {
    const memory::desc data_md = retyped(in.desc, context.activation_type);
    const memory src = converted_input(context, in.value, data_md, forward);
    forward_pd_.emplace(
        dnnl::eltwise_forward::desc(
            context.training ? prop_kind::forward_training : prop_kind::forward_inference,
            algorithm::eltwise_relu_use_dst_for_bwd, src.get_desc(), 0.0f, 0.0f),
        context.engine);
    out.desc = forward_pd_->dst_desc();
    out.value = memory(out.desc, context.engine);
    forward.add(dnnl::eltwise_forward(*forward_pd_),
                {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, out.value}});
  }

  void build_backward(const BuildContext& context, Edge& in, Edge& out, Pass& backward) override {
    if (!in.needs_diff) return;
    const dnnl::eltwise_backward::primitive_desc pd(
        {algorithm::eltwise_relu_use_dst_for_bwd, out.desc, out.desc, 0.0f, 0.0f}, context.engine,
        *forward_pd_);
    ensure_diff(context, in);
    const memory diff_src = output_buffer(context, in.diff, pd.diff_src_desc());
    backward.add(
        dnnl::eltwise_backward(pd),
        {{DNNL_ARG_DST, out.value}, {DNNL_ARG_DIFF_DST, out.diff}, {DNNL_ARG_DIFF_SRC, diff_src}});
    finish_output(diff_src, in.diff, backward);
  }

 private:
  ResolvedLayer layer_;
  std::optional<dnnl::eltwise_forward::primitive_desc> forward_pd_;
};

class ReluKind final : public LayerKind {
 public:
  proto::LayerSpec::KindCase kind_case() const override { return proto::LayerSpec::kRelu; }
  const char* name() const override { return "relu"; }
  void resolve(ResolvedLayer& /*layer*/) const override {}
  std::string describe(const ResolvedLayer& /*layer*/) const override { return "relu"; }

  LayerBuild build(const ResolvedModel& model, size_t index,
                   const LayerParameters& /*params*/) const override {
    return {std::make_unique<ReluOp>(model.layers[index])};
  }
};

}  // namespace

const LayerKind& relu_layer_kind() {
  static const ReluKind kind;
  return kind;
}

}  // namespace pipeline::cnn::detail
