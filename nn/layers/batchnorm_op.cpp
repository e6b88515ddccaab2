// Batch normalization over the channels of a 4-D activation or the features of a flat one, with
// learned scale (gamma) and shift (beta). Training normalises with the batch statistics and folds
// them into the running mean / unbiased variance; inference uses the running statistics.
//
// A ReLU right after it is fused (fuse_norm_relu): one pass over the activation instead of two
// forward and two backward, with a 1-bit-per-element workspace remembering where the ReLU cut.
//
// gamma and beta travel in one (2, C) "scale_shift" buffer: with separate use_scale / use_shift
// flags oneDNN 2.6 builds a backward primitive that refuses to execute (oneDNN issue #1717).
#include <algorithm>
#include <optional>

#include "nn/layers/layer_kind.h"
#include "nn/layers/layer_op.h"

namespace pipeline::cnn::detail {
namespace {

using dnnl::batch_normalization_backward;
using dnnl::batch_normalization_forward;
using dnnl::normalization_flags;
using dnnl::prop_kind;

class BatchNormOp final : public LayerOp {
 public:
  BatchNormOp(const ResolvedLayer& layer, LayerParameters params, Fusion fusion)
      : layer_(layer),
        params_(params),
        fuse_relu_(fusion.relu),
        epsilon_(layer.spec.batchnorm().epsilon() > 0 ? layer.spec.batchnorm().epsilon() : 1e-5f),
        momentum_(layer.spec.batchnorm().momentum() > 0 ? layer.spec.batchnorm().momentum()
                                                        : 0.1f) {}

  void build_forward(const BuildContext& context, Edge& in, Edge& out, Pass& forward) override {
    const memory::desc data_md = retyped(in.desc, context.activation_type);
    src_ = converted_input(context, in.value, data_md, forward);
    flags_ = normalization_flags::use_scale_shift;
    if (!context.training) flags_ = flags_ | normalization_flags::use_global_stats;
    if (fuse_relu_) flags_ = flags_ | normalization_flags::fuse_norm_relu;
    forward_pd_.emplace(
        batch_normalization_forward::desc(
            context.training ? prop_kind::forward_training : prop_kind::forward_inference,
            src_.get_desc(), epsilon_, flags_),
        context.engine);
    out.desc = forward_pd_->dst_desc();
    out.value = memory(out.desc, context.engine);
    const memory::dim channels = layer_.out.channels;
    const memory::desc channel_md({channels}, DataType::f32, FormatTag::a);
    const auto wrap = [&](Parameter* p) {
      return memory(channel_md, context.engine, p->value.data());
    };
    const memory::desc pair_md({2, channels}, DataType::f32, FormatTag::nc);
    scale_shift_ = memory(pair_md, context.engine);
    diff_scale_shift_ = memory(pair_md, context.engine);
    forward.add_host([this](dnnl::stream&) { gather_scale_shift(); }, "scale_shift");
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, src_}, {DNNL_ARG_DST, out.value}, {DNNL_ARG_SCALE_SHIFT, scale_shift_}};
    if (context.training) {
      mean_ = memory(channel_md, context.engine);
      variance_ = memory(channel_md, context.engine);
      const double count = static_cast<double>(context.batch) *
                           (layer_.in.flat ? 1 : layer_.in.rows * layer_.in.cols);
      const float unbias = count > 1 ? static_cast<float>(count / (count - 1)) : 1.0f;
      if (fuse_relu_) workspace_ = memory(forward_pd_->workspace_desc(), context.engine);
      forward.add(batch_normalization_forward(*forward_pd_), [&] {
        args[DNNL_ARG_MEAN] = mean_;
        args[DNNL_ARG_VARIANCE] = variance_;
        if (fuse_relu_) args[DNNL_ARG_WORKSPACE] = workspace_;
        return args;
      }());
      forward.add_host([this, unbias](dnnl::stream&) { update_running_statistics(unbias); },
                       "running statistics");
    } else {
      args[DNNL_ARG_MEAN] = wrap(params_.running_mean);
      args[DNNL_ARG_VARIANCE] = wrap(params_.running_var);
      forward.add(batch_normalization_forward(*forward_pd_), std::move(args));
    }
  }

