// ModelSpec + tensors -> ONNX graph, for inference elsewhere (OpenCV dnn, onnxruntime, PyTorch).
// Written for OpenCV 4.6's importer, the strictest reader we target: opset 11, Gemm with
// transB=1 and its weights as initializers, Flatten on axis 1 (no Shape->Gather chains), no
// Squeeze/Unsqueeze, Softmax on axis 1.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "model.pb.h"
#include "nn/tensor.h"
#include "onnx/onnx_pb.h"  // defines ONNX_API, then includes onnx-ml.pb.h

namespace pipeline::cnn {

inline constexpr int kOnnxOpset = 11;

struct OnnxExportInput {
  proto::ModelSpec spec;
  std::vector<Tensor> tensors;  // Model::state_tensors(): parameters, then running statistics
  // value = (pixel * scale - mean) / std, as the training batches were preprocessed. When
  // `normalized`, the graph takes raw 0..255 pixels and does this itself with a Sub and a Mul
  // node; otherwise it takes the values the model was trained on.
  bool normalized = false;
  double scale = 1.0, mean = 0.0, std = 1.0;
  // Label 0 first; written as the class_names metadata, comma-separated (the numbers when empty).
  std::vector<std::string> class_names;
  // Extra metadata_props (provenance, metrics), added after the ones the export writes itself.
  std::vector<std::pair<std::string, std::string>> metadata;
};

// The inference graph: dropout dropped, each batch normalization that follows a convolution or
// dense layer folded into it (others become BatchNormalization nodes), a Flatten before a dense
// layer fed by an image, Softmax at the end. Input "pixels" (batch, channels, rows, cols), output
// "probabilities" (batch, classes); the batch dimension is symbolic. The result passes
// onnx::checker::check_model. Throws std::invalid_argument when the spec or tensors are invalid.
onnx::ModelProto ExportOnnx(const OnnxExportInput& input);

}  // namespace pipeline::cnn
