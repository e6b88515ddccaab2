// augment_bench: single-core throughput of each augmentation plugin's process() on real MNIST
// digits, 8-bit and normalized, against the floor of 20,000 samples/s per core.
//
//   augment_bench [--plugins DIR] [--images FILE] [--samples N] [--runs R] [--opencv-threads T]
//                 [--check] [--help]
//
// Each stage is loaded from its library as `pipeline` loads it, opened with probability 1 (every
// sample is augmented: the worst case of the defaults; noise_blur also with blur and noise both
// on) and fed the same N samples R times; the median run is reported. OpenCV is held to one
// thread (unless --opencv-threads says otherwise) so that the figure is per core. --check exits 1
// when any median is below the floor.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_cli.h"
#include "pipeline/engine/plugin_loader.h"
#include "pipeline/payloads.h"
#include "pipeline/registry.h"
#include "stages/sources/idx_reader.h"

namespace {

constexpr double kFloorSamplesPerSecond = 20000;

struct Options {
  std::string plugins = PIPELINE_PLUGIN_BUILD_DIR;
  std::string images = std::string(PIPELINE_MNIST_DIR) + "/train-images-idx3-ubyte.gz";
  int samples = 10000;
  int runs = 7;
  int opencv_threads = 1;
  bool check = false;
};

// Fills `options` from the command line; the exit code when the program should stop.
std::optional<int> ParseOptions(int argc, char** argv, Options& options) {
  namespace cli = pipeline::bench;
  const std::string usage =
      "augment_bench [options]\n"
      "Single-core samples/s of each augmentation plugin's process() on MNIST digits, 8-bit and\n"
      "normalized, against the floor of 20,000 samples/s per core.";
  return cli::ParseCommandLine(argc, argv, "augment_bench", usage, [&](cli::OptionAdder& add) {
    add("plugins", cli::Defaulted(&options.plugins), "folder of the augmentation plugin libraries");
    add("images", cli::Defaulted(&options.images),
        "IDX image file (gzip or plain) the samples come from");
    add("samples", cli::IntAtLeast(&options.samples, 1, "samples"), "samples fed per run");
    add("runs", cli::IntAtLeast(&options.runs, 1, "runs"),
        "runs per stage and type (median reported)");
    add("opencv-threads", cli::Defaulted(&options.opencv_threads),
        "OpenCV threads (cv::setNumThreads: 0 none, negative OpenCV's default)");
    add("check", cli::po::bool_switch(&options.check), "exit 1 when any median is below the floor");
  });
}

// Counts what the stage emits and drops it, as cheaply as an emitter can.
class CountingEmitter : public pipeline::Emitter {
 public:
  void emit(std::shared_ptr<const pipeline::Payload>, int64_t, int64_t, int) override { ++emitted; }
  void end_epoch(int64_t) override {}
  int64_t emitted = 0;
};

// The stage's parameters: its declared defaults with `overrides` on top.
pipeline::Params ParamsFor(const pipeline::StageInfo& info,
                           const std::map<std::string, std::string>& overrides) {
  std::map<std::string, std::string, std::less<>> values;
  for (const auto& spec : info.params) values[spec.name] = spec.default_value;
  for (const auto& [name, value] : overrides) {
    const pipeline::ParamSpec* spec = info.find_param(name);
    if (spec == nullptr) throw std::invalid_argument(info.name + " has no parameter " + name);
    const std::string problem = pipeline::CheckParamValue(*spec, value);
    if (!problem.empty()) throw std::invalid_argument(info.name + "." + name + ": " + problem);
    values[name] = value;
  }
  return pipeline::Params(std::move(values));
}

struct Measurement {
  double median = 0, slowest = 0, fastest = 0;  // samples/s
};

Measurement Measure(pipeline::Stage& stage,
                    const std::vector<std::shared_ptr<const pipeline::Sample>>& samples, int runs) {
  std::vector<double> rates;
  for (int run = 0; run < runs; ++run) {
    CountingEmitter out;
    const auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < samples.size(); ++i) {
      stage.process(
          {.epoch = run, .index = static_cast<int64_t>(i), .port = 0, .payload = samples[i]}, out);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (out.emitted != static_cast<int64_t>(samples.size())) {
      throw std::runtime_error("the stage emitted " + std::to_string(out.emitted) + " for " +
                               std::to_string(samples.size()) + " samples");
    }
    rates.push_back(static_cast<double>(samples.size()) / seconds);
  }
  std::sort(rates.begin(), rates.end());
  return {rates[rates.size() / 2], rates.front(), rates.back()};
}

int Run(const Options& options) {
  cv::setNumThreads(options.opencv_threads);
  pipeline::Registry registry;
  const pipeline::PluginLoadReport report = pipeline::LoadPlugins({options.plugins}, registry);
  for (const std::string& failure : report.failures) std::fprintf(stderr, "%s\n", failure.c_str());

  const pipeline::IdxImages images = pipeline::ReadIdxImages(options.images);
  const int count = static_cast<int>(std::min<int64_t>(options.samples, images.count));
  std::vector<std::shared_ptr<const pipeline::Sample>> bytes, floats;
  for (int i = 0; i < count; ++i) {
    auto sample = std::make_shared<pipeline::Sample>();
    sample->image = images.image(i).clone();
    sample->label = 0;
    sample->source = "mnist#" + std::to_string(i);
    auto normalized = sample->with_image(cv::Mat());
    sample->image.convertTo(normalized->image, CV_32F, 1.0 / 255 / 0.3081, -0.1307 / 0.3081);
    normalized->normalization = {true, 1.0 / 255, 0.1307, 0.3081};
    bytes.push_back(std::move(sample));
    floats.push_back(std::move(normalized));
  }

  struct Case {
    std::string stage;
    std::map<std::string, std::string> params;
  };
  const Case cases[] = {
      {"random_affine", {{"probability", "1"}}},
      {"elastic", {{"probability", "1"}}},
      {"stroke", {{"probability", "1"}}},
      {"noise_blur", {{"probability", "1"}, {"blur_probability", "1"}, {"noise_probability", "1"}}},
      {"pixelate", {{"probability", "1"}}},
      {"random_erasing", {{"probability", "1"}}},
  };
  std::printf(
      "augment_bench: %d MNIST %dx%d digits from %s, median of %d runs, 1 thread "
      "(OpenCV: %d)\n",
      count, images.rows, images.cols, options.images.c_str(), options.runs, cv::getNumThreads());
  std::printf("%-16s %-7s %14s %14s %12s  %s\n", "stage", "pixels", "samples/s", "(min..max)",
              "us/sample", "floor 20000/s");
  bool all_fast_enough = true;
  for (const Case& test : cases) {
    const pipeline::Registry::Entry* entry = registry.find(test.stage);
    if (entry == nullptr) {
      std::printf("%-16s not found in %s\n", test.stage.c_str(), options.plugins.c_str());
      all_fast_enough = false;
      continue;
    }
    for (const bool as_float : {false, true}) {
      std::unique_ptr<pipeline::Stage> stage = entry->info.create();
      stage->set_env({.name = test.stage, .plugin = test.stage, .graph_seed = 1});
      stage->open(ParamsFor(entry->info, test.params));
      const Measurement rate = Measure(*stage, as_float ? floats : bytes, options.runs);
      const bool ok = rate.median >= kFloorSamplesPerSecond;
      all_fast_enough = all_fast_enough && ok;
      char range[64];
      std::snprintf(range, sizeof(range), "(%.0f..%.0f)", rate.slowest, rate.fastest);
      std::printf("%-16s %-7s %14.0f %14s %12.1f  %s\n", test.stage.c_str(),
                  as_float ? "float" : "8-bit", rate.median, range, 1e6 / rate.median,
                  ok ? "ok" : "BELOW");
    }
  }
  return options.check && !all_fast_enough ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (const std::optional<int> stop = ParseOptions(argc, argv, options)) return *stop;
  try {
    return Run(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "augment_bench: %s\n", e.what());
    return 2;
  }
}
