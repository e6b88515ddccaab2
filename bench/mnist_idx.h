// An IDX image/label pair (MNIST layout, plain or gzip) read with idx_source's IDX reader
// (stages/sources/idx_reader.h) into normalised NHWC floats.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pipeline::bench {

struct Dataset {
  std::vector<float> images;  // count x rows x cols (one channel), (x/255 - mean) / std
  std::vector<int32_t> labels;
  int64_t count = 0;
  int rows = 0, cols = 0;

  int64_t image_elements() const { return int64_t{rows} * cols; }
};

// Throws std::runtime_error naming the file when it is missing or malformed.
Dataset load_idx(const std::string& images_path, const std::string& labels_path, float mean,
                 float deviation);

}  // namespace pipeline::bench
