// onnx_bench: inference images/s of our engine (nn/ on oneDNN) against OpenCV 4.6's dnn module on
// the same model — the seed network (or --checkpoint's), exported to ONNX by nn/onnx/ — on the
// same MNIST test images, batch size and number of threads, and the ratio. Medians of --repeats
// passes over --images images.
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <string>
#include <vector>

#include "bench_cli.h"
#include "mnist_idx.h"
#include "nn/model.h"
#include "nn/model_spec.h"
#include "nn/onnx/onnx_export.h"
#include "nn/onnx/onnx_file.h"

namespace {

namespace cli = pipeline::bench;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string mnist = PIPELINE_MNIST_DIR;
  int images = 10000;
  int batch = 256;
  int repeats = 5;
  int threads = 2;
};

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// images/s of `run(first, count)` over the images in batches, median of the repeats (one warm-up
// pass first: both build their primitives on the first call).
template <typename Run>
double Measure(const Options& o, Run run) {
  const auto pass = [&] {
    for (int first = 0; first < o.images; first += o.batch)
      run(first, std::min(o.batch, o.images - first));
  };
  pass();
  std::vector<double> rates;
  for (int r = 0; r < o.repeats; ++r) {
    const auto start = Clock::now();
    pass();
    rates.push_back(o.images / std::chrono::duration<double>(Clock::now() - start).count());
  }
  return Median(rates);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  const std::string usage =
      "onnx_bench [options]\n\nInference images/s: ours against OpenCV dnn on the same "
      "exported ONNX model (the seed network), same images, batch and threads.\n";
  if (auto exit_code =
          cli::ParseCommandLine(argc, argv, "onnx_bench", usage, [&](cli::OptionAdder& add) {
            add("mnist", cli::Defaulted(&o.mnist), "MNIST folder (t10k images are classified)");
            add("images", cli::IntAtLeast(&o.images, 1, "images"), "images per pass");
            add("batch", cli::IntAtLeast(&o.batch, 1, "batch"), "images per call");
            add("repeats", cli::IntAtLeast(&o.repeats, 1, "repeats"), "timed passes (median)");
            add("threads", cli::IntAtLeast(&o.threads, 1, "threads"),
                "threads for both (OpenMP for ours, cv::setNumThreads for OpenCV)");
          })) {
    return *exit_code;
  }
  try {
    const float mean = 0.1307f, deviation = 0.3081f;
    const cli::Dataset data =
        cli::load_idx(o.mnist + "/t10k-images-idx3-ubyte.gz",
                      o.mnist + "/t10k-labels-idx1-ubyte.gz", mean, deviation);
    o.images = static_cast<int>(std::min<int64_t>(o.images, data.count));
    omp_set_num_threads(o.threads);
    cv::setNumThreads(o.threads);

    pipeline::cnn::Model model(pipeline::cnn::seed_network_spec(), 1);
    pipeline::cnn::OnnxExportInput input;
    input.spec = model.spec();
    input.tensors = model.state_tensors();  // the graph takes normalized values, as ours does
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("onnx_bench_" + std::to_string(::getpid()) + ".onnx"))
                                 .string();
    pipeline::cnn::WriteOnnxFile(path, pipeline::cnn::ExportOnnx(input));
    cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
    std::filesystem::remove(path);
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);

    const int64_t pixels = data.image_elements();
    std::vector<float> probabilities(static_cast<size_t>(o.batch) * 10);
    const double ours = Measure(o, [&](int first, int count) {
      model.predict(data.images.data() + first * pixels, count, probabilities.data());
    });
    const double opencv = Measure(o, [&](int first, int count) {
      const int sizes[] = {count, 1, data.rows, data.cols};
      const cv::Mat blob(4, sizes, CV_32F, const_cast<float*>(data.images.data() + first * pixels));
      net.setInput(blob);
      const cv::Mat out = net.forward();
      (void)out;
    });
    std::printf(
        "seed network (%.1f MFLOP/image), %d MNIST test images, batch %d, %d threads, "
        "median of %d passes\n",
        pipeline::cnn::forward_flops_per_image(model.resolved()) / 1e6, o.images, o.batch,
        o.threads, o.repeats);
    std::printf("  ours (oneDNN)       %10.0f images/s\n", ours);
    std::printf("  OpenCV 4.6 dnn      %10.0f images/s   (same ONNX export)\n", opencv);
    std::printf("  ratio ours/OpenCV   %10.2fx\n", ours / opencv);
    double load[3] = {0, 0, 0};
    if (getloadavg(load, 3) == 3)
      std::printf("load average: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "onnx_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
