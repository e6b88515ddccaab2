// `pipeline inspect MODEL.onnx`: an ONNX model's inputs, outputs, ops, metadata and how
// cnn_predict will prepare its input.
#pragma once

#include <string>

namespace pipeline::cnn {

// The report; throws std::runtime_error naming the file (and the op) when cnn_predict could not
// run it.
std::string DescribeOnnx(const std::string& path);

}  // namespace pipeline::cnn
