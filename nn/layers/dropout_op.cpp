// Inverted dropout, on the host. Whether an element survives is a hash of (model seed, layer,
// training step, element position), so the backward pass recomputes the mask instead of storing
// it, and the result does not depend on thread count or timing. The mask runs over the physical
// buffer, which is fine for an element-wise operation in any layout.
#include <cstdio>
#include <cstring>

#include "nn/layers/layer_kind.h"
#include "nn/layers/layer_op.h"
#include "nn/random.h"

namespace pipeline::cnn::detail {
namespace {

float bf16_to_float(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof(value));
  return value;
}

uint16_t float_to_bf16(float value) {  // round to nearest even
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  bits += 0x7FFF + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
}

class DropoutOp final : public LayerOp {
 public:
  explicit DropoutOp(const ResolvedLayer& layer)
      : layer_(layer), rate_(layer.spec.dropout().rate()), scale_(1.0f / (1.0f - rate_)) {}

  void build_forward(const BuildContext& context, Edge& in, Edge& out, Pass& forward) override {
    const memory src =
        converted_input(context, in.value, retyped(in.desc, context.activation_type), forward);
    out.desc = src.get_desc();
    if (!context.training || rate_ == 0.0f) {
      out.value = src;
      return;
    }
    out.value = memory(out.desc, context.engine);
    layer_seed_ = mix64(context.dropout_seed ^ hash_string(layer_.name));
    step_ = context.dropout_step;
    forward.add_host([this, src, dst = out.value](dnnl::stream&) { apply(src, dst); }, "dropout");
  }

  void build_backward(const BuildContext& context, Edge& in, Edge& out, Pass& backward) override {
    if (!in.needs_diff) return;
    if (!out.value || out.value.get(true) == in.value.get(true) || rate_ == 0.0f) {
      in.diff = out.diff;
      return;
    }
    ensure_diff(context, in);
    backward.add_host([this, from = out.diff, to = in.diff](dnnl::stream&) { apply(from, to); },
                      "dropout");
  }

 private:
  // to = from * mask / (1 - rate), element by element over the physical buffer.
  void apply(const memory& from, const memory& to) const {
    const memory::desc desc = from.get_desc();
    const bool bf16 = desc.data_type() == DataType::bf16;
    const int64_t count =
        static_cast<int64_t>(desc.get_size() / (bf16 ? sizeof(uint16_t) : sizeof(float)));
    const uint64_t base = mix64(layer_seed_ + mix64(*step_));
    const float rate = rate_, scale = scale_;
    void* in = from.get_data_handle();
    void* out = to.get_data_handle();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < count; ++i) {
      const float keep = unit_float(mix64(base + static_cast<uint64_t>(i))) >= rate ? scale : 0.0f;
      if (bf16) {
        static_cast<uint16_t*>(out)[i] =
            float_to_bf16(bf16_to_float(static_cast<const uint16_t*>(in)[i]) * keep);
      } else {
        static_cast<float*>(out)[i] = static_cast<const float*>(in)[i] * keep;
      }
    }
  }

  ResolvedLayer layer_;
  float rate_, scale_;
  uint64_t layer_seed_ = 0;
  const uint64_t* step_ = nullptr;
};

class DropoutKind final : public LayerKind {
 public:
  proto::LayerSpec::KindCase kind_case() const override { return proto::LayerSpec::kDropout; }
  const char* name() const override { return "dropout"; }

  void resolve(ResolvedLayer& layer) const override {
    const float rate = layer.spec.dropout().rate();
    if (!(rate >= 0.0f && rate < 1.0f)) {
      fail_layer(layer, "dropout rate must be in [0, 1), got " + std::to_string(rate));
    }
  }

  std::string describe(const ResolvedLayer& layer) const override {
    char rate[32];
    std::snprintf(rate, sizeof(rate), "%.2f", layer.spec.dropout().rate());
    return std::string("dropout ") + rate;
  }

  LayerBuild build(const ResolvedModel& model, size_t index,
                   const LayerParameters& /*params*/) const override {
    return {std::make_unique<DropoutOp>(model.layers[index])};
  }
};

}  // namespace

const LayerKind& dropout_layer_kind() {
  static const DropoutKind kind;
  return kind;
}

}  // namespace pipeline::cnn::detail
