// The standard payload types that standard stages and plugins exchange.
#pragma once

#include <cstdint>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/payload.h"

namespace pipeline {

// How raw pixels were turned into model inputs: value = (pixel * scale - mean) / std. Travels
// with samples and batches so training can store it in the checkpoint and inference can
// preprocess photos exactly the same way.
struct Normalization {
  bool applied = false;
  double scale = 1.0;  // 1/255 for 8-bit images
  double mean = 0.0;
  double std = 1.0;
  bool operator==(const Normalization&) const = default;

  // (x * scale - mean) / std of every pixel, as float with the same channel count: what
  // `normalize` does to a sample, and what inference must do to match its training data.
  cv::Mat Apply(const cv::Mat& image) const {
    cv::Mat result;
    image.convertTo(result, CV_MAKETYPE(CV_32F, image.channels()), scale / std, -mean / std);
    return result;
  }
};

// The name of class `label`: names[label] when the names cover it, else the number itself (data
// and models without class names, or a label outside them).
inline std::string ClassName(const std::vector<std::string>& names, int label) {
  if (label >= 0 && label < static_cast<int>(names.size()))
    return names[static_cast<size_t>(label)];
  return std::to_string(label);
}

// What a dataset source knows about the data as a whole, shared by every sample it emits so that
// stages downstream take it from the stream instead of from their own params: the class names
// (reports, predictions, checkpoints) and the training images' pixel statistics (`normalize`
// with mean/std auto).
struct DatasetInfo {
  std::string name;                      // "Fashion-MNIST"; empty when the source names none
  std::vector<std::string> class_names;  // one per label 0..n-1; empty: the labels themselves
  // Mean and standard deviation of the training images' pixels scaled to [0, 1], over every
  // pixel and channel; has_statistics false when the source measured none.
  bool has_statistics = false;
  double mean = 0.0;
  double std = 1.0;
  std::string statistics_source;  // the file they were measured on

  // The name of class `label`: its class name when there is one, else the number itself.
  std::string ClassName(int label) const { return pipeline::ClassName(class_names, label); }
};

// "rows x cols x channels" (28x28x1), the way errors about image and batch shapes name them.
inline std::string ShapeText(int rows, int cols, int channels) {
  return std::to_string(rows) + "x" + std::to_string(cols) + "x" + std::to_string(channels);
}

// One image with its label. Sources emit CV_8U images (0..255); `normalize` turns them into
// CV_32F. Augmentations accept both and keep the depth they were given.
struct Sample : Payload {
  static constexpr std::string_view kType = "sample";
  std::string_view type() const override { return kType; }

  cv::Mat image;       // rows x cols x channels
  int label = -1;      // -1 when unknown (photos to classify)
  std::string source;  // where it came from: "file.png", "t10k-images-idx3-ubyte.gz#17"
  cv::Rect box;        // region of the source image it was cut from (empty when whole)
  // Samples its source emits per epoch (0 when unknown, e.g. a camera). Lets training plan
  // schedules before the first epoch ends. Transforms copy it from their input.
  int64_t epoch_size = 0;
  // Passes its source makes over the data (idx_source's `epochs`; 0 when unknown, e.g. a camera
  // or an endless stream). Lets training span its schedule over exactly the epochs it will see.
  // Transforms copy it from their input.
  int64_t planned_epochs = 0;
  // How many ranks of a distributed run (mpirun) share this stream, each reading every
  // shards-th position of the epoch (ShardOwner in process_group.h); 1 for a whole stream. A
  // `batch` downstream then gathers its share of each global batch, size / shards. Transforms
  // copy it from their input.
  int shards = 1;
  Normalization normalization;
  // The dataset it belongs to, when its source describes one (idx_source does); null otherwise.
  // Transforms copy it from their input.
  std::shared_ptr<const DatasetInfo> dataset;
  // Set when there is nothing to classify (unreadable file, no digit found); `image` is then
  // empty. Stages pass such samples on so the error reaches the output, one row per file.
  std::string error;
  // A photo with several digits yields one sample per digit, left to right: this is digit
  // `part` (0-based) of `parts`, all cut from `origin`, the whole decoded image or frame.
  int part = 0;
  int parts = 1;
  int row = 0;  // the line of writing the digit is on in `origin`, 0 = top
  std::shared_ptr<const cv::Mat> origin;

  // A copy of everything but the image, with `new_image` instead: what a transform emits.
  std::shared_ptr<Sample> with_image(cv::Mat new_image) const {
    auto copy = std::make_shared<Sample>(*this);
    copy->image = std::move(new_image);
    return copy;
  }
};

// Samples stacked into one contiguous float tensor, NHWC (N x rows x cols x channels).
struct Batch : Payload {
  static constexpr std::string_view kType = "batch";
  std::string_view type() const override { return kType; }

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  int64_t sample_elements() const { return int64_t{rows} * cols * channels; }

  std::vector<float> data;
  std::vector<int32_t> labels;   // -1 where unknown
  std::vector<int64_t> indices;  // each sample's index within its epoch
  std::vector<std::string> sources;
  int rows = 0, cols = 0, channels = 0;
  int64_t epoch_size = 0;      // samples per epoch at the source, 0 when unknown
  int64_t planned_epochs = 0;  // passes the source makes, 0 when unknown (Sample::planned_epochs)
  Normalization normalization;
  std::shared_ptr<const DatasetInfo> dataset;  // the first sample's (Sample::dataset)
};

// A classifier's answer for one sample (one digit of a photo, or one MNIST image).
struct Prediction : Payload {
  static constexpr std::string_view kType = "prediction";
  std::string_view type() const override { return kType; }

  std::string source;  // the file or frame it came from
  cv::Rect box;        // where the digit is in the source image (empty when whole)
  int label = -1;      // the true label when known
  int predicted = -1;  // -1 when there was nothing to classify (see error)
  float confidence = 0;
  std::vector<float> probabilities;  // one per class
  // The model's class names, label 0 first; null or empty when its classes are their numbers.
  std::shared_ptr<const std::vector<std::string>> class_names;
  std::string error;  // why there is no prediction: unreadable file, no digit found, ...
  // Copied from the sample: digit `part` of `parts` found in `origin`, on line `row`.
  int part = 0;
  int parts = 1;
  int row = 0;
  std::shared_ptr<const cv::Mat> origin;
};

}  // namespace pipeline
