#include "nn/onnx/onnx_model_info.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <stdexcept>

#include "nn/onnx/onnx_metadata.h"

namespace pipeline::cnn {
namespace {

// What our export writes, plus what a plain PyTorch CNN exports to (torch.onnx.export of Conv2d,
// BatchNorm2d, ReLU, pools, nn.Flatten, Linear, Dropout in eval mode), and which OpenCV 4.6's
// importer handles. Shape, Gather, Unsqueeze, Squeeze and the like are left out on purpose: the
// dynamic-shape chains they form are what OpenCV 4.6 fails on.
const std::vector<std::string>& SupportedOps() {
  // clang-format off
  static const std::vector<std::string> ops = {
      "Add", "AveragePool", "BatchNormalization", "Constant", "Conv", "Div", "Dropout", "Flatten",
      "Gemm", "GlobalAveragePool", "Identity", "LeakyRelu", "LogSoftmax", "MatMul", "MaxPool",
      "Mul", "Pad", "Relu", "Reshape", "Sigmoid", "Softmax", "Sub", "Tanh"};
  // clang-format on
  return ops;
}

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("ONNX model " + path + ": " + what);
}

std::string TypeName(int32_t type) {
  const std::string& name = onnx::TensorProto::DataType_Name(type);
  if (name.empty()) return "type " + std::to_string(type);
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

OnnxTensorInfo TensorInfo(const onnx::ValueInfoProto& value) {
  OnnxTensorInfo info;
  info.name = value.name();
  if (!value.type().has_tensor_type()) {
    info.type = "not a tensor";
    return info;
  }
  const onnx::TypeProto_Tensor& tensor = value.type().tensor_type();
  info.type = TypeName(tensor.elem_type());
  for (const onnx::TensorShapeProto_Dimension& dim : tensor.shape().dim()) {
    if (dim.has_dim_value()) {
      info.dims.push_back(std::to_string(dim.dim_value()));
    } else if (dim.has_dim_param() && !dim.dim_param().empty()) {
      info.dims.push_back(dim.dim_param());
    } else {
      info.dims.push_back("?");
    }
  }
  return info;
}

std::string DimsText(const OnnxTensorInfo& info) {
  std::string text = "(";
  for (size_t i = 0; i < info.dims.size(); ++i) text += (i > 0 ? ", " : "") + info.dims[i];
  return text + ")";
}

// A fixed positive dimension, or 0.
int64_t Fixed(const std::string& dim) {
  if (dim.empty() || dim.size() > 9 ||
      !std::all_of(dim.begin(), dim.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return 0;
  }
  return std::stoll(dim);
}

std::optional<double> Number(const OnnxModelInfo& info, const char* key) {
  const std::string* text = info.Metadata(key);
  if (text == nullptr) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text->c_str(), &end);
  if (end == text->c_str() || *end != '\0' || !std::isfinite(value)) {
    Fail(info.path, std::string("metadata ") + key + " = \"" + *text + "\" is not a number");
  }
  return value;
}

void ReadPreparation(const onnx::ModelProto& model, OnnxModelInfo& info) {
  OnnxInputPreparation& prep = info.preparation;
  prep.scale = Number(info, onnx_keys::kNormalizationScale);
  prep.mean = Number(info, onnx_keys::kNormalizationMean);
  prep.std = Number(info, onnx_keys::kNormalizationStd);
  if (prep.std && !(*prep.std > 0)) Fail(info.path, "metadata normalization_std must be positive");
  if (const std::string* range = info.Metadata(onnx_keys::kInputRange)) {
    if (*range != "pixels" && *range != "normalized") {
      Fail(info.path, "metadata input_range = \"" + *range + "\": expected pixels or normalized");
    }
    prep.raw_pixels = *range == "pixels";
  }
  if (const std::string* polarity = info.Metadata(onnx_keys::kPolarity)) {
    if (*polarity != "light_on_dark" && *polarity != "dark_on_light") {
      Fail(info.path,
           "metadata polarity = \"" + *polarity + "\": expected light_on_dark or dark_on_light");
    }
    prep.invert = *polarity == "dark_on_light";
  }
  if (const std::string* output = info.Metadata(onnx_keys::kOutput)) {
    if (*output != "probabilities" && *output != "logits") {
      Fail(info.path, "metadata output = \"" + *output + "\": expected probabilities or logits");
    }
    prep.outputs_probabilities = *output == "probabilities";
  } else {
    // Without the key: probabilities when the output comes out of a Softmax.
    prep.outputs_probabilities = false;
    for (const onnx::NodeProto& node : model.graph().node()) {
      for (const std::string& produced : node.output()) {
        if (produced == info.output.name) prep.outputs_probabilities = node.op_type() == "Softmax";
      }
    }
  }
}

}  // namespace

const std::string* OnnxModelInfo::Metadata(const std::string& key) const {
  for (const auto& [k, v] : metadata) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string SupportedOnnxOps() {
  std::string text;
  for (const std::string& op : SupportedOps()) text += (text.empty() ? "" : ", ") + op;
  return text;
}

OnnxModelInfo InspectOnnxModel(const onnx::ModelProto& model, const std::string& path) {
  OnnxModelInfo info;
  info.path = path;
  info.ir_version = model.ir_version();
  info.producer = model.producer_name() +
                  (model.producer_version().empty() ? "" : " " + model.producer_version());
  for (const onnx::OperatorSetIdProto& opset : model.opset_import()) {
    if (opset.domain().empty() || opset.domain() == "ai.onnx") info.opset = opset.version();
  }
  for (const onnx::StringStringEntryProto& entry : model.metadata_props()) {
    info.metadata.emplace_back(entry.key(), entry.value());
  }
  const onnx::GraphProto& graph = model.graph();
  std::set<std::string> initializers;
  for (const onnx::TensorProto& tensor : graph.initializer()) {
    initializers.insert(tensor.name());
    int64_t count = 1;
    for (int64_t dim : tensor.dims()) count *= std::max<int64_t>(dim, 0);
    info.initializer_values += count;
  }

  // Ops first: an unsupported op is the most useful thing to hear about.
  const std::vector<std::string>& supported = SupportedOps();
  for (const onnx::NodeProto& node : graph.node()) {
    const std::string& op = node.op_type();
    if (!node.domain().empty() && node.domain() != "ai.onnx") {
      Fail(path, "op " + node.domain() + "." + op + " (node \"" + node.name() +
                     "\") is from a custom domain; only standard ONNX ops are supported");
    }
    if (std::find(supported.begin(), supported.end(), op) == supported.end()) {
      Fail(path, "op " + op + " (node \"" + node.name() +
                     "\") is not supported; cnn_predict runs " + SupportedOnnxOps());
    }
    auto found = std::find_if(info.ops.begin(), info.ops.end(),
                              [&](const auto& entry) { return entry.first == op; });
    if (found == info.ops.end()) {
      info.ops.emplace_back(op, 1);
    } else {
      ++found->second;
    }
  }

  std::vector<OnnxTensorInfo> inputs;
  for (const onnx::ValueInfoProto& input : graph.input()) {
    if (initializers.count(input.name()) == 0) inputs.push_back(TensorInfo(input));
  }
  if (inputs.size() != 1) {
    Fail(path, "has " + std::to_string(inputs.size()) +
                   " inputs; cnn_predict feeds exactly one image tensor");
  }
  if (graph.output_size() != 1) {
    Fail(path, "has " + std::to_string(graph.output_size()) +
                   " outputs; cnn_predict reads exactly one (class scores)");
  }
  info.input = inputs[0];
  info.output = TensorInfo(graph.output(0));
  if (info.input.type != "float" || info.input.dims.size() != 4) {
    Fail(path, "input \"" + info.input.name + "\" is " + info.input.type + " " +
                   DimsText(info.input) +
                   "; expected float (batch, channels, rows, cols), e.g. (N, 1, 28, 28)");
  }
  info.channels = Fixed(info.input.dims[1]);
  info.rows = Fixed(info.input.dims[2]);
  info.cols = Fixed(info.input.dims[3]);
  if (info.channels <= 0 || info.rows <= 0 || info.cols <= 0 || info.channels > 4 ||
      info.rows > 4096 || info.cols > 4096) {
    Fail(path, "input \"" + info.input.name + "\" has shape " + DimsText(info.input) +
                   "; channels (1-4), rows and columns (up to 4096) must be fixed numbers");
  }
  if (info.output.dims.size() != 2) {
    Fail(path, "output \"" + info.output.name + "\" has shape " + DimsText(info.output) +
                   "; expected (batch, classes)");
  }
  info.classes = Fixed(info.output.dims[1]);
  ReadPreparation(model, info);
  return info;
}

}  // namespace pipeline::cnn
