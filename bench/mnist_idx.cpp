#include "mnist_idx.h"

#include <stdexcept>

#include "stages/sources/idx_reader.h"

namespace pipeline::bench {

Dataset load_idx(const std::string& images_path, const std::string& labels_path, float mean,
                 float deviation) {
  const IdxImages images = ReadIdxImages(images_path);
  const std::vector<int32_t> labels = ReadIdxLabels(labels_path);
  if (images.channels != 1) {
    throw std::runtime_error(images_path + ": " + std::to_string(images.channels) +
                             " channels per pixel; the benchmarks take grey images");
  }
  if (static_cast<int64_t>(labels.size()) != images.count) {
    throw std::runtime_error(images_path + " holds " + std::to_string(images.count) +
                             " images but " + labels_path + " " + std::to_string(labels.size()) +
                             " labels");
  }
  Dataset data;
  data.count = images.count;
  data.rows = images.rows;
  data.cols = images.cols;
  data.labels = labels;
  data.images.resize(static_cast<size_t>(data.count * data.image_elements()));
  float* out = data.images.data();
  for (int64_t i = 0; i < data.count; ++i) {
    const cv::Mat image = images.image(i);
    for (int64_t p = 0; p < data.image_elements(); ++p) {
      *out++ = (image.data[p] / 255.0f - mean) / deviation;
    }
  }
  return data;
}

}  // namespace pipeline::bench
