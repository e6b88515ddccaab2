#include "nn/layers/net.h"

#include <stdexcept>

#include "nn/layers/layer_kind.h"

namespace pipeline::cnn::detail {

Net::Net(const ResolvedModel& model, const std::vector<LayerParameters>& params,
         const BuildContext& context)
    : context_(context) {
  const FeatureShape& input = model.input;
  Edge input_edge;
  // The caller's NHWC images; with one channel that is also nchw, which the first convolution
  // prefers (see conv_op.cpp).
  input_edge.desc =
      memory::desc({context.batch, input.channels, input.rows, input.cols}, DataType::f32,
                   input.channels == 1 ? FormatTag::nchw : FormatTag::nhwc);
  input_edge.value = memory(input_edge.desc, context.engine, DNNL_MEMORY_NONE);
  edges_.push_back(input_edge);

  // Each layer's kind builds its op and decides what it fuses with the layers after it
  // (conv/dense + ReLU -> post-op; conv + ReLU + max-pool -> the ReLU undone on the pooled
  // gradient; batch norm + ReLU -> one primitive), and so how many layers the op consumed.
  bool earlier_parameters = false;
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const ResolvedLayer& layer = model.layers[i];
    LayerBuild built = layer_kind_of(layer).build(model, i, params[i]);
    Edge out;
    edges_.back().needs_diff = earlier_parameters;
    forward_.set_layer(layer.name);
    built.op->build_forward(context_, edges_.back(), out, forward_);
    edges_.push_back(out);
    names_.push_back(layer.name);
    ops_.push_back(std::move(built.op));
    earlier_parameters = earlier_parameters || params[i].weight != nullptr;
    i += built.consumed - 1;
  }

  if (context.training) {
    ensure_diff(context_, edges_.back());
    for (size_t k = ops_.size(); k-- > 0;) {
      backward_.set_layer(names_[k]);
      ops_[k]->build_backward(context_, edges_[k], edges_[k + 1], backward_);
    }
  }
}

void Net::forward(const float* images, dnnl::stream& stream, Profile* profile) {
  edges_.front().value.set_data_handle(const_cast<float*>(images));
  forward_.run(stream, profile);
}

void Net::backward(dnnl::stream& stream, Profile* profile) {
  if (!context_.training) throw std::logic_error("backward() on an inference network");
  backward_.run(stream, profile);
}

const float* Net::logits() const {
  return static_cast<const float*>(edges_.back().value.get_data_handle());
}

float* Net::logits_diff() { return static_cast<float*>(edges_.back().diff.get_data_handle()); }

std::string Net::implementations() const {
  std::string text;
  for (size_t k = 0; k < ops_.size(); ++k) {
    const std::string impl = ops_[k]->implementation();
    if (!impl.empty()) text += names_[k] + ": " + impl + "\n";
  }
  return text;
}

}  // namespace pipeline::cnn::detail
