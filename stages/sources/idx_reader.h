// Reads IDX files (the MNIST format: a big-endian magic number, dimension sizes, then raw data),
// plain or gzip-compressed, whole into memory. Every error names the file.
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace pipeline {

// IDX magic numbers: two zero bytes, the element type (0x08 = unsigned byte), the dimension count.
inline constexpr uint32_t kIdxImagesMagic = 0x00000803;  // uint8, count x rows x cols
inline constexpr uint32_t kIdxLabelsMagic = 0x00000801;  // uint8, count

struct IdxImages {
  int64_t count = 0;
  int rows = 0;
  int cols = 0;
  // All images stacked vertically: (count * rows) x cols, CV_8UC1. Image i is
  // pixels.rowRange(i * rows, (i + 1) * rows), which shares (and keeps alive) this buffer.
  cv::Mat pixels;

  cv::Mat image(int64_t i) const {
    return pixels.rowRange(static_cast<int>(i * rows), static_cast<int>((i + 1) * rows));
  }
};

// Reads an IDX image file (magic 0x00000803). Throws std::runtime_error naming `path` when the
// file is missing, is not an IDX image file, is truncated or has trailing bytes.
IdxImages ReadIdxImages(const std::string& path);

// Reads an IDX label file (magic 0x00000801) into one int per label (0..255).
std::vector<int32_t> ReadIdxLabels(const std::string& path);

}  // namespace pipeline
