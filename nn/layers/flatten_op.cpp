// (N, C, H, W) -> (N, C*H*W) in NCHW order. Free when a dense layer follows (it reads the 4-D
// activation directly, see dense_op.cpp) or when the activation is already plain nchw; otherwise
// one reorder to nchw each way.
#include "nn/layers/layer_kind.h"
#include "nn/layers/layer_op.h"

namespace pipeline::cnn::detail {
namespace {

class FlattenOp final : public LayerOp {
 public:
  FlattenOp(const ResolvedLayer& layer, Fusion fusion) : layer_(layer), fusion_(fusion) {}

  void build_forward(const BuildContext& context, Edge& in, Edge& out, Pass& forward) override {
    const memory::dims dims = in.desc.dims();
    if (fusion_.next_is_dense || dims.size() == 2) {
      out.desc = in.desc;
      out.value = in.value;
      passthrough_ = true;
      return;
    }
    const memory::desc nchw(dims, in.desc.data_type(), FormatTag::nchw);
    const memory plain = converted_input(context, in.value, nchw, forward);
    out.desc =
        memory::desc({dims[0], dims[1] * dims[2] * dims[3]}, in.desc.data_type(), FormatTag::nc);
    out.value = memory(out.desc, context.engine, plain.get_data_handle());
    plain_ = plain;  // keeps the buffer alive
  }

  void build_backward(const BuildContext& context, Edge& in, Edge& out, Pass& backward) override {
    if (!in.needs_diff) return;
    if (passthrough_) {
      in.diff = out.diff;
      return;
    }
    const memory::desc nchw(in.desc.dims(), out.desc.data_type(), FormatTag::nchw);
    const memory diff_nchw(nchw, context.engine, out.diff.get_data_handle());
    ensure_diff(context, in);
    finish_output(diff_nchw, in.diff, backward);
  }

 private:
  ResolvedLayer layer_;
  Fusion fusion_;
  bool passthrough_ = false;
  memory plain_;
};

class FlattenKind final : public LayerKind {
 public:
  proto::LayerSpec::KindCase kind_case() const override { return proto::LayerSpec::kFlatten; }
  const char* name() const override { return "flatten"; }

  void resolve(ResolvedLayer& layer) const override {
    layer.out = FeatureShape{layer.in.elements(), 1, 1, true};
  }

  std::string describe(const ResolvedLayer& /*layer*/) const override { return "flatten"; }

  LayerBuild build(const ResolvedModel& model, size_t index,
                   const LayerParameters& /*params*/) const override {
    Fusion fusion;
    fusion.next_is_dense = kind_at(model, index + 1) == proto::LayerSpec::kDense;
    return {std::make_unique<FlattenOp>(model.layers[index], fusion)};
  }
};

}  // namespace

const LayerKind& flatten_layer_kind() {
  static const FlattenKind kind;
  return kind;
}

}  // namespace pipeline::cnn::detail
