#include "app/quantize_command.h"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "nn/int8/quantized_model.h"
#include "pipeline/cli/cli_common.h"
#include "stages/cnn/checkpoint.h"
#include "stages/cnn/inference_precision.h"

namespace pipeline::cnn {
namespace {

constexpr char kUsage[] =
    "usage: pipeline quantize CHECKPOINT OUT.ckpt [--calibration IMAGES.idx(.gz)] [--images N]\n"
    "       [--plugin-path DIR]\n";

constexpr char kDefaultCalibration[] = "data/mnist/train-images-idx3-ubyte.gz";

}  // namespace

CliCommand QuantizeCommand() {
  CliCommand command;
  command.name = "quantize";
  command.summary = "calibrate a checkpoint for int8 inference (cnn_predict precision: int8)";
  command.run = [](const std::vector<std::string>& args) {
    std::vector<std::string> paths;
    std::string calibration = kDefaultCalibration;
    int64_t images = kDefaultCalibrationImages;
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& arg = args[i];
      if (arg == "--help" || arg == "-h") {
        std::cout << kUsage
                  << "\nRuns CHECKPOINT's model in fp32 on the first N images (default 2000) of an "
                     "IDX image file\n(default "
                  << kDefaultCalibration
                  << "), normalized like its training data, records the\nlargest |value| of "
                     "every tensor int8 inference quantizes (the input and each conv/dense\n"
                     "output, batch norms folded) and writes the checkpoint with these ranges to "
                     "OUT.ckpt.\ncnn_predict and evaluate then run it with `precision: int8`: s8 "
                     "weights with a scale per\noutput channel, u8 activations, fp32 logits. The "
                     "calibration uses the first N images,\nso it is deterministic.\n\nexit codes: "
                     "0 ok, 1 bad checkpoint, images or output, 2 bad usage\n";
        return kExitOk;
      }
      if (arg == "--calibration" || arg == "--images" || arg == "--plugin-path") {
        if (i + 1 >= args.size()) {
          std::cerr << "pipeline quantize: " << arg << " needs a value\n";
          return kExitUsage;
        }
        const std::string& value = args[++i];
        if (arg == "--plugin-path") {  // taken by every command; quantizing loads no plugin
          try {
            cli::CheckPluginFolders({value});
          } catch (const cli::UsageError& e) {
            std::cerr << "pipeline quantize: " << e.what() << "\n";
            return kExitUsage;
          }
          continue;
        }
        if (arg == "--calibration") {
          calibration = value;
          continue;
        }
        try {
          size_t used = 0;
          images = std::stoll(value, &used);
          if (used != value.size() || images < 1) throw std::invalid_argument(value);
        } catch (const std::exception&) {
          std::cerr << "pipeline quantize: --images takes a positive whole number, not \"" << value
                    << "\"\n";
          return kExitUsage;
        }
        continue;
      }
      if (!arg.empty() && arg[0] == '-') {
        std::cerr << "pipeline quantize: unknown option " << arg << " (see --help)\n";
        return kExitUsage;
      }
      paths.push_back(arg);
    }
    if (paths.size() != 2) {
      std::cerr << "pipeline quantize: " << kUsage;
      return kExitUsage;
    }
    try {
      const auto start = std::chrono::steady_clock::now();
      auto snapshot = std::make_shared<ModelSnapshot>(*LoadCheckpoint(paths[0]));
      snapshot->calibration = CalibrateOn(calibration, images, *snapshot, "checkpoint " + paths[0]);
      // Refuses now, not at the first prediction, a model int8 cannot run.
      int8::QuantizedModel check(snapshot->spec, *snapshot->tensors, snapshot->calibration);
      SaveCheckpoint(*snapshot, paths[1]);
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("calibrated %s on %lld images of %s in %.1f s; wrote %s\n", paths[0].c_str(),
                  static_cast<long long>(snapshot->calibration.images()), calibration.c_str(),
                  seconds, paths[1].c_str());
    } catch (const std::exception& e) {
      std::cerr << "pipeline quantize: " << e.what() << "\n";
      return kExitRunFailed;
    }
    return kExitOk;
  };
  return command;
}

}  // namespace pipeline::cnn
