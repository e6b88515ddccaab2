#include "nn/layers/primitive_weights.h"

#include "nn/layers/parameter_layout.h"

namespace pipeline::cnn::detail {

PrimitiveWeights::PrimitiveWeights(const BuildContext& context, Parameter& parameter,
                                   memory::dims dims, const memory::desc& wanted)
    : parameter_(&parameter), engine_(context.engine), dims_(std::move(dims)) {
  primitive_ = memory(wanted, engine_);
  own_data_ = primitive_.get_data_handle();
  bind();
}

void PrimitiveWeights::bind() {
  master_ = memory(stored_desc(*parameter_, dims_), engine_, parameter_->value.data());
  aliased_ = master_.get_desc() == primitive_.get_desc();
  primitive_.set_data_handle(aliased_ ? parameter_->value.data() : own_data_);
  reorder_.reset();
  staging_reorder_.reset();
  bound_layout_ = parameter_->layout_version;
  refreshed_version_ = ~uint64_t{0};
  if (aliased_) return;
  try {
    reorder_ = std::make_unique<dnnl::reorder>(master_, primitive_);
  } catch (const dnnl::error&) {
    // Some layouts (Winograd's transformed weights) can only be reached from a plain one.
    staging_ = memory(row_major_desc({dims_.begin(), dims_.end()}), engine_);
    staging_reorder_ = std::make_unique<dnnl::reorder>(master_, staging_);
    reorder_ = std::make_unique<dnnl::reorder>(staging_, primitive_);
  }
}

void PrimitiveWeights::refresh_in(Pass& pass) {
  pass.add_host(
      [this](dnnl::stream& stream) {
        if (bound_layout_ != parameter_->layout_version) bind();
        if (aliased_ || refreshed_version_ == parameter_->version) return;
        if (staging_reorder_) {
          staging_reorder_->execute(stream, master_, staging_);
          reorder_->execute(stream, staging_, primitive_);
        } else {
          reorder_->execute(stream, master_, primitive_);
        }
        refreshed_version_ = parameter_->version;
      },
      parameter_->name + " refresh");
}

GradientSink::GradientSink(const BuildContext& context, Parameter& parameter, memory::dims dims,
                           const memory::desc& produced)
    : parameter_(&parameter), engine_(context.engine), dims_(std::move(dims)) {
  produced_ = memory(produced, engine_);
  own_data_ = produced_.get_data_handle();
  bind();
}

void GradientSink::bind() {
  stored_ = memory(stored_desc(*parameter_, dims_), engine_, parameter_->grad.data());
  aliased_ = stored_.get_desc() == produced_.get_desc();
  produced_.set_data_handle(aliased_ ? parameter_->grad.data() : own_data_);
  reorder_.reset(aliased_ ? nullptr : new dnnl::reorder(produced_, stored_));
  bound_layout_ = parameter_->layout_version;
}

void GradientSink::prepare_in(Pass& pass) {
  pass.add_host(
      [this](dnnl::stream&) {
        if (bound_layout_ != parameter_->layout_version) bind();
      },
      parameter_->name + " gradient binding");
}

void GradientSink::finish_in(Pass& pass) {
  pass.add_host(
      [this](dnnl::stream& stream) {
        if (!aliased_) reorder_->execute(stream, produced_, stored_);
      },
      parameter_->name + " gradient reorder");
}

bool storable(const memory::desc& desc) { return desc.data.format_kind == dnnl_blocked; }

}  // namespace pipeline::cnn::detail
