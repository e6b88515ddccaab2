// augment_overhead: training images/s with a graph's augmentation stages and without them, and
// the ratio (the goal: augmentation on runs at >= 85% of the rate without it, because the flow
// graph overlaps the augmentation of the next samples with the CNN's step on this batch).
//
//   augment_overhead [--graph FILE] [--samples N] [--runs R] [--threads T] [--plugins DIR]
//                    [--check] [--help]
//
// From the graph (default: train_augmented.graph at the repository root) it keeps only the
// training chain — the stages that feed cnn_train, and cnn_train itself — so evaluation and
// checkpoints do not dilute the figure. "on" is that chain as written; "off" is the same chain
// with every stage loaded from a plugin library removed and its consumers fed from its input.
// The training source is cut to N samples (default 15,360: 120 batches of 128) and one epoch.
// The variants alternate, R times each (after one unmeasured warm-up of each); the median run
// of each is reported, with the process CPU time per image, which stays meaningful on a machine
// other programs keep busy. --check exits 1 when the ratio is below 0.85.
#include <google/protobuf/text_format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_cli.h"
#include "graph.pb.h"
#include "nn/openmp_policy.h"
#include "pipeline/engine/graph.h"
#include "pipeline/engine/plugin_loader.h"
#include "pipeline/engine/runner.h"
#include "pipeline/registry.h"
#include "silenced.h"
#include "stages/standard_stages.h"
#include "training_chain.h"

