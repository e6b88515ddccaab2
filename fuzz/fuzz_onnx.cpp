// The ONNX reader on arbitrary bytes (what cnn_predict and `inspect` do before OpenCV sees a
// file): read, parse, onnx::checker, then the op, input-shape and metadata checks. It must refuse
// with a runtime_error, never crash.
#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "fuzz_file.h"
#include "nn/onnx/onnx_file.h"
#include "nn/onnx/onnx_model_info.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = pipeline::fuzz::WriteInput(data, size, ".onnx");
  try {
    (void)pipeline::cnn::InspectOnnxModel(pipeline::cnn::ReadOnnxFile(path), path);
  } catch (const std::runtime_error&) {
  }
  return 0;
}
