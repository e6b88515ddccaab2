#include "nn/model_spec.h"

#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace pipeline::cnn {
namespace {

proto::LayerSpec conv_layer(int filters, int kernel) {
  proto::LayerSpec layer;
  layer.mutable_conv()->set_filters(filters);
  layer.mutable_conv()->set_kernel(kernel);
  return layer;
}

proto::LayerSpec dense_layer(int units) {
  proto::LayerSpec layer;
  layer.mutable_dense()->set_units(units);
  return layer;
}

proto::LayerSpec relu_layer() {
  proto::LayerSpec layer;
  layer.mutable_relu();
  return layer;
}

std::string kind_name(const proto::LayerSpec& layer) {
  switch (layer.kind_case()) {
    case proto::LayerSpec::kConv:
      return "conv";
    case proto::LayerSpec::kPool:
      return "pool";
    case proto::LayerSpec::kDense:
      return "dense";
    case proto::LayerSpec::kRelu:
      return "relu";
    case proto::LayerSpec::kDropout:
      return "dropout";
    case proto::LayerSpec::kBatchnorm:
      return "bn";
    case proto::LayerSpec::kFlatten:
      return "flatten";
    case proto::LayerSpec::KIND_NOT_SET:
      break;
  }
  return "layer";
}

[[noreturn]] void fail(const ResolvedLayer& layer, const std::string& what) {
  throw std::invalid_argument("model layer " + std::to_string(layer.index + 1) + " (" + layer.name +
                              "): " + what);
}

int64_t or_default(uint32_t value, int64_t fallback) { return value != 0 ? value : fallback; }

// Sizes past these are refused when the spec is read, naming the layer, instead of ending in a
// bare std::bad_alloc (or a primitive that cannot be created) when the model is built. Each is
// far beyond a digit classifier: 2^28 fp32 weights are 1 GiB, 2^26 activations per image 256 MiB.
constexpr int64_t kMaxLayerParameters = int64_t{1} << 28;
constexpr int64_t kMaxActivationsPerImage = int64_t{1} << 26;

void check_stride(const ResolvedLayer& layer, const char* axis, int64_t stride, int64_t length,
                  int64_t pad_before, int64_t pad_after) {
  const int64_t padded = length + pad_before + pad_after;
  if (stride > padded) {
    fail(layer, std::string("stride ") + std::to_string(stride) + " over the " + axis +
                    " is larger than the (padded) input's " + std::to_string(padded) + " " + axis);
  }
}

// Sizes are computed in double: a spec's uint32 fields multiplied together overflow int64.
std::string with_commas(double value) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.0f", value);
  const std::string digits = text;
  std::string grouped;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  return grouped;
}

double elements(const FeatureShape& shape) {
  return shape.flat ? static_cast<double>(shape.channels)
                    : static_cast<double>(shape.channels) * static_cast<double>(shape.rows) *
                          static_cast<double>(shape.cols);
}

void check_sizes(const ResolvedLayer& layer) {
  double parameters = 0;
  if (layer.spec.has_conv()) {
    parameters =
        static_cast<double>(layer.out.channels) *
        (static_cast<double>(layer.in.channels) * static_cast<double>(layer.window.kernel_rows) *
             static_cast<double>(layer.window.kernel_cols) +
         1);
  } else if (layer.spec.has_dense()) {
    parameters = (elements(layer.in) + 1) * static_cast<double>(layer.out.channels);
  }
  if (parameters > static_cast<double>(kMaxLayerParameters)) {
    fail(layer, "has " + with_commas(parameters) + " parameters, more than the limit of " +
                    with_commas(kMaxLayerParameters) + " (1 GiB of weights)");
  }
  if (elements(layer.out) > static_cast<double>(kMaxActivationsPerImage)) {
    fail(layer, "output " + layer.out.to_string() + " is " + with_commas(elements(layer.out)) +
                    " values per image, more than the limit of " +
                    with_commas(kMaxActivationsPerImage));
  }
}

// Output length of a window sliding over `length` with the given padding; fails when the window
// does not fit.
int64_t sliding_output(const ResolvedLayer& layer, const char* axis, int64_t length, int64_t kernel,
                       int64_t stride, int64_t pad_before, int64_t pad_after) {
  const int64_t padded = length + pad_before + pad_after;
  if (kernel > padded) {
    fail(layer, std::string("window of ") + std::to_string(kernel) + " " + axis +
                    " does not fit the input's " + std::to_string(length) + " " + axis +
                    (pad_before + pad_after > 0 ? " (padded to " + std::to_string(padded) + ")"
                                                : std::string()));
  }
  return (padded - kernel) / stride + 1;
}

