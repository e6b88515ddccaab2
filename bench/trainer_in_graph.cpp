// trainer_in_graph: the CNN trainer's images/s inside a training graph against the same trainer
// alone, and the ratio (the goal: >= 0.95, i.e. the flow graph loading, augmenting, normalizing
// and batching the next samples on the same cores slows the trainer's steps by at most 5%).
//
//   trainer_in_graph [--graph FILE] [--samples N] [--epochs E] [--runs R] [--threads T]
//                    [--plugins DIR] [--check] [--help]
//
// "in the graph" is the graph as a user runs it (default train.graph at the repository root,
// evaluation, checkpoints and report included, written to a temporary folder), its training
// source cut to N samples (default: all of them) and E epochs (default 2). Of its last epoch, as
// cnn_train records it in its metrics, two figures: the trainer's rate (samples / seconds inside
// its update steps), the one the goal is about, and the epoch's rate (samples / seconds from its
// first to its last batch), which also pays for waits and for the other stages' work on the
// compute thread — the previous epoch's evaluation.
// "alone" is the model, optimizer, schedule, precision and batch size that run used (read from
// its last model snapshot, so precision auto's choice is the same), stepping through the same
// number of samples already normalized in memory, one thread calling it, as train_bench does.
// The two alternate, R times each; the figure is the median of the R runs' ratios. --check exits 1
// below 0.95.
#include <google/protobuf/text_format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_cli.h"
#include "cpu_features.h"
#include "graph.pb.h"
#include "mnist_idx.h"
#include "nn/model.h"
#include "nn/openmp_policy.h"
#include "nn/trainer.h"
#include "pipeline/engine/graph.h"
#include "pipeline/engine/plugin_loader.h"
#include "pipeline/engine/runner.h"
#include "pipeline/registry.h"
#include "silenced.h"
#include "stages/cnn/model_snapshot.h"
#include "stages/standard_stages.h"
#include "training_chain.h"

