#include "app/evaluate_command.h"

#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "graph.pb.h"
#include "pipeline/cli/cli_common.h"
#include "pipeline/engine/graph.h"
#include "pipeline/engine/runner.h"
#include "report.pb.h"
#include "stages/cnn/checkpoint.h"
#include "stages/report/report_writer.h"

namespace pipeline::cnn {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDefaultImages = "data/mnist/t10k-images-idx3-ubyte.gz";

constexpr const char* kUsage =
    "usage: pipeline evaluate CHECKPOINT [DATA] [options]\n\n"
    "Measures CHECKPOINT's model on labelled IDX data and writes the report a training run\n"
    "writes (index.html, metrics.json, metrics.csv, curves, confusion matrix, per-class and\n"
    "mistakes pictures). DATA defaults to the MNIST test set, "
    "data/mnist/t10k-images-idx3-ubyte.gz.\n\n"
    "  --labels FILE   IDX labels of DATA (default: the file beside DATA named the MNIST way,\n"
    "                  ...-images-idx3-... -> ...-labels-idx1-..., e.g. "
    "train-images-idx3-ubyte.gz\n"
    "                  -> train-labels-idx1-ubyte.gz)\n"
    "  --out DIR       report folder (default: beside CHECKPOINT, STEM_evaluation_DATA, e.g.\n"
    "                  runs/mnist/latest_evaluation_t10k for latest.ckpt on "
    "t10k-images-idx3-ubyte.gz)\n"
    "  --batch N       samples per model call (default 1000)\n"
    "  --mistakes N    most confident mistakes to show (default 36)\n"
    "  --threads N     worker threads (default: all cores)\n"
    "  --precision P   auto (the checkpoint's own), fp32, bf16 or int8 (needs a checkpoint\n"
    "                  from `pipeline quantize`)\n"
    "  --plugin-path DIR  accepted as by every command (evaluation needs no plugin)\n\n"
    "exit codes: 0 ok, 1 bad checkpoint or data, 2 bad usage\n";

void AddParam(proto::StageSpec* stage, const std::string& key, const std::string& value) {
  proto::Param* param = stage->add_param();
  param->set_key(key);
  param->set_value(value);
}

proto::StageSpec* AddStage(proto::GraphSpec& graph, const std::string& name,
                           const std::string& plugin, std::vector<std::string> inputs) {
  proto::StageSpec* stage = graph.add_stage();
  stage->set_name(name);
  stage->set_plugin(plugin);
  for (std::string& input : inputs) stage->add_input(std::move(input));
  return stage;
}

// Exactly the double, so `evaluate` sees the normalization the checkpoint recorded.
std::string Exact(double value) {
  char text[40];
  std::snprintf(text, sizeof(text), "%.17g", value);
  return text;
}

struct Arguments {
  EvaluationPlan plan;
  int threads = 0;
  std::vector<std::string> plugin_paths;
  bool help = false;
};

int ParseInt(const std::string& option, const std::string& text, int low, int high) {
  size_t used = 0;
  int value = 0;
  try {
    value = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || value < low || value > high) {
    throw std::invalid_argument(option + " takes a whole number from " + std::to_string(low) +
                                " to " + std::to_string(high) + ", got \"" + text + "\"");
  }
  return value;
}

// Throws std::invalid_argument for a bad command line.
Arguments Parse(const std::vector<std::string>& args) {
  Arguments parsed;
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "--help" || arg == "-h") {
      parsed.help = true;
      return parsed;
    }
    if (arg.rfind("--", 0) != 0) {
      positional.push_back(arg);
      continue;
    }
    std::string value;
    if (const size_t equals = arg.find('='); equals != std::string::npos) {
      value = arg.substr(equals + 1);
      arg = arg.substr(0, equals);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      throw std::invalid_argument(arg + " needs a value");
    }
    if (arg == "--labels") {
      parsed.plan.labels = value;
    } else if (arg == "--out") {
      parsed.plan.out_dir = value;
    } else if (arg == "--batch") {
      parsed.plan.batch = ParseInt(arg, value, 1, 1000000);
    } else if (arg == "--mistakes") {
      parsed.plan.mistakes = ParseInt(arg, value, 0, 10000);
    } else if (arg == "--precision") {
      if (value != "auto" && value != "fp32" && value != "bf16" && value != "int8") {
        throw std::invalid_argument("--precision takes auto, fp32, bf16 or int8, not " + value);
      }
      parsed.plan.precision = value;
    } else if (arg == "--threads") {
      parsed.threads = ParseInt(arg, value, 0, 4096);
    } else if (arg == "--plugin-path") {
      parsed.plugin_paths.push_back(value);
    } else {
      throw std::invalid_argument("unknown option " + arg);
    }
  }
  if (positional.empty()) {
    throw std::invalid_argument("give a checkpoint, e.g. pipeline evaluate runs/mnist/latest.ckpt");
  }
  if (positional.size() > 2) {
    throw std::invalid_argument("one checkpoint and one data file at most (got \"" + positional[2] +
                                "\" too)");
  }
  parsed.plan.checkpoint = positional[0];
  parsed.plan.images = positional.size() > 1 ? positional[1] : "";
  return parsed;
}