void resolve_conv(ResolvedLayer& layer) {
  const proto::ConvSpec& conv = layer.spec.conv();
  if (layer.in.flat) fail(layer, "a convolution needs an image input, got flat features");
  if (conv.filters() == 0) fail(layer, "filters must be at least 1");
  Window& w = layer.window;
  w.kernel_rows = or_default(conv.kernel_rows(), conv.kernel());
  w.kernel_cols = or_default(conv.kernel_cols(), conv.kernel());
  if (w.kernel_rows == 0 || w.kernel_cols == 0) fail(layer, "kernel size is missing");
  w.stride_rows = or_default(conv.stride_rows(), or_default(conv.stride(), 1));
  w.stride_cols = or_default(conv.stride_cols(), or_default(conv.stride(), 1));
  if (conv.same()) {
    // Output = ceil(input / stride); the extra pixel of an even total goes after.
    const auto same_pad = [](int64_t length, int64_t kernel, int64_t stride, int64_t& before,
                             int64_t& after) {
      const int64_t out = (length + stride - 1) / stride;
      const int64_t total = std::max<int64_t>((out - 1) * stride + kernel - length, 0);
      before = total / 2;
      after = total - before;
    };
    same_pad(layer.in.rows, w.kernel_rows, w.stride_rows, w.pad_top, w.pad_bottom);
    same_pad(layer.in.cols, w.kernel_cols, w.stride_cols, w.pad_left, w.pad_right);
  } else {
    w.pad_top = w.pad_bottom = conv.has_pad_rows() ? conv.pad_rows() : conv.pad();
    w.pad_left = w.pad_right = conv.has_pad_cols() ? conv.pad_cols() : conv.pad();
  }
  if (w.pad_top >= w.kernel_rows || w.pad_left >= w.kernel_cols) {
    fail(layer, "padding must be smaller than the kernel");
  }
  check_stride(layer, "rows", w.stride_rows, layer.in.rows, w.pad_top, w.pad_bottom);
  check_stride(layer, "columns", w.stride_cols, layer.in.cols, w.pad_left, w.pad_right);
  layer.out.channels = conv.filters();
  layer.out.rows = sliding_output(layer, "rows", layer.in.rows, w.kernel_rows, w.stride_rows,
                                  w.pad_top, w.pad_bottom);
  layer.out.cols = sliding_output(layer, "columns", layer.in.cols, w.kernel_cols, w.stride_cols,
                                  w.pad_left, w.pad_right);
}

void resolve_pool(ResolvedLayer& layer) {
  const proto::PoolSpec& pool = layer.spec.pool();
  if (layer.in.flat) fail(layer, "pooling needs an image input, got flat features");
  Window& w = layer.window;
  w.kernel_rows = w.kernel_cols = or_default(pool.size(), 2);
  w.stride_rows = w.stride_cols = or_default(pool.stride(), w.kernel_rows);
  w.pad_top = w.pad_bottom = w.pad_left = w.pad_right = pool.pad();
  if (pool.pad() >= static_cast<uint32_t>(w.kernel_rows)) {
    fail(layer, "padding must be smaller than the window");
  }
  check_stride(layer, "rows", w.stride_rows, layer.in.rows, w.pad_top, w.pad_bottom);
  check_stride(layer, "columns", w.stride_cols, layer.in.cols, w.pad_left, w.pad_right);
  layer.out.channels = layer.in.channels;
  layer.out.rows = sliding_output(layer, "rows", layer.in.rows, w.kernel_rows, w.stride_rows,
                                  w.pad_top, w.pad_bottom);
  layer.out.cols = sliding_output(layer, "columns", layer.in.cols, w.kernel_cols, w.stride_cols,
                                  w.pad_left, w.pad_right);
}

void resolve_layer(ResolvedLayer& layer) {
  layer.out = layer.in;
  switch (layer.spec.kind_case()) {
    case proto::LayerSpec::kConv:
      resolve_conv(layer);
      break;
    case proto::LayerSpec::kPool:
      resolve_pool(layer);
      break;
    case proto::LayerSpec::kDense:
      if (layer.spec.dense().units() == 0) fail(layer, "units must be at least 1");
      layer.out = FeatureShape{layer.spec.dense().units(), 1, 1, true};
      break;
    case proto::LayerSpec::kFlatten:
      layer.out = FeatureShape{layer.in.elements(), 1, 1, true};
      break;
    case proto::LayerSpec::kDropout: {
      const float rate = layer.spec.dropout().rate();
      if (!(rate >= 0.0f && rate < 1.0f)) {
        fail(layer, "dropout rate must be in [0, 1), got " + std::to_string(rate));
      }
      break;
    }
    case proto::LayerSpec::kBatchnorm: {
      const proto::BatchNormSpec& bn = layer.spec.batchnorm();
      if (bn.epsilon() < 0.0f) fail(layer, "epsilon must not be negative");
      if (bn.momentum() < 0.0f || bn.momentum() > 1.0f) {
        fail(layer, "momentum must be in [0, 1]");
      }
      break;
    }
    case proto::LayerSpec::kRelu:
      break;
    case proto::LayerSpec::KIND_NOT_SET:
      fail(layer, "no layer kind set (conv, pool, dense, relu, dropout, batchnorm, flatten)");
  }
}

}  // namespace

