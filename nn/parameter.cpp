#include "nn/parameter.h"

#include <algorithm>
#include <stdexcept>

#include "nn/layers/parameter_layout.h"

namespace pipeline::cnn {
namespace {

using dnnl::memory;

// Reorders `from` (layout `from_desc`) into a new array of layout `to_desc`, on a private engine:
// conversions happen when checkpointing or adopting a layout, never per step.
AlignedFloats reorder_copy(const memory::desc& from_desc, std::span<const float> from,
                           const memory::desc& to_desc) {
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  AlignedFloats to(to_desc.get_size() / sizeof(float), 0.0f);
  memory source(from_desc, engine, const_cast<float*>(from.data()));
  memory target(to_desc, engine, to.data());
  dnnl::reorder(source, target).execute(stream, source, target);
  stream.wait();
  return to;
}

memory::desc same_dims_row_major(const memory::desc& desc) {
  const memory::dims dims = desc.dims();
  memory::dims strides(dims.size(), 1);
  for (size_t i = dims.size() - 1; i > 0; --i) strides[i - 1] = strides[i] * dims[i];
  return memory::desc(dims, memory::data_type::f32, strides);
}

}  // namespace

std::vector<float> to_logical(const StoredLayout* layout, std::span<const float> stored,
                              int64_t logical_size) {
  if (layout == nullptr) return std::vector<float>(stored.begin(), stored.end());
  const AlignedFloats logical =
      reorder_copy(layout->desc(), stored, same_dims_row_major(layout->desc()));
  return std::vector<float>(logical.begin(), logical.begin() + logical_size);
}

AlignedFloats to_stored(const StoredLayout* layout, std::span<const float> logical) {
  if (layout == nullptr) return AlignedFloats(logical.begin(), logical.end());
  return reorder_copy(same_dims_row_major(layout->desc()), logical, layout->desc());
}

std::vector<float> Parameter::logical(std::span<const float> stored_values) const {
  return to_logical(layout.get(), stored_values, element_count(shape));
}

AlignedFloats Parameter::stored(std::span<const float> logical_values) const {
  if (static_cast<int64_t>(logical_values.size()) != element_count(shape)) {
    throw std::invalid_argument("parameter \"" + name + "\" needs " +
                                std::to_string(element_count(shape)) + " values, got " +
                                std::to_string(logical_values.size()));
  }
  return to_stored(layout.get(), logical_values);
}

void Parameter::set_logical_values(const std::vector<float>& values) {
  const AlignedFloats converted = stored(values);
  std::copy(converted.begin(), converted.end(), value.begin());
  ++version;
}

namespace detail {

memory::desc row_major_desc(const std::vector<int64_t>& shape) {
  return same_dims_row_major(memory::desc(memory::dims(shape.begin(), shape.end()),
                                          memory::data_type::f32, memory::format_tag::any));
}

memory::desc stored_desc(const Parameter& parameter, const memory::dims& logical_dims) {
  if (parameter.layout) return parameter.layout->desc();
  return same_dims_row_major(
      memory::desc(logical_dims, memory::data_type::f32, memory::format_tag::any));
}

void adopt_layout(Parameter& parameter, const memory::desc& layout) {
  if (layout.data.format_kind != dnnl_blocked || layout.data_type() != memory::data_type::f32) {
    return;
  }
  const memory::desc current = stored_desc(parameter, layout.dims());
  if (current == layout) return;
  parameter.value = reorder_copy(current, parameter.value, layout);
  parameter.grad.assign(parameter.value.size(), 0.0f);
  parameter.layout = std::make_shared<const StoredLayout>(layout);
  ++parameter.layout_version;
  ++parameter.version;
}

}  // namespace detail
}  // namespace pipeline::cnn
