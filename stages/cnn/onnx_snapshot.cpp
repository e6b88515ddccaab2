#include "stages/cnn/onnx_snapshot.h"

#include <cstdio>
#include <stdexcept>

#include "nn/onnx/onnx_export.h"
#include "nn/onnx/onnx_file.h"
#include "nn/onnx/onnx_metadata.h"

namespace pipeline::cnn {
namespace {

std::string Fixed(double value, const char* format) {
  char text[40];
  std::snprintf(text, sizeof(text), format, value);
  return text;
}

}  // namespace

void ExportSnapshotOnnx(const ModelSnapshot& snapshot, const std::string& path,
                        const std::string& source) {
  OnnxExportInput input;
  input.spec = snapshot.spec;
  input.tensors = *snapshot.tensors;
  // Without a recorded normalization the model takes whatever it was trained on: the graph
  // says so in input_range ("normalized" with no values), and cnn_predict then needs params.
  input.normalized = snapshot.normalization.applied;
  input.scale = snapshot.normalization.scale;
  input.mean = snapshot.normalization.mean;
  input.std = snapshot.normalization.std;
  input.class_names = snapshot.class_names;
  input.metadata.emplace_back(onnx_keys::kProducer, "pipeline " PIPELINE_VERSION);
  if (!source.empty()) input.metadata.emplace_back(onnx_keys::kSourceCheckpoint, source);
  input.metadata.emplace_back(onnx_keys::kEpochs,
                              std::to_string(snapshot.position.epochs_finished()));
  if (!snapshot.metrics.empty() && snapshot.metrics.back().has_test()) {
    const proto::EpochMetrics& last = snapshot.metrics.back();
    input.metadata.emplace_back(onnx_keys::kTestAccuracy, Fixed(last.test_accuracy(), "%.6f"));
    input.metadata.emplace_back(onnx_keys::kTestLoss, Fixed(last.test_loss(), "%.6f"));
  }
  onnx::ModelProto model;
  try {
    model = ExportOnnx(input);
  } catch (const std::exception& e) {
    throw std::runtime_error("exporting " + path + ": " + e.what());
  }
  WriteOnnxFile(path, model);
}

}  // namespace pipeline::cnn
