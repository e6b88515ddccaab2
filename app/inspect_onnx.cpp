#include "app/inspect_onnx.h"

#include <filesystem>
#include <sstream>

#include "nn/onnx/onnx_file.h"
#include "nn/onnx/onnx_model_info.h"

namespace pipeline::cnn {
namespace {

std::string Shape(const OnnxTensorInfo& tensor) {
  std::string text = tensor.name + ": " + tensor.type + " (";
  for (size_t i = 0; i < tensor.dims.size(); ++i) text += (i > 0 ? ", " : "") + tensor.dims[i];
  return text + ")";
}

}  // namespace

std::string DescribeOnnx(const std::string& path) {
  const OnnxModelInfo info = InspectOnnxModel(ReadOnnxFile(path), path);
  std::ostringstream out;
  out << "ONNX model: " << path << " (" << std::filesystem::file_size(path) << " bytes, IR version "
      << info.ir_version << ", opset " << info.opset << ", passes onnx::checker)\n";
  out << "producer: " << (info.producer.empty() ? "(not recorded)" : info.producer) << "\n";
  out << "input  " << Shape(info.input) << "\n";
  out << "output " << Shape(info.output) << "\n";
  out << "ops:";
  for (const auto& [op, count] : info.ops) out << " " << op << " x" << count;
  out << "\nparameters: " << info.initializer_values << " values in initializers\n";
  const OnnxInputPreparation& prep = info.preparation;
  out << "cnn_predict feeds: " << (prep.invert ? "255 - pixel (dark digits on light), " : "");
  if (prep.raw_pixels) {
    out << "raw 0..255 pixels (the graph normalizes them)";
  } else if (prep.mean && prep.std) {
    out << "(pixel * " << prep.scale.value_or(1.0 / 255.0) << " - " << *prep.mean << ") / "
        << *prep.std;
  } else {
    out << "normalized values, but no normalization recorded: give cnn_predict mean and std";
  }
  out << "; output read as "
      << (prep.outputs_probabilities ? "probabilities" : "logits (softmax applied)")
      << "\nmetadata:";
  if (info.metadata.empty()) out << " none";
  out << "\n";
  for (const auto& [key, value] : info.metadata) out << "  " << key << ": " << value << "\n";
  return out.str();
}

}  // namespace pipeline::cnn
