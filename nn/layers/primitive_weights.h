// Internal: parameters as the primitives read and write them (see parameter.h for the stored
// layouts these follow).
#pragma once

#include <cstdint>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>

#include "nn/layers/pass.h"
#include "nn/parameter.h"

namespace pipeline::cnn::detail {

// A parameter as one primitive reads it. When the parameter is stored in exactly the wanted
// layout and type, the primitive reads the stored values directly; otherwise a private copy is
// refreshed from them by a reorder, only when their version changed. Follows the parameter when
// its stored layout changes (see parameter.h).
class PrimitiveWeights {
 public:
  // `dims`: the parameter's dimensions as the primitive sees them.
  PrimitiveWeights(const BuildContext& context, Parameter& parameter, memory::dims dims,
                   const memory::desc& wanted);
  const memory& get() const { return primitive_; }
  // Appends the refresh to `pass` (a host step, cheap when nothing changed).
  void refresh_in(Pass& pass);
  bool aliases_storage() const { return aliased_; }

 private:
  void bind();

  Parameter* parameter_;
  dnnl::engine engine_;
  memory::dims dims_;
  memory primitive_;  // layout `wanted`; data: the parameter's storage or own_data_
  void* own_data_ = nullptr;
  memory master_;   // the stored values
  memory staging_;  // row-major copy, when no direct reorder exists
  std::unique_ptr<dnnl::reorder> reorder_, staging_reorder_;
  bool aliased_ = false;
  uint64_t bound_layout_ = ~uint64_t{0};
  uint64_t refreshed_version_ = ~uint64_t{0};
};

// Where a backward-weights primitive writes a gradient: straight into Parameter::grad when it
// produces the stored layout, else into a scratch buffer reordered into grad afterwards.
class GradientSink {
 public:
  GradientSink(const BuildContext& context, Parameter& parameter, memory::dims dims,
               const memory::desc& produced);
  const memory& get() const { return produced_; }
  // Host step before the primitive (follows layout changes) and the copy after it.
  void prepare_in(Pass& pass);
  void finish_in(Pass& pass);

 private:
  void bind();

  Parameter* parameter_;
  dnnl::engine engine_;
  memory::dims dims_;
  memory produced_;
  void* own_data_ = nullptr;
  memory stored_;
  std::unique_ptr<dnnl::reorder> reorder_;
  bool aliased_ = false;
  uint64_t bound_layout_ = ~uint64_t{0};
};

// Whether `desc` can be used as a parameter's stored layout (plain or blocked, not e.g. Winograd).
bool storable(const memory::desc& desc);

}  // namespace pipeline::cnn::detail
