// int8_bench: inference images/s of fp32, bf16 and int8 (nn/int8/) for the seed network and
// models/mnist_bn.pbtxt at one batch size, in one process on the same cores, and the ratio
// int8/fp32 (goal >= 2). The three precisions are timed in turns, repeat after repeat, so that a
// neighbour's load hits them alike; each figure is the median of the repeats. Weights are drawn
// from a seed (speed does not depend on them); int8 is calibrated on the first MNIST training
// images, as `pipeline quantize` does.
//
//   int8_bench [--batch 256] [--batches 20] [--repeats 7] [--show-kernels]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_cli.h"
#include "cpu_features.h"
#include "mnist_idx.h"
#include "model_file.h"
#include "nn/int8/quantized_model.h"
#include "nn/model.h"
#include "nn/model_spec.h"

namespace {

using pipeline::bench::Dataset;
using pipeline::cnn::Model;
namespace proto = pipeline::proto;
namespace int8 = pipeline::cnn::int8;

struct Options {
  int batch = 256;
  int batches = 20;
  int repeats = 7;
  int calibration_images = 2000;
  bool show_kernels = false;
};

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

proto::ModelSpec MnistBnSpec() {
  return pipeline::bench::ReadModelSpecFile(std::string(PIPELINE_SOURCE_DIR) +
                                            "/models/mnist_bn.pbtxt");
}

struct Runner {
  std::string name;
  std::function<void(const float*)> run;  // one batch
  std::vector<double> rates;
};

void Measure(const std::string& title, proto::ModelSpec spec, const Dataset& data,
             const Options& o) {
  spec.set_precision(proto::PRECISION_FP32);
  Model fp32(spec, 1);
  spec.set_precision(proto::PRECISION_BF16);
  Model bf16(spec, 1);
  const std::vector<pipeline::cnn::Tensor> tensors = fp32.state_tensors();
  const double calibration_start = NowSeconds();
  const proto::CalibrationData calibration = int8::Calibrate(
      spec, tensors, data.images.data(), o.calibration_images, "train-images-idx3-ubyte.gz");
  const double calibration_seconds = NowSeconds() - calibration_start;
  int8::QuantizedModel quantized(spec, tensors, calibration);

  std::vector<float> logits(static_cast<size_t>(o.batch * fp32.classes()));
  std::vector<Runner> runners = {
      {"fp32", [&](const float* x) { fp32.predict_logits(x, o.batch, logits.data()); }, {}},
      {"bf16", [&](const float* x) { bf16.predict_logits(x, o.batch, logits.data()); }, {}},
      {"int8", [&](const float* x) { quantized.predict_logits(x, o.batch, logits.data()); }, {}},
  };
  const int64_t available = data.count / o.batch;
  const auto batch_at = [&](int i) {
    return data.images.data() + (i % available) * o.batch * data.image_elements();
  };
  for (Runner& runner : runners) {
    for (int i = 0; i < 3; ++i) runner.run(batch_at(i));  // primitives built, caches warm
  }
  for (int r = 0; r < o.repeats; ++r) {
    for (Runner& runner : runners) {
      const double start = NowSeconds();
      for (int i = 0; i < o.batches; ++i) runner.run(batch_at(i));
      runner.rates.push_back(o.batches * o.batch / (NowSeconds() - start));
    }
  }
  std::printf("%s (batch %d, median of %d x %d batches; int8 calibrated on %d images in %.2f s):\n",
              title.c_str(), o.batch, o.repeats, o.batches, o.calibration_images,
              calibration_seconds);
  std::vector<double> medians;
  for (Runner& runner : runners) {
    std::sort(runner.rates.begin(), runner.rates.end());
    medians.push_back(runner.rates[runner.rates.size() / 2]);
    std::printf("  %-4s inference %9.0f images/s\n", runner.name.c_str(), medians.back());
  }
  std::printf("  int8/fp32 %.2fx (goal >= 2), int8/bf16 %.2fx\n", medians[2] / medians[0],
              medians[2] / medians[1]);
  if (o.show_kernels) {
    std::printf("  int8 kernels:\n%s  fp32 kernels:\n%s",
                quantized.implementations(o.batch).c_str(),
                fp32.implementations(o.batch, false).c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  const std::optional<int> stop = pipeline::bench::ParseCommandLine(
      argc, argv, "int8_bench",
      "int8_bench [options]\n"
      "Inference images/s of fp32, bf16 and int8 for the seed network and models/mnist_bn.pbtxt,\n"
      "on the same cores in one run, and the ratio int8/fp32.",
      [&](pipeline::bench::OptionAdder& add) {
        add("batch", pipeline::bench::IntAtLeast(&o.batch, 1, "batch"), "images per call");
        add("batches", pipeline::bench::IntAtLeast(&o.batches, 1, "batches"), "batches per timing");
        add("repeats", pipeline::bench::IntAtLeast(&o.repeats, 1, "repeats"),
            "timings per precision (the median is reported)");
        add("calibration-images",
            pipeline::bench::IntAtLeast(&o.calibration_images, 1, "calibration-images"),
            "MNIST training images int8 is calibrated on");
        add("show-kernels", pipeline::bench::po::bool_switch(&o.show_kernels),
            "print the oneDNN implementation of every layer");
      });
  if (stop) return *stop;
  try {
    const std::string dir = PIPELINE_MNIST_DIR;
    const Dataset data = pipeline::bench::load_idx(
        dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz", 0.1307f, 0.3081f);
    if (data.count < std::max<int64_t>(o.batch, o.calibration_images)) {
      throw std::runtime_error("MNIST holds fewer images than --batch / --calibration-images");
    }
    std::printf("%s\n%s\n", pipeline::bench::CpuName().c_str(),
                pipeline::bench::DescribeMatrixFeatures().c_str());
    Measure("seed network", pipeline::cnn::seed_network_spec(), data, o);
    Measure("models/mnist_bn.pbtxt", MnistBnSpec(), data, o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "int8_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
