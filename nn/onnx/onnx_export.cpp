#include "nn/onnx/onnx_export.h"

#include <cstdio>
#include <stdexcept>

#include "nn/batchnorm_folding.h"
#include "nn/model_spec.h"
#include "nn/onnx/onnx_metadata.h"
#include "onnx/checker.h"

namespace pipeline::cnn {
namespace {

// Builds the graph node by node; `current` names the tensor the next node consumes.
class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto& graph) : graph_(graph) {}

  std::string current = "pixels";

  // Adds an fp32 initializer and returns its name.
  std::string Initializer(const std::string& name, const std::vector<int64_t>& shape,
                          const std::vector<float>& values) {
    onnx::TensorProto* tensor = graph_.add_initializer();
    tensor->set_name(name);
    tensor->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t dim : shape) tensor->add_dims(dim);
    // raw_data (little-endian fp32) is compact and what every reader handles.
    tensor->set_raw_data(values.data(), values.size() * sizeof(float));
    return name;
  }

  // Appends a node reading `current` (and `extra_inputs`), writing a new tensor named after the
  // layer; makes that tensor current.
  onnx::NodeProto& Node(const std::string& op, const std::string& name,
                        const std::vector<std::string>& extra_inputs = {}) {
    onnx::NodeProto* node = graph_.add_node();
    node->set_op_type(op);
    node->set_name(name);
    node->add_input(current);
    for (const std::string& input : extra_inputs) node->add_input(input);
    current = name + ":out";
    node->add_output(current);
    return *node;
  }

 private:
  onnx::GraphProto& graph_;
};

void IntsAttribute(onnx::NodeProto& node, const std::string& name,
                   const std::vector<int64_t>& values) {
  onnx::AttributeProto* attribute = node.add_attribute();
  attribute->set_name(name);
  attribute->set_type(onnx::AttributeProto::INTS);
  for (int64_t value : values) attribute->add_ints(value);
}

void IntAttribute(onnx::NodeProto& node, const std::string& name, int64_t value) {
  onnx::AttributeProto* attribute = node.add_attribute();
  attribute->set_name(name);
  attribute->set_type(onnx::AttributeProto::INT);
  attribute->set_i(value);
}

void FloatAttribute(onnx::NodeProto& node, const std::string& name, float value) {
  onnx::AttributeProto* attribute = node.add_attribute();
  attribute->set_name(name);
  attribute->set_type(onnx::AttributeProto::FLOAT);
  attribute->set_f(value);
}

void WindowAttributes(onnx::NodeProto& node, const Window& w) {
  IntsAttribute(node, "kernel_shape", {w.kernel_rows, w.kernel_cols});
  IntsAttribute(node, "strides", {w.stride_rows, w.stride_cols});
  // ONNX order: all begins, then all ends.
  IntsAttribute(node, "pads", {w.pad_top, w.pad_left, w.pad_bottom, w.pad_right});
}

void Metadata(onnx::ModelProto& model, const std::string& key, const std::string& value) {
  onnx::StringStringEntryProto* entry = model.add_metadata_props();
  entry->set_key(key);
  entry->set_value(value);
}

std::string Number(double value) {
  char text[40];
  std::snprintf(text, sizeof(text), "%.10g", value);  // 0.1307, not 0.13070000000000001
  return text;
}

void ValueInfo(onnx::ValueInfoProto* info, const std::string& name,
               const std::vector<int64_t>& dims_after_batch) {
  info->set_name(name);
  onnx::TypeProto_Tensor* tensor = info->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(onnx::TensorProto::FLOAT);
  onnx::TensorShapeProto* shape = tensor->mutable_shape();
  shape->add_dim()->set_dim_param("batch");
  for (int64_t dim : dims_after_batch) shape->add_dim()->set_dim_value(dim);
}

}  // namespace

