// Internal: stored layouts of parameters (see parameter.h) as oneDNN memory descriptors.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include "nn/parameter.h"

namespace pipeline::cnn {

class StoredLayout {
 public:
  explicit StoredLayout(const dnnl::memory::desc& desc) : desc_(desc) {}
  const dnnl::memory::desc& desc() const { return desc_; }

 private:
  dnnl::memory::desc desc_;  // fp32
};

namespace detail {

// The fp32 row-major descriptor of a parameter's shape (oihw, ab, a, ...).
dnnl::memory::desc row_major_desc(const std::vector<int64_t>& shape);
// The descriptor of the parameter's stored layout; `logical_dims` reshapes the row-major case
// (a dense layer after a 4-D input has 2-D shape but 4-D primitive weights).
dnnl::memory::desc stored_desc(const Parameter& parameter, const dnnl::memory::dims& logical_dims);

// Moves the parameter (values and gradient) into `layout` (fp32, dims `logical_dims`), unless it
// is already there or `layout` is not a plain blocked layout; bumps layout_version and version.
void adopt_layout(Parameter& parameter, const dnnl::memory::desc& layout);

}  // namespace detail
}  // namespace pipeline::cnn
