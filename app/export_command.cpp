#include "app/export_command.h"

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "stages/cnn/checkpoint.h"
#include "stages/cnn/onnx_snapshot.h"

namespace pipeline::cnn {

CliCommand ExportCommand() {
  CliCommand command;
  command.name = "export";
  command.summary = "write a checkpoint's model as an ONNX file (OpenCV dnn, onnxruntime, ...)";
  command.run = [](const std::vector<std::string>& args) {
    std::vector<std::string> paths;
    for (const std::string& arg : args) {
      if (arg == "--help" || arg == "-h") {
        std::cout
            << "usage: pipeline export CHECKPOINT MODEL.onnx\n\n"
               "Writes CHECKPOINT's model as an ONNX graph (opset 11, checked with "
               "onnx::checker):\ninput \"pixels\" (batch, channels, rows, cols) of raw 0..255 "
               "values, normalized inside the\ngraph by a Sub and a Mul node; output "
               "\"probabilities\" (batch, classes) from a Softmax.\nBatch normalization is folded "
               "into the layer before it, dropout dropped. metadata_props carry\nthe class names, "
               "input layout, normalization, polarity, program version and the\ncheckpoint's "
               "metrics. The file is written atomically (never half a file).\n\nexit codes: 0 "
               "ok, 1 bad checkpoint or cannot write, 2 bad usage\n";
        return kExitOk;
      }
      if (!arg.empty() && arg[0] == '-') {
        std::cerr << "pipeline export: unknown option " << arg << " (see --help)\n";
        return kExitUsage;
      }
      paths.push_back(arg);
    }
    if (paths.size() != 2) {
      std::cerr << "pipeline export: usage: pipeline export CHECKPOINT MODEL.onnx\n";
      return kExitUsage;
    }
    try {
      const auto snapshot = LoadCheckpoint(paths[0]);
      ExportSnapshotOnnx(*snapshot, paths[1], std::filesystem::path(paths[0]).filename().string());
      std::cout << "exported " << paths[0] << " to " << paths[1] << " ("
                << std::filesystem::file_size(paths[1]) << " bytes, ONNX opset 11)\n";
    } catch (const std::exception& e) {
      std::cerr << "pipeline export: " << e.what() << "\n";
      return kExitRunFailed;
    }
    return kExitOk;
  };
  return command;
}

}  // namespace pipeline::cnn
