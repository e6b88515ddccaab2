#include "nn/layers/layer_op.h"

namespace pipeline::cnn::detail {

memory converted_input(const BuildContext& context, const memory& mem, const memory::desc& wanted,
                       Pass& pass) {
  if (mem.get_desc() == wanted) return mem;
  memory converted(wanted, context.engine);
  pass.add_reorder(mem, converted);
  return converted;
}

memory output_buffer(const BuildContext& context, const memory& target,
                     const memory::desc& produced) {
  if (target.get_desc() == produced) return target;
  return memory(produced, context.engine);
}

void finish_output(const memory& written, const memory& target, Pass& pass) {
  if (written.get(true) != target.get(true)) pass.add_reorder(written, target);
}

memory::desc retyped(const memory::desc& desc, DataType type) {
  if (desc.data_type() == type) return desc;
  if (desc.data.format_kind != dnnl_blocked) return memory::desc(desc.dims(), type, FormatTag::any);
  // Blocking is counted in elements, so the same layout holds any element type.
  dnnl_memory_desc_t copy = desc.data;
  copy.data_type = static_cast<dnnl_data_type_t>(type);
  return memory::desc(copy);
}

void ensure_diff(const BuildContext& context, Edge& edge) {
  if (!edge.diff) edge.diff = memory(edge.desc, context.engine);
}

void add_relu_backward(const BuildContext& context, const Edge& edge, Pass& pass) {
  using dnnl::algorithm;
  const algorithm relu = algorithm::eltwise_relu_use_dst_for_bwd;
  const dnnl::eltwise_forward::primitive_desc hint(
      {dnnl::prop_kind::forward_training, relu, edge.desc, 0.0f, 0.0f}, context.engine);
  const dnnl::eltwise_backward::primitive_desc pd({relu, edge.desc, edge.desc, 0.0f, 0.0f},
                                                  context.engine, hint);
  pass.add(
      dnnl::eltwise_backward(pd),
      {{DNNL_ARG_DST, edge.value}, {DNNL_ARG_DIFF_DST, edge.diff}, {DNNL_ARG_DIFF_SRC, edge.diff}});
}

memory::desc logical_desc(const std::vector<int64_t>& shape, FormatTag tag) {
  return memory::desc(memory::dims(shape.begin(), shape.end()), DataType::f32, tag);
}

}  // namespace pipeline::cnn::detail

namespace pipeline::cnn::detail {

using Kind = proto::LayerSpec::KindCase;

Kind kind_at(const ResolvedModel& model, size_t i) {
  return i < model.layers.size() ? model.layers[i].spec.kind_case() : Kind::KIND_NOT_SET;
}

bool relu_before_max_pool(const ResolvedModel& model, size_t first) {
  const Kind head = kind_at(model, first);
  return (head == Kind::kConv || head == Kind::kDense) &&
         kind_at(model, first + 1) == Kind::kRelu && kind_at(model, first + 2) == Kind::kPool &&
         model.layers[first + 2].spec.pool().kind() == proto::POOL_MAX;
}

void add_kernel_and_bias(const ResolvedLayer& layer, bool conv, bool no_bias,
                         ParameterFactory& factory, LayerParameters& params) {
  const int64_t outputs = layer.out.channels;
  const int64_t window = conv ? layer.window.kernel_rows * layer.window.kernel_cols : 1;
  const int64_t inputs = conv ? layer.in.channels : layer.in.elements();
  params.weight =
      factory.trained("weight",
                      conv ? std::vector<int64_t>{outputs, inputs, layer.window.kernel_rows,
                                                  layer.window.kernel_cols}
                           : std::vector<int64_t>{outputs, inputs},
                      true);
  factory.draw_kernel(*params.weight, inputs * window, outputs * window);
  if (!no_bias) params.bias = factory.trained("bias", {outputs}, false);
}

Fusion weighted_layer_fusion(const ResolvedModel& model, size_t index) {
  Fusion fusion;
  fusion.relu = kind_at(model, index + 1) == Kind::kRelu;
  fusion.is_logits = index + 1 == model.layers.size();
  fusion.relu_backward_here = fusion.relu && !relu_before_max_pool(model, index);
  return fusion;
}

}  // namespace pipeline::cnn::detail
