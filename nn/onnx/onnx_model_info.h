// What an ONNX classifier says about itself — input and output tensors, the ops it uses, its
// metadata and how its input must be prepared — checked against what cnn_predict can run through
// OpenCV 4.6's dnn module before OpenCV sees the file (OpenCV's own errors name neither the file
// nor, often, the op).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "onnx/onnx_pb.h"  // defines ONNX_API, then includes onnx-ml.pb.h

namespace pipeline::cnn {

struct OnnxTensorInfo {
  std::string name;
  std::string type;               // "float", "int64", ...
  std::vector<std::string> dims;  // "1", "28", or a symbolic name ("batch"); "?" when unknown
};

// How pixels become the model's input, from the metadata (see onnx_metadata.h); cnn_predict's
// params override it.
struct OnnxInputPreparation {
  bool raw_pixels = false;  // the graph takes 0..255 values and normalizes them itself
  // Set when the caller must normalize: value = (pixel * scale - mean) / std.
  std::optional<double> scale, mean, std;
  bool invert = false;                // dark digits on a light background: feed 255 - pixel
  bool outputs_probabilities = true;  // false: logits, apply a softmax
};

struct OnnxModelInfo {
  std::string path;
  int64_t ir_version = 0;
  int64_t opset = 0;  // of the default domain
  std::string producer;
  OnnxTensorInfo input, output;
  int64_t channels = 0, rows = 0, cols = 0;      // of the input (N, C, H, W)
  int64_t classes = 0;                           // output dim 1, 0 when symbolic
  std::vector<std::pair<std::string, int>> ops;  // op type and count, in first-use order
  std::vector<std::pair<std::string, std::string>> metadata;
  int64_t initializer_values = 0;  // parameters stored in the file
  OnnxInputPreparation preparation;

  // The metadata value for `key`, or nullptr.
  const std::string* Metadata(const std::string& key) const;
};

// Checks `model` (read from `path`) for what cnn_predict runs: one float input of shape
// (batch, channels, rows, cols) with fixed channels, rows and cols; one output (batch, classes);
// only ops of the supported list. Throws std::runtime_error naming `path` and the offending op,
// node or tensor.
OnnxModelInfo InspectOnnxModel(const onnx::ModelProto& model, const std::string& path);

// The ops InspectOnnxModel accepts, comma-separated (for messages and --help).
std::string SupportedOnnxOps();

}  // namespace pipeline::cnn
