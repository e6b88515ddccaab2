#include "nn/model_spec.h"

#include <google/protobuf/descriptor.h>

#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "nn/layers/layer_kind.h"

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

// The stem of a layer's default name: "conv" for conv1, conv2, ...
std::string kind_name(const proto::LayerSpec& layer) {
  const LayerKind* kind = find_layer_kind(layer.kind_case());
  return kind != nullptr ? kind->name() : "layer";
}

// Sizes past these are refused when the spec is read, naming the layer, instead of ending in a
// bare std::bad_alloc (or a primitive that cannot be created) when the model is built. Each is
// far beyond a digit classifier: 2^28 fp32 weights are 1 GiB, 2^26 activations per image 256 MiB.
constexpr int64_t kMaxLayerParameters = int64_t{1} << 28;
constexpr int64_t kMaxActivationsPerImage = int64_t{1} << 26;

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

void check_sizes(const ResolvedLayer& layer) {
  const double parameters = layer_kind_of(layer).parameter_count(layer);
  if (parameters > static_cast<double>(kMaxLayerParameters)) {
    fail_layer(layer, "has " + with_commas(parameters) + " parameters, more than the limit of " +
                          with_commas(kMaxLayerParameters) + " (1 GiB of weights)");
  }
  if (layer.out.elements_in_double() > static_cast<double>(kMaxActivationsPerImage)) {
    fail_layer(layer, "output " + layer.out.to_string() + " is " +
                          with_commas(layer.out.elements_in_double()) +
                          " values per image, more than the limit of " +
                          with_commas(kMaxActivationsPerImage));
  }
}

// Every kind the proto offers, for the message about a layer that sets none.
std::string kind_fields() {
  const google::protobuf::OneofDescriptor* kinds =
      proto::LayerSpec::descriptor()->FindOneofByName("kind");
  std::string names;
  for (int i = 0; i < kinds->field_count(); ++i) {
    names += (i > 0 ? ", " : "") + kinds->field(i)->name();
  }
  return names;
}

void resolve_layer(ResolvedLayer& layer) {
  layer.out = layer.in;
  if (layer.spec.kind_case() == proto::LayerSpec::KIND_NOT_SET) {
    fail_layer(layer, "no layer kind set (" + kind_fields() + ")");
  }
  const LayerKind* kind = find_layer_kind(layer.spec.kind_case());
  if (kind == nullptr) {
    fail_layer(layer, "layer kind " + std::to_string(layer.spec.kind_case()) +
                          " has no implementation (nn/layers/layer_registry.cpp)");
  }
  kind->resolve(layer);
}

}  // namespace

void fail_layer(const ResolvedLayer& layer, const std::string& what) {
  throw std::invalid_argument("model layer " + std::to_string(layer.index + 1) + " (" + layer.name +
                              "): " + what);
}

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
  if (model.input.elements_in_double() > static_cast<double>(kMaxActivationsPerImage)) {
    throw std::invalid_argument("model input shape " + model.input.to_string() + " is " +
                                with_commas(model.input.elements_in_double()) +
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
    if (!names.insert(layer.name).second) fail_layer(layer, "duplicate layer name");
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
    fail_layer(last, "the last layer must be dense: its units are the class scores");
  }
  if (last.out.channels < 2) fail_layer(last, "the last layer needs at least 2 units (classes)");
  model.classes = last.out.channels;
  return model;
}

std::string describe_model(const ResolvedModel& model) {
  std::ostringstream text;
  text << "input " << model.input.to_string() << "\n";
  for (const ResolvedLayer& layer : model.layers) {
    text << "  " << layer.name << ": " << layer.in.to_string() << " -> " << layer.out.to_string();
    if (layer_kind_of(layer).has_window()) {
      text << " (window " << layer.window.kernel_rows << "x" << layer.window.kernel_cols
           << ", stride " << layer.window.stride_rows << "x" << layer.window.stride_cols << ")";
    }
    text << "\n";
  }
  return text.str();
}

std::string describe_layer(const ResolvedLayer& layer) {
  return layer_kind_of(layer).describe(layer);
}

double forward_flops_per_image(const ResolvedModel& model) {
  double flops = 0;
  for (const ResolvedLayer& layer : model.layers)
    flops += layer_kind_of(layer).forward_flops(layer);
  return flops;
}

}  // namespace pipeline::cnn