namespace {

namespace bench = pipeline::bench;
namespace fs = std::filesystem;

constexpr double kGoalRatio = 0.95;
constexpr const char* kKeeperPlugin = "bench_model_keeper";

struct Options {
  std::string graph = std::string(PIPELINE_SOURCE_DIR) + "/train.graph";
  std::string plugins = PIPELINE_PLUGIN_BUILD_DIR;
  int samples = 0;
  int epochs = 2;
  int runs = 3;
  int threads = 0;
  bool check = false;
};

std::optional<int> ParseOptions(int argc, char** argv, Options& options) {
  const std::string usage =
      "trainer_in_graph [options]\n"
      "The trainer's images/s inside a training graph (as `pipeline run` runs it) against the\n"
      "same model, optimizer and batch stepping alone, and the ratio (goal: >= 0.95).\n"
      "Run it from the repository root (the graph's data paths are relative to it). See\n"
      "bench/trainer_in_graph.cpp.";
  return bench::ParseCommandLine(
      argc, argv, "trainer_in_graph", usage, [&](bench::OptionAdder& add) {
        add("graph", bench::Defaulted(&options.graph), "training graph measured");
        add("samples", bench::IntAtLeast(&options.samples, 0, "samples"),
            "training samples per epoch (0: all the source gives)");
        add("epochs", bench::IntAtLeast(&options.epochs, 1, "epochs"),
            "epochs per graph run; the last one is measured");
        add("runs", bench::IntAtLeast(&options.runs, 1, "runs"), "runs of each (median)");
        add("threads", bench::IntAtLeast(&options.threads, 0, "threads"),
            "engine threads (0: the default)");
        add("plugins", bench::Defaulted(&options.plugins), "folder of the plugin libraries");
        add("check", bench::po::bool_switch(&options.check), "exit 1 when the ratio is below 0.95");
      });
}

// The sink the bench adds beside the graph's own: it keeps the trainer's last model snapshot,
// whose metrics carry each epoch's images/s and whose specs say what was trained.
std::mutex kept_mutex;
std::shared_ptr<const pipeline::cnn::ModelSnapshot> kept_model;

class ModelKeeper : public pipeline::Stage {
 public:
  void process(const pipeline::Message& msg, pipeline::Emitter& /*out*/) override {
    const std::lock_guard lock(kept_mutex);
    kept_model = std::dynamic_pointer_cast<const pipeline::cnn::ModelSnapshot>(msg.payload);
  }
};

void RegisterModelKeeper(pipeline::Registry& registry) {
  pipeline::StageInfo info;
  info.name = kKeeperPlugin;
  info.kind = pipeline::StageKind::kSink;
  info.concurrency = pipeline::Concurrency::kSerial;
  info.doc = "trainer_in_graph's sink: keeps the last model snapshot";
  info.inputs = {{"models", "model", "cnn_train's snapshots"}};
  info.create = [] { return std::make_unique<ModelKeeper>(); };
  registry.add(std::move(info));
}

// The graph as a user runs it, its training data cut to `samples` x `epochs`, its files written
// under `scratch`, its trainer quiet, and the keeper beside the trainer's consumers.
pipeline::proto::GraphSpec MeasuredGraph(const pipeline::proto::GraphSpec& graph,
                                         const Options& options, const fs::path& scratch) {
  pipeline::proto::GraphSpec measured = graph;
  const std::string trainer = bench::TrainerName(graph);
  for (const std::string& name : bench::TrainingStages(graph)) {
    pipeline::proto::StageSpec& stage = *bench::FindStage(measured, name);
    if (stage.input_size() > 0) continue;
    bench::SetParam(stage, "epochs", std::to_string(options.epochs));
    if (options.samples > 0) bench::SetParam(stage, "limit", std::to_string(options.samples));
  }
  for (auto& stage : *measured.mutable_stage()) {
    for (const auto& param : stage.param()) {
      if (param.key() == "dir") {
        bench::SetParam(stage, "dir", (scratch / stage.name()).string());
        break;
      }
    }
    if (stage.plugin() == bench::kTrainerPlugin) bench::SetParam(stage, "progress", "off");
  }
  auto* keeper = measured.add_stage();
  keeper->set_name("bench_model_keeper");
  keeper->set_plugin(kKeeperPlugin);
  keeper->add_input(trainer);
  return measured;
}

// Runs the graph; returns the trainer's last snapshot.
std::shared_ptr<const pipeline::cnn::ModelSnapshot> RunGraphOnce(
    const pipeline::proto::GraphSpec& spec, const Options& options,
    const pipeline::Registry& registry) {
  std::string text;
  google::protobuf::TextFormat::PrintToString(spec, &text);
  pipeline::LoadResult loaded =
      pipeline::LoadGraphText(text, options.graph, registry, {.plugin_dirs = {options.plugins}});
  if (!loaded.graph) {
    std::string errors;
    for (const auto& error : loaded.errors) errors += "\n  " + error.format();
    throw std::runtime_error("the bench graph from " + options.graph + " is invalid:" + errors);
  }
  {
    const std::lock_guard lock(kept_mutex);
    kept_model.reset();
  }
  pipeline::RunResult result;
  {
    const bench::Silenced quiet_out(STDOUT_FILENO), quiet_err(STDERR_FILENO);
    result = pipeline::RunGraph(*loaded.graph, {.threads = options.threads});
  }
  if (!result.ok) throw std::runtime_error("the graph run failed: " + result.error);
  const std::lock_guard lock(kept_mutex);
  if (!kept_model || kept_model->metrics.empty()) {
    throw std::runtime_error("the trainer emitted no model with metrics");
  }
  return kept_model;
}

// The trainer alone: the snapshot's model, optimizer, schedule and precision, stepping through
// `samples` images in batches of `batch`, already normalized in memory. Images/s of one pass
// after a few warm-up steps (oneDNN compiles its kernels on first use).
double RunAloneOnce(const pipeline::cnn::ModelSnapshot& snapshot, const bench::Dataset& data,
                    int64_t samples, int64_t batch) {
  pipeline::cnn::Model model(snapshot.spec, 1);
  pipeline::cnn::Trainer trainer(model, snapshot.optimizer, snapshot.schedule);
  const int64_t pixels = data.image_elements();
  const auto step = [&](int64_t first, int64_t count) {
    trainer.step(data.images.data() + first * pixels, data.labels.data() + first, count);
  };
  for (int i = 0; i < 3; ++i) step(0, std::min(batch, samples));
  const auto start = std::chrono::steady_clock::now();
  for (int64_t first = 0; first < samples; first += batch) {
    step(first, std::min(batch, samples - first));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return static_cast<double>(samples) / seconds;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

int Run(const Options& options) {
  pipeline::Registry registry;
  pipeline::RegisterBuiltin(pipeline::StandardStagesDescriptor(), registry);
  const pipeline::PluginLoadReport report = pipeline::LoadPlugins({options.plugins}, registry);
  for (const std::string& failure : report.failures) std::fprintf(stderr, "%s\n", failure.c_str());
  RegisterModelKeeper(registry);

  const pipeline::proto::GraphSpec graph = bench::ReadGraph(options.graph);
  const fs::path scratch =
      fs::temp_directory_path() / ("trainer_in_graph." + std::to_string(getpid()));
  const pipeline::proto::GraphSpec measured = MeasuredGraph(graph, options, scratch);

  // The training data for the trainer alone: the graph's training source's files.
  const pipeline::proto::StageSpec* source = nullptr;
  int64_t batch = 0;
  for (const std::string& name : bench::TrainingStages(graph)) {
    const pipeline::proto::StageSpec& stage = *bench::FindStage(graph, name);
    if (stage.plugin() == "idx_source") source = &stage;
    if (stage.plugin() == "batch") batch = std::stoll(bench::ParamOf(stage, "size", "128"));
  }
  if (source == nullptr || batch == 0) {
    throw std::runtime_error(options.graph +
                             ": the trainer must be fed by an idx_source through a batch stage");
  }
  const std::string images = bench::ParamOf(*source, "images", "");
  const std::string labels = bench::ParamOf(*source, "labels", "");
  if (images.empty() || labels.empty()) {
    throw std::runtime_error(options.graph +
                             ": the training idx_source must name images and labels");
  }

  std::printf(
      "trainer_in_graph: %s, %s samples x %d epochs (the last measured), median of %d runs\n",
      options.graph.c_str(), options.samples > 0 ? std::to_string(options.samples).c_str() : "all",
      options.epochs, options.runs);
  std::printf("CPU: %s\n", bench::CpuName().c_str());
  std::fflush(stdout);

  std::vector<double> in_graph, epoch_rate, alone, ratios;
  std::shared_ptr<const pipeline::cnn::ModelSnapshot> snapshot;
  std::optional<bench::Dataset> data;
  for (int run = 0; run < options.runs; ++run) {
    snapshot = RunGraphOnce(measured, options, registry);
    const pipeline::proto::EpochMetrics& last = snapshot->metrics.back();
    in_graph.push_back(static_cast<double>(last.train_samples()) / last.step_seconds());
    epoch_rate.push_back(last.images_per_second());
    if (!data) {
      const pipeline::Normalization& n = snapshot->normalization;
      data = bench::load_idx(images, labels, static_cast<float>(n.mean), static_cast<float>(n.std));
    }
    const int64_t samples =
        std::min<int64_t>(data->count, options.samples > 0 ? options.samples : data->count);
    alone.push_back(RunAloneOnce(*snapshot, *data, samples, batch));
    ratios.push_back(in_graph.back() / alone.back());
    std::fprintf(stderr,
                 "  run %d: in the graph %.0f img/s (epoch %.0f img/s), alone %.0f img/s, "
                 "ratio %.3f\n",
                 run + 1, in_graph.back(), epoch_rate.back(), alone.back(), ratios.back());
  }
  fs::remove_all(scratch);

  const char* precision =
      snapshot->spec.precision() == pipeline::proto::PRECISION_BF16 ? "bf16" : "fp32";
  std::printf(
      "recipe: %s, batch %lld, %s%s\n", precision, static_cast<long long>(batch),
      snapshot->optimizer.ShortDebugString().c_str(),
      snapshot->precision_choice.empty() ? "" : (", " + snapshot->precision_choice).c_str());
  const double graph_rate = Median(in_graph), alone_rate = Median(alone);
  std::printf("%-24s %10s\n", "", "images/s");
  std::printf("%-24s %10.0f\n", "trainer alone", alone_rate);
  std::printf("%-24s %10.0f\n", "trainer in the graph", graph_rate);
  std::printf("%-24s %10.0f  (first to last batch: waits and evaluation included)\n",
              "epoch in the graph", Median(epoch_rate));
  // Each run's pair ran back to back: the median of their ratios is steadier than the ratio of
  // the medians when the machine's speed drifts.
  const double ratio = Median(ratios);
  std::printf("ratio in the graph / alone (median of the runs' ratios): %.3f (goal >= %.2f: %s)\n",
              ratio, kGoalRatio, ratio >= kGoalRatio ? "ok" : "BELOW");
  return options.check && ratio < kGoalRatio ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (const std::optional<int> stop = ParseOptions(argc, argv, options)) return *stop;
  // As `pipeline run` does: how oneDNN's OpenMP threads wait follows how busy the machine is.
  pipeline::cnn::reexec_with_openmp_wait_policy(argv);
  try {
    return Run(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "trainer_in_graph: %s\n", e.what());
    return 2;
  }
}