  void build_backward(const BuildContext& context, Edge& in, Edge& out, Pass& backward) override {
    // The gradient uses the data's own layout: oneDNN 2.6 accepts format_tag::any here but the
    // resulting primitive then refuses to execute.
    const auto pd = batch_normalization_backward::primitive_desc(
        {prop_kind::backward, src_.get_desc(), src_.get_desc(), epsilon_, flags_}, context.engine,
        *forward_pd_);
    const memory diff_dst = converted_input(context, out.diff, pd.diff_dst_desc(), backward);
    memory diff_src;
    if (in.needs_diff) {
      ensure_diff(context, in);
      diff_src = output_buffer(context, in.diff, pd.diff_src_desc());
    } else {
      diff_src = memory(pd.diff_src_desc(), context.engine);  // needed, then discarded
    }
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src_},
                                         {DNNL_ARG_MEAN, mean_},
                                         {DNNL_ARG_VARIANCE, variance_},
                                         {DNNL_ARG_DIFF_DST, diff_dst},
                                         {DNNL_ARG_SCALE_SHIFT, scale_shift_},
                                         {DNNL_ARG_DIFF_SRC, diff_src},
                                         {DNNL_ARG_DIFF_SCALE_SHIFT, diff_scale_shift_}};
    if (fuse_relu_) args[DNNL_ARG_WORKSPACE] = workspace_;
    backward.add(batch_normalization_backward(pd), std::move(args));
    backward.add_host([this](dnnl::stream&) { scatter_gradients(); }, "scale_shift gradient");
    if (in.needs_diff) finish_output(diff_src, in.diff, backward);
  }

  std::string implementation() const override {
    return forward_pd_ ? forward_pd_->impl_info_str() : "";
  }

 private:
  void gather_scale_shift() {
    float* pair = static_cast<float*>(scale_shift_.get_data_handle());
    const AlignedFloats& gamma = params_.weight->value;
    std::copy(gamma.begin(), gamma.end(), pair);
    std::copy(params_.bias->value.begin(), params_.bias->value.end(), pair + gamma.size());
  }

  void scatter_gradients() {
    const float* pair = static_cast<const float*>(diff_scale_shift_.get_data_handle());
    AlignedFloats& gamma = params_.weight->grad;
    std::copy(pair, pair + gamma.size(), gamma.begin());
    std::copy(pair + gamma.size(), pair + 2 * gamma.size(), params_.bias->grad.begin());
  }

  void update_running_statistics(float unbias) {
    const float* mean = static_cast<const float*>(mean_.get_data_handle());
    const float* variance = static_cast<const float*>(variance_.get_data_handle());
    AlignedFloats& running_mean = params_.running_mean->value;
    AlignedFloats& running_var = params_.running_var->value;
    for (size_t c = 0; c < running_mean.size(); ++c) {
      running_mean[c] += momentum_ * (mean[c] - running_mean[c]);
      running_var[c] += momentum_ * (variance[c] * unbias - running_var[c]);
    }
    ++params_.running_mean->version;
    ++params_.running_var->version;
  }

  ResolvedLayer layer_;
  LayerParameters params_;
  bool fuse_relu_;
  float epsilon_, momentum_;
  normalization_flags flags_ = normalization_flags::none;
  std::optional<batch_normalization_forward::primitive_desc> forward_pd_;
  memory src_, mean_, variance_, scale_shift_, diff_scale_shift_;
  memory workspace_;  // fused ReLU: where it cut (training only)
};

class BatchNormKind final : public LayerKind {
 public:
  proto::LayerSpec::KindCase kind_case() const override { return proto::LayerSpec::kBatchnorm; }
  const char* name() const override { return "bn"; }

  void resolve(ResolvedLayer& layer) const override {
    const proto::BatchNormSpec& bn = layer.spec.batchnorm();
    if (bn.epsilon() < 0.0f) fail_layer(layer, "epsilon must not be negative");
    if (bn.momentum() < 0.0f || bn.momentum() > 1.0f) {
      fail_layer(layer, "momentum must be in [0, 1]");
    }
  }

  // gamma starts at 1 and beta at 0 (the identity); the running variance starts at 1.
  void add_parameters(const ResolvedLayer& layer, ParameterFactory& factory,
                      LayerParameters& params) const override {
    const int64_t channels = layer.in.channels;
    params.weight = factory.trained("gamma", {channels}, false);
    std::fill(params.weight->value.begin(), params.weight->value.end(), 1.0f);
    params.bias = factory.trained("beta", {channels}, false);
    params.running_mean = factory.buffer("running_mean", {channels});
    params.running_var = factory.buffer("running_var", {channels});
    std::fill(params.running_var->value.begin(), params.running_var->value.end(), 1.0f);
  }

  std::string describe(const ResolvedLayer& /*layer*/) const override { return "batchnorm"; }

  LayerBuild build(const ResolvedModel& model, size_t index,
                   const LayerParameters& params) const override {
    Fusion fusion;
    fusion.relu = kind_at(model, index + 1) == proto::LayerSpec::kRelu;
    return {std::make_unique<BatchNormOp>(model.layers[index], params, fusion),
            fusion.relu ? 2u : 1u};
  }
};

}  // namespace

const LayerKind& batchnorm_layer_kind() {
  static const BatchNormKind kind;
  return kind;
}

}  // namespace pipeline::cnn::detail
