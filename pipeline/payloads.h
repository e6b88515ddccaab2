// The standard payload types that standard stages and plugins exchange.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

#include "pipeline/payload.h"

namespace pipeline {

// One image with its label. Sources emit CV_8U images (0..255); `normalize` turns them into
// CV_32F. Augmentations accept both and keep the depth they were given.
struct Sample : Payload {
  static constexpr std::string_view kType = "sample";
  std::string_view type() const override { return kType; }

  cv::Mat image;   // rows x cols x channels
  int label = -1;  // -1 when unknown (photos to classify)
  std::string source;  // where it came from: "file.png", "t10k-images-idx3-ubyte.gz#17"
  cv::Rect box;        // region of the source image it was cut from (empty when whole)
};

// Samples stacked into one contiguous float tensor, NHWC (N x rows x cols x channels).
struct Batch : Payload {
  static constexpr std::string_view kType = "batch";
  std::string_view type() const override { return kType; }

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  int64_t sample_elements() const { return int64_t{rows} * cols * channels; }

  std::vector<float> data;
  std::vector<int32_t> labels;  // -1 where unknown
  std::vector<int64_t> indices;  // each sample's index within its epoch
  std::vector<std::string> sources;
  int rows = 0, cols = 0, channels = 0;
};

}  // namespace pipeline
