// `pipeline export CHECKPOINT MODEL.onnx`: a checkpoint's model as an ONNX file for OpenCV dnn,
// onnxruntime or PyTorch (see nn/onnx/onnx_export.h for the graph it writes).
#pragma once

#include "pipeline/cli/cli.h"

namespace pipeline::cnn {

CliCommand ExportCommand();

}  // namespace pipeline::cnn
