// A model snapshot as an ONNX file: the export behind `pipeline export` and the checkpoint
// sink's `onnx` option.
#pragma once

#include <string>

#include "stages/cnn/model_snapshot.h"

namespace pipeline::cnn {

// Writes `snapshot` to `path` as ONNX (see nn/onnx/onnx_export.h), atomically, with its
// normalization as Sub/Mul nodes and in metadata_props, with the program version, `source` (the
// checkpoint it came from, may be empty) and the last epoch's metrics. Throws std::runtime_error
// naming `path`.
void ExportSnapshotOnnx(const ModelSnapshot& snapshot, const std::string& path,
                        const std::string& source);

}  // namespace pipeline::cnn