// Fills in the data, labels and folder the user left out; throws std::runtime_error naming the
// file that is missing.
void Complete(EvaluationPlan& plan) {
  const bool default_data = plan.images.empty();
  if (default_data) plan.images = kDefaultImages;
  if (!fs::is_regular_file(plan.images)) {
    throw std::runtime_error(
        plan.images + ": no such data file" +
        (default_data ? " (the default MNIST test set; run data/fetch_mnist.sh, or name an IDX "
                        "images file after the checkpoint)"
                      : ""));
  }
  if (plan.labels.empty()) {
    plan.labels = LabelsBesideImages(plan.images);
    if (plan.labels.empty() || !fs::is_regular_file(plan.labels)) {
      throw std::runtime_error("no labels for " + plan.images +
                               (plan.labels.empty() ? "" : " (looked for " + plan.labels + ")") +
                               "; name the IDX labels file with --labels FILE");
    }
  } else if (!fs::is_regular_file(plan.labels)) {
    throw std::runtime_error(plan.labels + ": no such labels file");
  }
  if (plan.out_dir.empty()) plan.out_dir = DefaultReportFolder(plan.checkpoint, plan.images);
}

// The test figures the report holds, read back from its metrics.json.
std::string Summary(const std::string& json_path) {
  std::ifstream file(json_path);
  std::stringstream text;
  text << file.rdbuf();
  proto::RunReport report;
  if (!file || !google::protobuf::util::JsonStringToMessage(text.str(), &report).ok()) {
    throw std::runtime_error("the report " + json_path + " was not written");
  }
  for (int i = report.epochs_size() - 1; i >= 0; --i) {
    const proto::EpochMetrics& row = report.epochs(i);
    if (!row.has_test()) continue;
    char line[160];
    std::snprintf(line, sizeof(line), "accuracy %.2f%% (%lld of %lld correct), loss %.4f",
                  100 * row.test_accuracy(),
                  static_cast<long long>(
                      std::llround(row.test_accuracy() * static_cast<double>(row.test_samples()))),
                  static_cast<long long>(row.test_samples()), row.test_loss());
    return line;
  }
  throw std::runtime_error("the report " + json_path + " holds no test figures");
}

int Evaluate(const Arguments& arguments, const PipelinePluginDescriptor& stages) {
  EvaluationPlan plan = arguments.plan;
  // Checked here first, so a bad checkpoint is named before anything else happens.
  plan.normalization = LoadCheckpoint(plan.checkpoint)->normalization;
  Complete(plan);

  Registry registry;
  if (const char* error = stages.register_stages(&registry)) {
    throw std::runtime_error(std::string("cannot register the standard stages: ") + error);
  }
  LoadResult loaded = LoadGraphText(EvaluationGraphText(plan), "evaluate " + plan.checkpoint,
                                    registry, LoadOptions{});
  if (!loaded.errors.empty()) {
    std::cerr << FormatAll(loaded.errors);
    return kExitUsage;
  }
  // A stale report from an earlier evaluation must not pass for this one.
  std::error_code ignored;
  fs::remove(fs::path(plan.out_dir) / report::kJsonFile, ignored);

  RunOptions options;
  options.threads = arguments.threads;
  const RunResult result = RunGraph(*loaded.graph, options);
  if (!result.ok) {
    std::cerr << "pipeline evaluate: " << result.error << "\n";
    return kExitRunFailed;
  }
  // The result on stdout, for scripts; the report sink has already said where the report went
  // ("report: DIR/index.html" on stderr, as in any run).
  std::cout << plan.checkpoint << " on " << plan.images << ": "
            << Summary((fs::path(plan.out_dir) / report::kJsonFile).string()) << "\n";
  return kExitOk;
}

}  // namespace

