// ONNX files on disk: written atomically, read with every check a file from outside deserves.
#pragma once

#include <string>

#include "onnx/onnx_pb.h"  // defines ONNX_API, then includes onnx-ml.pb.h

namespace pipeline::cnn {

// Serializes `model` into `path` through a temporary file in the same folder that is fsync'ed and
// renamed over `path`: a failed export never leaves half a file. Throws std::runtime_error naming
// `path`.
void WriteOnnxFile(const std::string& path, const onnx::ModelProto& model);

// Reads `path` as an ONNX model: a regular, non-empty file of at most 1 GiB that parses as a
// ModelProto with a graph and passes onnx::checker::check_model. Throws std::runtime_error
// naming `path` and what is wrong ("truncated or not an ONNX file", the checker's message).
onnx::ModelProto ReadOnnxFile(const std::string& path);

// The same checks on bytes already in memory (the fuzz target); `origin` names them in errors.
onnx::ModelProto ParseOnnxModel(const std::string& bytes, const std::string& origin);

}  // namespace pipeline::cnn