onnx::ModelProto ExportOnnx(const OnnxExportInput& input) {
  const ResolvedModel resolved = resolve_model(input.spec);
  onnx::ModelProto model;
  model.set_ir_version(7);  // the IR of opset 11-13 (ONNX 1.6-1.8); OpenCV 4.6 reads it
  model.set_producer_name("pipeline");
  model.set_producer_version("0.1.0");
  model.set_model_version(1);
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOnnxOpset);
  onnx::GraphProto& graph = *model.mutable_graph();
  graph.set_name(input.spec.name().empty() ? "model" : input.spec.name());
  ValueInfo(graph.add_input(), "pixels",
            {resolved.input.channels, resolved.input.rows, resolved.input.cols});

  GraphBuilder builder(graph);
  if (input.normalized) {
    if (!(input.std > 0) || !(input.scale > 0)) {
      throw std::invalid_argument("normalization needs positive scale and std");
    }
    // (pixel * scale - mean) / std = (pixel - mean / scale) * (scale / std).
    builder.Node("Sub", "normalize_sub",
                 {builder.Initializer("normalize.mean", {1},
                                      {static_cast<float>(input.mean / input.scale)})});
    builder.Node("Mul", "normalize_mul",
                 {builder.Initializer("normalize.factor", {1},
                                      {static_cast<float>(input.scale / input.std)})});
  }
  std::vector<bool> folded(resolved.layers.size(), false);
  for (size_t i = 0; i < resolved.layers.size(); ++i) {
    const ResolvedLayer& layer = resolved.layers[i];
    switch (layer.spec.kind_case()) {
      case proto::LayerSpec::kConv:
      case proto::LayerSpec::kDense: {
        const int bn = FoldedBatchNorm(resolved, i);
        BatchNormAffine affine;
        if (bn >= 0) {
          affine = BatchNormAt(resolved.layers[static_cast<size_t>(bn)], input.tensors);
          folded[static_cast<size_t>(bn)] = true;
        }
        const FoldedWeights w = WeightsOf(layer, input.tensors, bn >= 0 ? &affine : nullptr);
        const std::string weight = builder.Initializer(layer.name + ".weight", w.shape, w.weight);
        const std::string bias =
            builder.Initializer(layer.name + ".bias", {layer.out.channels}, w.bias);
        if (layer.spec.has_conv()) {
          WindowAttributes(builder.Node("Conv", layer.name, {weight, bias}), layer.window);
        } else {
          if (!layer.in.flat)
            IntAttribute(builder.Node("Flatten", layer.name + "_flatten"), "axis", 1);
          onnx::NodeProto& gemm = builder.Node("Gemm", layer.name, {weight, bias});
          IntAttribute(gemm, "transB", 1);
        }
        break;
      }
      case proto::LayerSpec::kPool: {
        const bool average = layer.spec.pool().kind() == proto::POOL_AVG;
        Window window = layer.window;
        if (average && (window.pad_top | window.pad_left | window.pad_bottom | window.pad_right)) {
          // Ours divides by the whole window, padding included (count_include_pad=1); OpenCV 4.6
          // computed other values for that (tests/cnn/onnx_export_test.cpp). An explicit zero
          // Pad before an unpadded AveragePool means the same to every reader.
          const std::vector<int64_t> pads = {0, 0, window.pad_top,    window.pad_left,
                                             0, 0, window.pad_bottom, window.pad_right};
          onnx::TensorProto* tensor = graph.add_initializer();
          tensor->set_name(layer.name + ".pads");
          tensor->set_data_type(onnx::TensorProto::INT64);
          tensor->add_dims(static_cast<int64_t>(pads.size()));
          for (int64_t pad : pads) tensor->add_int64_data(pad);
          builder.Node("Pad", layer.name + "_pad", {layer.name + ".pads"});
          window.pad_top = window.pad_left = window.pad_bottom = window.pad_right = 0;
        }
        onnx::NodeProto& pool = builder.Node(average ? "AveragePool" : "MaxPool", layer.name);
        WindowAttributes(pool, window);
        break;
      }
      case proto::LayerSpec::kRelu:
        builder.Node("Relu", layer.name);
        break;
      case proto::LayerSpec::kDropout:
        break;  // identity at inference
      case proto::LayerSpec::kBatchnorm: {
        if (folded[i]) break;
        const int64_t channels = layer.in.channels;
        const auto values = [&](const char* suffix) {
          return builder.Initializer(
              layer.name + "." + suffix, {channels},
              RequireTensor(input.tensors, layer.name + "." + suffix, channels).values);
        };
        const std::string gamma = values("gamma"), beta = values("beta");
        const std::string mean = values("running_mean"), var = values("running_var");
        onnx::NodeProto& node =
            builder.Node("BatchNormalization", layer.name, {gamma, beta, mean, var});
        FloatAttribute(
            node, "epsilon",
            layer.spec.batchnorm().epsilon() > 0 ? layer.spec.batchnorm().epsilon() : 1e-5f);
        break;
      }
      case proto::LayerSpec::kFlatten:
        IntAttribute(builder.Node("Flatten", layer.name), "axis", 1);
        break;
      case proto::LayerSpec::KIND_NOT_SET:
        throw std::invalid_argument("layer " + layer.name + " has no kind");
    }
  }
  IntAttribute(builder.Node("Softmax", "softmax"), "axis", 1);
  graph.mutable_node(graph.node_size() - 1)->set_output(0, "probabilities");
  ValueInfo(graph.add_output(), "probabilities", {resolved.classes});

  std::string classes;
  for (int64_t c = 0; c < resolved.classes; ++c) {
    const bool named = c < static_cast<int64_t>(input.class_names.size());
    classes += (c > 0 ? "," : "") +
               (named ? input.class_names[static_cast<size_t>(c)] : std::to_string(c));
  }
  Metadata(model, onnx_keys::kClassNames, classes);
  Metadata(model, onnx_keys::kInputLayout, "NCHW");
  Metadata(model, onnx_keys::kInputRange, input.normalized ? "pixels" : "normalized");
  if (input.normalized) {
    Metadata(model, onnx_keys::kNormalizationScale, Number(input.scale));
    Metadata(model, onnx_keys::kNormalizationMean, Number(input.mean));
    Metadata(model, onnx_keys::kNormalizationStd, Number(input.std));
  }
  Metadata(model, onnx_keys::kPolarity, "light_on_dark");
  Metadata(model, onnx_keys::kOutput, "probabilities");
  Metadata(model, onnx_keys::kModelName, input.spec.name());
  for (const auto& [key, value] : input.metadata) Metadata(model, key, value);

  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    // A bug of ours, not of the user's checkpoint: say so.
    throw std::logic_error(std::string("the exported ONNX graph fails onnx::checker: ") + e.what());
  }
  return model;
}

}  // namespace pipeline::cnn
