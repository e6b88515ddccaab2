#include "nn/onnx/onnx_file.h"

#include <stdexcept>

#include "nn/file_io.h"
#include "onnx/checker.h"

namespace pipeline::cnn {
namespace {

// At most 1 GiB: larger than any digit classifier; protobuf refuses messages over 2 GiB anyway.
const FileRole kOnnxRole{"ONNX model", "an ONNX file", "", uintmax_t{1} << 30, "more than 1 GiB"};

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  FailFile(kOnnxRole, path, what);
}

}  // namespace

void WriteOnnxFile(const std::string& path, const onnx::ModelProto& model) {
  std::string bytes;
  if (!model.SerializeToString(&bytes)) Fail(path, "cannot serialize the model");
  WriteFileAtomically(path, bytes, kOnnxRole);
}

onnx::ModelProto ParseOnnxModel(const std::string& bytes, const std::string& origin) {
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) {
    Fail(origin, "does not parse as an ONNX ModelProto (truncated, or not an ONNX file)");
  }
  // A stray file of a few bytes can parse as an empty message: require the essentials.
  if (!model.has_graph() || model.graph().node_size() == 0) {
    Fail(origin, "holds no graph nodes (truncated, or not an ONNX file)");
  }
  if (model.ir_version() <= 0) Fail(origin, "has no ir_version (not an ONNX model)");
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    Fail(origin, std::string("fails the ONNX checker: ") + e.what());
  }
  return model;
}

onnx::ModelProto ReadOnnxFile(const std::string& path) {
  return ParseOnnxModel(ReadWholeFile(path, kOnnxRole), path);
}

}  // namespace pipeline::cnn
