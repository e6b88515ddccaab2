#include "mnist_samples.h"

#include <stdexcept>

#include "stages/sources/idx_reader.h"

namespace pipeline::cnn::testing {

MnistSamples load_mnist(const std::string& split, int64_t count) {
  const std::string dir = PIPELINE_MNIST_DIR;
  const std::string image_path = dir + "/" + split + "-images-idx3-ubyte.gz";
  const IdxImages images = ReadIdxImages(image_path);
  const std::vector<int32_t> labels = ReadIdxLabels(dir + "/" + split + "-labels-idx1-ubyte.gz");
  if (images.rows != 28 || images.cols != 28 || images.channels != 1) {
    throw std::runtime_error(image_path + " is not a 28x28 IDX image file");
  }
  if (images.count < count || static_cast<int64_t>(labels.size()) < count) {
    throw std::runtime_error(split + " has fewer than " + std::to_string(count) + " samples");
  }
  MnistSamples samples;
  samples.count = count;
  samples.images.reserve(static_cast<size_t>(count) * 784);
  for (int64_t i = 0; i < count; ++i) {
    const cv::Mat image = images.image(i);
    for (int p = 0; p < 784; ++p) {
      samples.images.push_back((image.data[p] / 255.0f - 0.1307f) / 0.3081f);
    }
  }
  samples.labels.assign(labels.begin(), labels.begin() + count);
  return samples;
}

}  // namespace pipeline::cnn::testing