proto::ModelSpec seed_network_spec(int rows, int cols, int channels, int classes) {
  proto::ModelSpec spec;
  spec.set_name("seed");
  spec.mutable_input()->set_rows(rows);
  spec.mutable_input()->set_cols(cols);
  spec.mutable_input()->set_channels(channels);
  *spec.add_layer() = conv_layer(32, 3);
  *spec.add_layer() = relu_layer();
  *spec.add_layer() = conv_layer(64, 3);
  *spec.add_layer() = relu_layer();
  spec.add_layer()->mutable_pool()->set_size(2);
  spec.add_layer()->mutable_flatten();
  *spec.add_layer() = dense_layer(128);
  *spec.add_layer() = relu_layer();
  *spec.add_layer() = dense_layer(classes);
  return spec;
}

std::string FeatureShape::to_string() const {
  if (flat) return std::to_string(channels);
  return std::to_string(rows) + "x" + std::to_string(cols) + "x" + std::to_string(channels);
}

ResolvedModel resolve_model(const proto::ModelSpec& spec) {
  ResolvedModel model;
  const proto::InputShape& input = spec.input();
  if (input.rows() == 0 || input.cols() == 0 || input.channels() == 0) {
    throw std::invalid_argument("model input shape " + std::to_string(input.rows()) + "x" +
                                std::to_string(input.cols()) + "x" +
                                std::to_string(input.channels()) +
                                " is invalid: rows, cols and channels must all be at least 1");
  }
  if (spec.layer_size() == 0) throw std::invalid_argument("model has no layers");
  if (!(spec.label_smoothing() >= 0.0f && spec.label_smoothing() < 1.0f)) {
    throw std::invalid_argument("model label_smoothing must be in [0, 1)");
  }
  model.input = FeatureShape{input.channels(), input.rows(), input.cols(), false};
  if (elements(model.input) > static_cast<double>(kMaxActivationsPerImage)) {
    throw std::invalid_argument("model input shape " + model.input.to_string() + " is " +
                                with_commas(elements(model.input)) +
                                " values per image, more than the limit of " +
                                with_commas(kMaxActivationsPerImage));
  }

  std::map<std::string, int> ordinals;
  std::set<std::string> names;
  FeatureShape shape = model.input;
  for (int i = 0; i < spec.layer_size(); ++i) {
    ResolvedLayer layer;
    layer.index = i;
    layer.spec = spec.layer(i);
    const std::string kind = kind_name(layer.spec);
    const int ordinal = ++ordinals[kind];
    layer.name = layer.spec.name().empty() ? kind + std::to_string(ordinal) : layer.spec.name();
    if (!names.insert(layer.name).second) fail(layer, "duplicate layer name");
    layer.in = shape;
    resolve_layer(layer);
    check_sizes(layer);
    shape = layer.out;
    model.layers.push_back(std::move(layer));
  }
  for (size_t i = 0; i + 1 < model.layers.size(); ++i) {
    model.layers[i].followed_by_relu =
        model.layers[i + 1].spec.kind_case() == proto::LayerSpec::kRelu;
  }
  const ResolvedLayer& last = model.layers.back();
  if (last.spec.kind_case() != proto::LayerSpec::kDense) {
    fail(last, "the last layer must be dense: its units are the class scores");
  }
  if (last.out.channels < 2) fail(last, "the last layer needs at least 2 units (classes)");
  model.classes = last.out.channels;
  return model;
}

std::string describe_model(const ResolvedModel& model) {
  std::ostringstream text;
  text << "input " << model.input.to_string() << "\n";
  for (const ResolvedLayer& layer : model.layers) {
    text << "  " << layer.name << ": " << layer.in.to_string() << " -> " << layer.out.to_string();
    if (layer.spec.has_conv() || layer.spec.has_pool()) {
      text << " (window " << layer.window.kernel_rows << "x" << layer.window.kernel_cols
           << ", stride " << layer.window.stride_rows << "x" << layer.window.stride_cols << ")";
    }
    text << "\n";
  }
  return text.str();
}

double forward_flops_per_image(const ResolvedModel& model) {
  double flops = 0;
  for (const ResolvedLayer& layer : model.layers) {
    if (layer.spec.has_conv()) {
      flops += 2.0 * layer.out.elements() * layer.in.channels * layer.window.kernel_rows *
               layer.window.kernel_cols;
    } else if (layer.spec.has_dense()) {
      flops += 2.0 * layer.in.elements() * layer.out.elements();
    }
  }
  return flops;
}

}  // namespace pipeline::cnn
