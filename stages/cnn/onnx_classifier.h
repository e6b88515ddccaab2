// cnn_predict's ONNX path: a model trained elsewhere (or exported by `pipeline export`), checked by
// nn/onnx/ and run through OpenCV's dnn module, with the input prepared as its metadata (or the
// stage's params) say.
#pragma once

#include <memory>
#include <opencv2/dnn.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nn/onnx/onnx_model_info.h"
#include "pipeline/payloads.h"

namespace pipeline::cnn {

// What the stage's params say about the input, each unset when the model's metadata decides.
struct OnnxInputOverrides {
  std::optional<double> scale, mean, std;
  std::optional<bool> invert;  // polarity dark_on_light
};

class OnnxClassifier {
 public:
  // Reads, checks and loads `path`. Throws std::runtime_error naming the file and, for an
  // unsupported graph, the op; also when neither the metadata nor `overrides` give the
  // normalization of a model that takes normalized input.
  OnnxClassifier(const std::string& path, const OnnxInputOverrides& overrides);

  const OnnxModelInfo& info() const { return info_; }
  int rows() const { return static_cast<int>(info_.rows); }
  int cols() const { return static_cast<int>(info_.cols); }
  int channels() const { return static_cast<int>(info_.channels); }
  // The class_names metadata (comma-separated, label 0 first) when it names every class; else
  // empty, and predictions give the numbers.
  const std::vector<std::string>& class_names() const { return class_names_; }

  // The model input for one image, rows x cols x channels float (interleaved, like cv::Mat):
  // 8-bit pixels inverted if the model wants dark digits, then normalized unless the graph does
  // that itself; float images normalized by `normalize` are brought to the same values.
  cv::Mat Prepare(const cv::Mat& image, const Normalization& given) const;

  // Class probabilities (n x classes, row-major) for n prepared images, each rows x cols x
  // channels floats back to back; a softmax is applied when the model gives logits.
  void Predict(const float* images, int n, std::vector<float>& probabilities);

 private:
  std::string path_;
  OnnxModelInfo info_;
  Normalization input_;  // what Prepare produces, applied = false for raw pixels
  bool invert_ = false;
  std::vector<std::string> class_names_;
  cv::dnn::Net net_;
};

}  // namespace pipeline::cnn
