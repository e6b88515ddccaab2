// Test helper: the first n MNIST images of a split, read from the gzip IDX files in
// PIPELINE_MNIST_DIR and normalised like the training graphs ((x/255 - 0.1307) / 0.3081).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pipeline::cnn::testing {

struct MnistSamples {
  std::vector<float> images;  // n x 28 x 28 x 1 (NHWC)
  std::vector<int32_t> labels;
  int64_t count = 0;
};

// split: "train" or "t10k". Throws std::runtime_error naming the file on any problem.
MnistSamples load_mnist(const std::string& split, int64_t count);

}  // namespace pipeline::cnn::testing
