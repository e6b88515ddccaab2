#include "nn/layers/net.h"

#include <stdexcept>

namespace pipeline::cnn::detail {
namespace {

using Kind = proto::LayerSpec::KindCase;

Kind kind_at(const ResolvedModel& model, size_t i) {
  return i < model.layers.size() ? model.layers[i].spec.kind_case() : Kind::KIND_NOT_SET;
}

// conv/dense, ReLU, max-pool starting at `first`: the ReLU is fused into the first layer's
// forward and undone on the pool's (smaller) output gradient.
bool relu_before_max_pool(const ResolvedModel& model, size_t first) {
  const Kind head = kind_at(model, first);
  return (head == Kind::kConv || head == Kind::kDense) &&
         kind_at(model, first + 1) == Kind::kRelu && kind_at(model, first + 2) == Kind::kPool &&
         model.layers[first + 2].spec.pool().kind() == proto::POOL_MAX;
}

}  // namespace

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

  // Fuse: conv/dense + ReLU -> post-op; conv + ReLU + max-pool -> the ReLU is undone on the
  // pooled gradient; batch norm + ReLU -> one primitive (fuse_norm_relu). Every other layer is an
  // op of its own.
  bool earlier_parameters = false;
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const ResolvedLayer& layer = model.layers[i];
    Fusion fusion;
    std::unique_ptr<LayerOp> op;
    size_t consumed = 1;
    switch (layer.spec.kind_case()) {
      case Kind::kConv:
      case Kind::kDense: {
        fusion.relu = kind_at(model, i + 1) == Kind::kRelu;
        fusion.is_logits = i + 1 == model.layers.size();
        if (fusion.relu) {
          consumed = 2;
          fusion.relu_backward_here = !relu_before_max_pool(model, i);
        }
        op = layer.spec.has_conv() ? make_conv_op(layer, params[i], fusion)
                                   : make_dense_op(layer, params[i], fusion);
        break;
      }
      case Kind::kPool:
        fusion.relu_backward_on_output = i >= 2 && relu_before_max_pool(model, i - 2);
        op = make_pool_op(layer, fusion);
        break;
      case Kind::kRelu:
        op = make_relu_op(layer);
        break;
      case Kind::kDropout:
        op = make_dropout_op(layer);
        break;
      case Kind::kBatchnorm:
        fusion.relu = kind_at(model, i + 1) == Kind::kRelu;
        if (fusion.relu) consumed = 2;
        op = make_batchnorm_op(layer, params[i], fusion);
        break;
      case Kind::kFlatten:
        fusion.next_is_dense = kind_at(model, i + 1) == Kind::kDense;
        op = make_flatten_op(layer, fusion);
        break;
      case Kind::KIND_NOT_SET:
        throw std::invalid_argument("layer " + layer.name + " has no kind");
    }

    Edge out;
    edges_.back().needs_diff = earlier_parameters;
    forward_.set_layer(layer.name);
    op->build_forward(context_, edges_.back(), out, forward_);
    edges_.push_back(out);
    names_.push_back(layer.name);
    ops_.push_back(std::move(op));
    earlier_parameters = earlier_parameters || params[i].weight != nullptr;
    i += consumed - 1;
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