namespace {

using pipeline::bench::StageOf;
using pipeline::bench::TrainingChain;

constexpr double kGoalRatio = 0.85;
struct Options {
  std::string graph = std::string(PIPELINE_SOURCE_DIR) + "/train_augmented.graph";
  std::string plugins = PIPELINE_PLUGIN_BUILD_DIR;
  int samples = 15360;
  int runs = 3;
  int threads = 0;
  bool check = false;
};

// Fills `options` from the command line; the exit code when the program should stop.
std::optional<int> ParseOptions(int argc, char** argv, Options& options) {
  namespace cli = pipeline::bench;
  const std::string usage =
      "augment_overhead [options]\n"
      "Training images/s of the graph's training chain with its plugin (augmentation) stages and\n"
      "without them, and the ratio (goal: >= 0.85). See bench/augment_overhead.cpp.";
  return cli::ParseCommandLine(argc, argv, "augment_overhead", usage, [&](cli::OptionAdder& add) {
    add("graph", cli::Defaulted(&options.graph), "graph whose training chain is measured");
    add("samples", cli::IntAtLeast(&options.samples, 128, "samples"),
        "training samples per run (one epoch)");
    add("runs", cli::IntAtLeast(&options.runs, 1, "runs"),
        "measured runs of each variant (median)");
    add("threads", cli::IntAtLeast(&options.threads, 0, "threads"),
        "engine threads (0: the default)");
    add("plugins", cli::Defaulted(&options.plugins), "folder of the plugin libraries");
    add("check", cli::po::bool_switch(&options.check), "exit 1 when the ratio is below 0.85");
  });
}

// `chain` without the stages that come from plugin libraries; each removed stage's consumers
// read what it read. Fills `removed` with their names.
pipeline::proto::GraphSpec WithoutPluginStages(const pipeline::proto::GraphSpec& chain,
                                               const pipeline::Registry& registry,
                                               std::vector<std::string>& removed) {
  pipeline::proto::GraphSpec result = chain;
  for (bool changed = true; changed;) {
    changed = false;
    for (int i = 0; i < result.stage_size(); ++i) {
      const auto& stage = result.stage(i);
      const pipeline::Registry::Entry* entry = registry.find(stage.plugin());
      if (entry == nullptr || entry->origin == "built-in") continue;
      if (stage.input_size() != 1) {
        throw std::runtime_error("plugin stage \"" + stage.name() +
                                 "\" has several inputs; cannot bypass it");
      }
      const std::string name = stage.name();
      const std::string upstream = stage.input(0);
      for (auto& consumer : *result.mutable_stage()) {
        for (auto& input : *consumer.mutable_input()) {
          if (StageOf(input) != name) continue;
          const size_t equals = input.find('=');
          input = (equals == std::string::npos ? "" : input.substr(0, equals + 1)) + upstream;
        }
      }
      removed.push_back(name);
      result.mutable_stage()->DeleteSubrange(i, 1);
      changed = true;
      break;
    }
  }
  return result;
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct RunFigures {
  double images_per_second = 0;
  double cpu_ms_per_image = 0;
  std::string bottleneck;
};

RunFigures RunOnce(const pipeline::proto::GraphSpec& spec, const std::string& file,
                   const pipeline::Registry& registry, const Options& options, int samples) {
  std::string text;
  google::protobuf::TextFormat::PrintToString(spec, &text);
  pipeline::LoadResult loaded =
      pipeline::LoadGraphText(text, file, registry, {.plugin_dirs = {options.plugins}});
  if (!loaded.graph) {
    std::string errors;
    for (const auto& error : loaded.errors) errors += "\n  " + error.format();
    throw std::runtime_error("the bench graph from " + file + " is invalid:" + errors);
  }
  double cpu = 0;
  pipeline::RunResult result;
  {
    const pipeline::bench::Silenced quiet(STDOUT_FILENO);
    const double cpu_before = CpuSeconds();
    result = pipeline::RunGraph(*loaded.graph, {.threads = options.threads});
    cpu = CpuSeconds() - cpu_before;
  }
  if (!result.ok) throw std::runtime_error("the run failed: " + result.error);
  RunFigures figures;
  figures.images_per_second = samples / result.flow_seconds;
  figures.cpu_ms_per_image = 1e3 * cpu / samples;
  const int bottleneck = pipeline::BottleneckStage(result);
  if (bottleneck >= 0) {
    const auto& stage = result.profile[static_cast<size_t>(bottleneck)];
    char share[32];
    std::snprintf(share, sizeof(share), " %.0f%%", 100 * pipeline::Utilization(stage, result));
    figures.bottleneck = stage.name + share;
  }
  return figures;
}

RunFigures Median(std::vector<RunFigures> runs) {
  std::sort(runs.begin(), runs.end(), [](const RunFigures& a, const RunFigures& b) {
    return a.images_per_second < b.images_per_second;
  });
  return runs[runs.size() / 2];
}

int Run(const Options& options) {
  pipeline::Registry registry;
  pipeline::RegisterBuiltin(pipeline::StandardStagesDescriptor(), registry);
  const pipeline::PluginLoadReport report = pipeline::LoadPlugins({options.plugins}, registry);
  for (const std::string& failure : report.failures) std::fprintf(stderr, "%s\n", failure.c_str());

  const pipeline::proto::GraphSpec chain =
      TrainingChain(pipeline::bench::ReadGraph(options.graph), options.samples);
  std::vector<std::string> removed;
  const pipeline::proto::GraphSpec bare = WithoutPluginStages(chain, registry, removed);
  if (removed.empty()) throw std::runtime_error(options.graph + " has no plugin stages to remove");
  std::string removed_list;
  for (const std::string& name : removed) removed_list += (removed_list.empty() ? "" : ", ") + name;

  std::printf(
      "augment_overhead: %s, training chain only, %d samples x 1 epoch, median of %d runs\n",
      options.graph.c_str(), options.samples, options.runs);
  std::printf("  augmentation stages (removed for \"off\"): %s\n", removed_list.c_str());

  // oneDNN JIT-compiles its kernels on first use; neither variant should pay for that.
  const int warmup_samples = 1024;
  RunOnce(TrainingChain(chain, warmup_samples), options.graph, registry, options, warmup_samples);
  RunOnce(TrainingChain(bare, warmup_samples), options.graph, registry, options, warmup_samples);

  std::vector<RunFigures> on_runs, off_runs;
  for (int run = 0; run < options.runs; ++run) {
    off_runs.push_back(RunOnce(bare, options.graph, registry, options, options.samples));
    on_runs.push_back(RunOnce(chain, options.graph, registry, options, options.samples));
    std::fprintf(stderr, "  run %d: off %.0f img/s, on %.0f img/s\n", run + 1,
                 off_runs.back().images_per_second, on_runs.back().images_per_second);
  }
  const RunFigures on = Median(on_runs), off = Median(off_runs);
  std::printf("%-18s %12s %14s  %s\n", "", "images/s", "CPU ms/image", "busiest stage");
  std::printf("%-18s %12.0f %14.3f  %s\n", "augmentation off", off.images_per_second,
              off.cpu_ms_per_image, off.bottleneck.c_str());
  std::printf("%-18s %12.0f %14.3f  %s\n", "augmentation on", on.images_per_second,
              on.cpu_ms_per_image, on.bottleneck.c_str());
  const double ratio = on.images_per_second / off.images_per_second;
  std::printf("ratio on/off: %.3f (goal >= %.2f: %s); CPU per image %+.1f%%\n", ratio, kGoalRatio,
              ratio >= kGoalRatio ? "ok" : "BELOW",
              100 * (on.cpu_ms_per_image / off.cpu_ms_per_image - 1));
  return options.check && ratio < kGoalRatio ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  // As `pipeline run` does: oneDNN's OpenMP threads wait passively beside the engine's workers.
  Options options;
  if (const std::optional<int> stop = ParseOptions(argc, argv, options)) return *stop;
  pipeline::cnn::reexec_with_passive_openmp(argv);
  try {
    return Run(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "augment_overhead: %s\n", e.what());
    return 2;
  }
}