std::string LabelsBesideImages(const std::string& images) {
  const fs::path path(images);
  std::string name = path.filename().string();
  for (const auto& [from, to] :
       {std::pair<std::string, std::string>{"images-idx3", "labels-idx1"}, {"images", "labels"}}) {
    if (const size_t at = name.find(from); at != std::string::npos) {
      name.replace(at, from.size(), to);
      return (path.parent_path() / name).string();
    }
  }
  return "";
}

std::string DataStem(const std::string& images) {
  std::string name = fs::path(images).filename().string();
  if (name.size() > 3 && name.ends_with(".gz")) name.resize(name.size() - 3);
  // MNIST's naming: the set's name comes before "-images-idx3-ubyte".
  for (const char* suffix : {"-images-idx3-ubyte", "-idx3-ubyte", "-images"}) {
    if (const size_t at = name.rfind(suffix); at != std::string::npos && at > 0) {
      return name.substr(0, at);
    }
  }
  const std::string stem = fs::path(name).stem().string();
  return stem.empty() ? name : stem;
}

std::string DefaultReportFolder(const std::string& checkpoint, const std::string& images) {
  const fs::path path(checkpoint);
  return (path.parent_path() / (path.stem().string() + "_evaluation_" + DataStem(images))).string();
}

std::string EvaluationGraphText(const EvaluationPlan& plan) {
  proto::GraphSpec graph;
  graph.set_name("evaluate");
  graph.set_description("pipeline evaluate " + plan.checkpoint + " " + plan.images);
  AddParam(AddStage(graph, "model", "checkpoint_source", {}), "path", plan.checkpoint);
  proto::StageSpec* data = AddStage(graph, "data", "idx_source", {});
  AddParam(data, "images", plan.images);
  AddParam(data, "labels", plan.labels);
  std::string batch_input = "data";
  if (plan.normalization.applied) {
    // normalize derives the scale from the pixel depth (1/255 for IDX bytes) itself.
    proto::StageSpec* normalize = AddStage(graph, "normalize", "normalize", {"data"});
    AddParam(normalize, "mean", Exact(plan.normalization.mean));
    AddParam(normalize, "std", Exact(plan.normalization.std));
    batch_input = "normalize";
  }
  AddParam(AddStage(graph, "batch", "batch", {batch_input}), "size", std::to_string(plan.batch));
  proto::StageSpec* evaluate =
      AddStage(graph, "evaluate", "evaluate", {"model=model", "samples=batch"});
  AddParam(evaluate, "mistakes", std::to_string(plan.mistakes));
  AddParam(evaluate, "precision", plan.precision);
  // Its epoch line repeats the checkpoint's training figures, stale here; the summary says it.
  AddParam(evaluate, "epoch_lines", "false");
  AddParam(AddStage(graph, "report", "report", {"evaluate.metrics"}), "dir", plan.out_dir);
  std::string text;
  google::protobuf::TextFormat::PrintToString(graph, &text);
  return text;
}

CliCommand EvaluateCommand(const PipelinePluginDescriptor& stages) {
  CliCommand command;
  command.name = "evaluate";
  command.summary = "measure a checkpoint on labelled data and write the report (index.html)";
  command.run = [&stages](const std::vector<std::string>& args) {
    Arguments arguments;
    try {
      arguments = Parse(args);
    } catch (const std::invalid_argument& e) {
      std::cerr << "pipeline evaluate: " << e.what() << "\n" << kUsage;
      return kExitUsage;
    }
    if (arguments.help) {
      std::cout << kUsage;
      return kExitOk;
    }
    try {
      cli::CheckPluginFolders(arguments.plugin_paths);
    } catch (const cli::UsageError& e) {
      std::cerr << "pipeline evaluate: " << e.what() << "\n";
      return kExitUsage;
    }
    try {
      return Evaluate(arguments, stages);
    } catch (const std::exception& e) {
      std::cerr << "pipeline evaluate: " << e.what() << "\n";
      return kExitRunFailed;
    }
  };
  return command;
}

}  // namespace pipeline::cnn
