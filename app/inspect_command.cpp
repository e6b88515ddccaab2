#include "app/inspect_command.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/inspect_onnx.h"
#include "nn/model_spec.h"
#include "pipeline/cli/cli_common.h"
#include "stages/cnn/checkpoint.h"

namespace pipeline::cnn {
namespace {

std::string Format(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof(text), format, value);
  return text;
}

// 1234567 -> "1,234,567".
std::string Grouped(int64_t value) {
  const std::string digits = std::to_string(value);
  const size_t sign = value < 0 ? 1 : 0;
  std::string grouped = digits.substr(0, sign);
  for (size_t i = sign; i < digits.size(); ++i) {
    if (i > sign && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  return grouped;
}

std::string Pad(std::string text, size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

void Architecture(const ModelSnapshot& snapshot, std::ostream& out) {
  const ResolvedModel resolved = resolve_model(snapshot.spec);
  std::unique_ptr<Model> model = RestoreModel(snapshot);
  int64_t trainable = 0;
  for (const Parameter* parameter : model->parameters()) trainable += parameter->size();
  out << "model: " << (snapshot.spec.name().empty() ? "(unnamed)" : snapshot.spec.name()) << ", "
      << (snapshot.spec.precision() == proto::PRECISION_BF16 ? "bf16 mixed precision" : "fp32")
      << ", " << resolved.classes << " classes";
  if (snapshot.spec.label_smoothing() > 0) {
    out << ", label smoothing " << snapshot.spec.label_smoothing();
  }
  if (!snapshot.precision_choice.empty()) out << "\n  precision " << snapshot.precision_choice;
  out << "\n  " << Pad("layer", 12) << Pad("kind", 20) << Pad("output", 16) << "parameters\n";
  out << "  " << Pad("input", 12) << Pad("", 20) << resolved.input.to_string() << "\n";
  for (const ResolvedLayer& layer : resolved.layers) {
    int64_t count = 0;
    for (const Parameter* parameter : model->parameters()) {
      if (parameter->name.rfind(layer.name + ".", 0) == 0) count += parameter->size();
    }
    std::string line =
        "  " + Pad(layer.name, 12) + Pad(describe_layer(layer), 20) +
        (count > 0 ? Pad(layer.out.to_string(), 16) + Grouped(count) : layer.out.to_string());
    out << line << "\n";
  }
  const double forward = forward_flops_per_image(resolved);
  out << "parameters: " << Grouped(trainable) << " trainable";
  const int64_t total = [&] {
    int64_t sum = 0;
    for (const Tensor& tensor : *snapshot.tensors)
      sum += static_cast<int64_t>(tensor.values.size());
    return sum;
  }();
  if (total > trainable) out << " + " << Grouped(total - trainable) << " running statistics";
  out << "\nFLOPs per image: forward " << Format("%.1f M", forward / 1e6) << ", training about "
      << Format("%.1f M", 3 * forward / 1e6) << " (forward + backward data + backward weights)\n";
}

// One callback's watch over the validation loss, e.g. "best 0.0342 after epoch 7, 2 epochs
// without improvement".
std::string Watch(const proto::PlateauState& state) {
  if (state.best_epoch() < 0) return "no validation loss seen yet";
  return "best validation loss " + Format("%.4f", state.best()) + " after epoch " +
         std::to_string(state.best_epoch() + 1) + ", " +
         std::to_string(state.epochs_without_improvement()) + " epoch(s) without improvement";
}

// What the training callbacks did and will resume with: the reduce-LR multiplier (shown only when
// it has left 1), the early-stopping and reduce-LR watches, and why training stopped.
void Callbacks(const ModelSnapshot& snapshot, std::ostream& out) {
  const proto::TrainingPosition& position = snapshot.position;
  // 0 is how checkpoints from before the callbacks say 1.
  const double lr_scale = position.lr_scale() > 0 ? position.lr_scale() : 1.0;
  if (lr_scale != 1) {
    out << "  learning rate: " << Format("%.4g", lr_scale)
        << " x the schedule's (reduced on plateau; a resumed run continues with it)\n";
  }
  if (position.has_early_stopping()) {
    out << "  early stopping: " << Watch(position.early_stopping()) << "\n";
  }
  if (position.has_reduce_lr()) out << "  reduce-LR: " << Watch(position.reduce_lr()) << "\n";
  if (!snapshot.metrics.empty() && !snapshot.metrics.back().stop_reason().empty()) {
    out << "  stopped: " << snapshot.metrics.back().stop_reason() << "\n";
  }
}

// Whether int8 inference has its scales (`pipeline quantize`), and from what.
void Calibration(const ModelSnapshot& snapshot, std::ostream& out) {
  const proto::CalibrationData& calibration = snapshot.calibration;
  if (calibration.ranges_size() == 0) {
    out << "int8 calibration: none (pipeline quantize adds one)\n";
    return;
  }
  out << "int8 calibration: method " << calibration.method() << ", "
      << Grouped(calibration.images()) << " images of " << calibration.source() << "\n  ranges:";
  for (const proto::TensorRange& range : calibration.ranges()) {
    out << " " << range.tensor() << " " << Format("%.4g", range.max_abs());
  }
  out << "\n";
}

void Training(const ModelSnapshot& snapshot, std::ostream& out) {
  const proto::TrainingPosition& position = snapshot.position;
  out << "training: " << position.epochs_finished() << " of " << position.planned_epochs()
      << " planned epochs, " << Grouped(static_cast<int64_t>(position.global_step())) << " steps";
  if (position.batch_size() > 0) {
    out << ", batch " << position.batch_size() << " (" << position.steps_per_epoch()
        << " steps per epoch of " << Grouped(position.epoch_size()) << " samples)";
  }
  // Checkpoints from before distributed training say 0: one process.
  out << "\n  ranks: " << std::max(position.ranks(), 1)
      << (position.ranks() > 1 ? " (data-parallel, mpirun; the batch is the global one)" : "");
  out << "\n  optimizer: " << snapshot.optimizer.ShortDebugString();
  out << "\n  schedule: " << snapshot.schedule.ShortDebugString();
  out << "\n  seeds: graph " << position.graph_seed() << ", stage \"" << position.stage_name()
      << "\", model " << position.model_seed() << "\n";
  Callbacks(snapshot, out);
  const Normalization& n = snapshot.normalization;
  if (n.applied) {
    out << "normalization: (pixel * " << Format("%.8g", n.scale) << " - " << Format("%.6g", n.mean)
        << ") / " << Format("%.6g", n.std) << "\n";
  } else {
    out << "normalization: none recorded\n";
  }
  if (!snapshot.dataset_name.empty()) out << "dataset: " << snapshot.dataset_name << "\n";
  Calibration(snapshot, out);
  if (!snapshot.class_names.empty()) {
    out << "classes:";
    for (size_t i = 0; i < snapshot.class_names.size(); ++i) {
      out << (i == 0 ? " " : ", ") << i << " " << snapshot.class_names[i];
    }
    out << "\n";
  }
}

void History(const ModelSnapshot& snapshot, std::ostream& out) {
  if (snapshot.metrics.empty()) {
    out << "metrics: none\n";
    return;
  }
  // Validation columns only for a run that had a validation set, so the table of a plain run
  // keeps its shape (scripts read its columns by position).
  const bool validated =
      std::any_of(snapshot.metrics.begin(), snapshot.metrics.end(),
                  [](const proto::EpochMetrics& row) { return row.has_validation(); });
  out << "metrics:\n  epoch      step  learn rate  train loss  train acc"
      << (validated ? "   val loss   val acc" : "") << "  test loss  test acc    img/s   at (s)\n";
  const proto::EpochMetrics* last_tested = nullptr;
  for (const proto::EpochMetrics& row : snapshot.metrics) {
    char line[200];
    std::snprintf(line, sizeof(line), "  %5lld  %8llu  %10.3g  %10.4f  %8.2f%%",
                  static_cast<long long>(row.epoch() + 1),
                  static_cast<unsigned long long>(row.global_step()), row.learning_rate(),
                  row.train_loss(), 100 * row.train_accuracy());
    out << line;
    if (validated && row.has_validation()) {
      std::snprintf(line, sizeof(line), "  %9.4f  %7.2f%%", row.validation_loss(),
                    100 * row.validation_accuracy());
      out << line;
    } else if (validated) {
      out << "          -         -";
    }
    if (row.has_test()) {
      std::snprintf(line, sizeof(line), "  %9.4f  %7.2f%%", row.test_loss(),
                    100 * row.test_accuracy());
      out << line;
      last_tested = &row;
    } else {
      out << "          -         -";
    }
    // When the epoch's figures were complete: after its evaluation when there was one.
    std::snprintf(line, sizeof(line), "  %7.0f  %7.1f\n", row.images_per_second(),
                  row.has_test() ? row.tested_at_seconds() : row.elapsed_seconds());
    out << line;
  }
  if (last_tested == nullptr || last_tested->per_class_size() == 0) return;
  out << "per class (epoch " << last_tested->epoch() + 1 << ", " << last_tested->test_samples()
      << " test samples):\n  class  precision  recall      F1  support\n";
  for (int c = 0; c < last_tested->per_class_size(); ++c) {
    const proto::ClassMetrics& row = last_tested->per_class(c);
    char line[128];
    std::snprintf(line, sizeof(line), "  %5d  %8.2f%%  %6.2f%%  %6.4f  %7lld\n", c,
                  100 * row.precision(), 100 * row.recall(), row.f1(),
                  static_cast<long long>(row.support()));
    out << line;
  }
  const int classes = last_tested->classes();
  if (classes > 0 && classes <= 20 && last_tested->confusion_size() == classes * classes) {
    out << "confusion (rows: true class, columns: predicted):\n       ";
    for (int c = 0; c < classes; ++c) out << Format("%6.0f", c);
    out << "\n";
    for (int r = 0; r < classes; ++r) {
      out << Format("  %5.0f", r);
      for (int c = 0; c < classes; ++c) {
        out << Format("%6.0f", static_cast<double>(last_tested->confusion(r * classes + c)));
      }
      out << "\n";
    }
  }
}

void Graph(const ModelSnapshot& snapshot, int graph_lines, std::ostream& out) {
  if (snapshot.graph_text.empty()) {
    out << "graph: not recorded\n";
    return;
  }
  std::istringstream text(snapshot.graph_text);
  std::vector<std::string> lines;
  for (std::string line; std::getline(text, line);) lines.push_back(line);
  out << "graph: " << (snapshot.graph_file.empty() ? "(in memory)" : snapshot.graph_file) << ", "
      << lines.size() << " lines\n";
  const size_t shown =
      graph_lines < 0 ? lines.size() : std::min(lines.size(), static_cast<size_t>(graph_lines));
  for (size_t i = 0; i < shown; ++i) out << "  | " << lines[i] << "\n";
  if (shown < lines.size()) {
    out << "  | ... (" << lines.size() - shown << " more; pipeline inspect --graph shows all)\n";
  }
}

}  // namespace

std::string DescribeCheckpoint(const std::string& path, int graph_lines) {
  CheckpointFileInfo info;
  std::shared_ptr<const ModelSnapshot> snapshot = LoadCheckpoint(path, &info);
  std::ostringstream out;
  char crc[16];
  std::snprintf(crc, sizeof(crc), "%08x", info.crc32);
  out << "checkpoint: " << path << " (" << Grouped(static_cast<int64_t>(info.file_bytes))
      << " bytes, format version " << info.format_version << ", CRC-32 " << crc
      << " ok, every tensor matches the spec)\n";
  Architecture(*snapshot, out);
  Training(*snapshot, out);
  History(*snapshot, out);
  Graph(*snapshot, graph_lines, out);
  return out.str();
}

CliCommand InspectCommand() {
  CliCommand command;
  command.name = "inspect";
  command.summary =
      "describe a checkpoint (model, training position, metrics, graph) or an ONNX model";
  command.run = [](const std::vector<std::string>& args) {
    std::string path;
    int graph_lines = 12;
    std::vector<std::string> plugin_paths;
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& arg = args[i];
      if (arg == "--help" || arg == "-h") {
        std::cout << "usage: pipeline inspect CHECKPOINT [--graph]\n"
                     "       pipeline inspect MODEL.onnx\n\n"
                     "Verifies CHECKPOINT (format version, checksum, every tensor against the "
                     "model spec) and describes it. For MODEL.onnx: its inputs, outputs, ops and "
                     "metadata, checked against what cnn_predict runs.\n  --graph             "
                     "print the whole source graph, not just its first lines\n  --plugin-path DIR"
                     "   accepted as by every command (a checkpoint needs no plugin)\n\nexit "
                     "codes: 0 ok, 1 not a valid checkpoint, 2 bad usage\n";
        return kExitOk;
      }
      if (arg == "--graph") {
        graph_lines = -1;
      } else if (arg.rfind("--plugin-path=", 0) == 0) {
        plugin_paths.push_back(arg.substr(arg.find('=') + 1));
      } else if (arg == "--plugin-path") {
        if (i + 1 == args.size()) {
          std::cerr << "pipeline inspect: --plugin-path needs a folder\n";
          return kExitUsage;
        }
        plugin_paths.push_back(args[++i]);
      } else if (!arg.empty() && arg[0] == '-') {
        std::cerr << "pipeline inspect: unknown option " << arg << " (see --help)\n";
        return kExitUsage;
      } else if (path.empty()) {
        path = arg;
      } else {
        std::cerr << "pipeline inspect: one checkpoint at a time (got " << path << " and " << arg
                  << ")\n";
        return kExitUsage;
      }
    }
    if (path.empty()) {
      std::cerr << "pipeline inspect: give a checkpoint, e.g. pipeline inspect "
                   "runs/mnist/latest.ckpt\nusage: pipeline inspect CHECKPOINT [--graph]\n";
      return kExitUsage;
    }
    try {
      cli::CheckPluginFolders(plugin_paths);
    } catch (const cli::UsageError& e) {
      std::cerr << "pipeline inspect: " << e.what() << "\n";
      return kExitUsage;
    }
    try {
      const bool onnx = path.size() > 5 && (path.ends_with(".onnx") || path.ends_with(".ONNX"));
      std::cout << (onnx ? DescribeOnnx(path) : DescribeCheckpoint(path, graph_lines));
    } catch (const std::exception& e) {
      std::cerr << "pipeline inspect: " << e.what() << "\n";
      return kExitRunFailed;
    }
    return kExitOk;
  };
  return command;
}

}  // namespace pipeline::cnn
