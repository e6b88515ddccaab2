#include "stages/cnn/onnx_classifier.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "nn/onnx/onnx_file.h"
#include "nn/onnx/onnx_metadata.h"

namespace pipeline::cnn {

OnnxClassifier::OnnxClassifier(const std::string& path, const OnnxInputOverrides& overrides)
    : path_(path), info_(InspectOnnxModel(ReadOnnxFile(path), path)) {
  const OnnxInputPreparation& prep = info_.preparation;
  invert_ = overrides.invert.value_or(prep.invert);
  if (!prep.raw_pixels) {
    const std::optional<double> mean = overrides.mean ? overrides.mean : prep.mean;
    const std::optional<double> std = overrides.std ? overrides.std : prep.std;
    // scale defaults to 1/255 (8-bit pixels to 0..1), what normalize and torchvision do.
    const double scale = overrides.scale.value_or(prep.scale.value_or(1.0 / 255.0));
    if (!mean || !std) {
      throw std::runtime_error(
          "ONNX model " + path +
          " records no input normalization in its metadata (normalization_mean, "
          "normalization_std); give cnn_predict's mean and std params, e.g. mean 0.1307 std "
          "0.3081 for MNIST");
    }
    input_ = Normalization{true, scale, *mean, *std};
  }
  try {
    net_ = cv::dnn::readNetFromONNX(path);
  } catch (const cv::Exception& e) {
    throw std::runtime_error("ONNX model " + path + ": OpenCV's dnn cannot load it: " + e.what());
  }
  if (net_.empty())
    throw std::runtime_error("ONNX model " + path + ": OpenCV's dnn loaded nothing");
  if (const std::string* names = info_.Metadata(onnx_keys::kClassNames)) {
    std::vector<std::string> parsed;
    std::stringstream text(*names);
    for (std::string name; std::getline(text, name, ',');) parsed.push_back(name);
    if (static_cast<int64_t>(parsed.size()) == info_.classes) class_names_ = std::move(parsed);
  }
}

cv::Mat OnnxClassifier::Prepare(const cv::Mat& image, const Normalization& given) const {
  cv::Mat pixels;  // float, 0..255
  if (image.depth() == CV_8U) {
    if (invert_) {
      cv::Mat inverted;
      cv::bitwise_not(image, inverted);
      inverted.convertTo(pixels, CV_MAKETYPE(CV_32F, image.channels()));
    } else {
      image.convertTo(pixels, CV_MAKETYPE(CV_32F, image.channels()));
    }
  } else {
    if (!given.applied) {
      throw std::runtime_error(
          "float images must say how they were normalized; feed 8-bit "
          "images (cnn_predict prepares them for the model)");
    }
    // Undo `normalize`: pixel = (value * std + mean) / scale.
    image.convertTo(pixels, CV_MAKETYPE(CV_32F, image.channels()), given.std / given.scale,
                    given.mean / given.scale);
  }
  if (!input_.applied) return pixels;
  cv::Mat result;
  pixels.convertTo(result, pixels.type(), input_.scale / input_.std, -input_.mean / input_.std);
  return result;
}

void OnnxClassifier::Predict(const float* images, int n, std::vector<float>& probabilities) {
  const int c = channels(), h = rows(), w = cols();
  const int sizes[] = {n, c, h, w};
  cv::Mat blob(4, sizes, CV_32F);
  float* out = blob.ptr<float>();
  // Interleaved rows x cols x channels to planar channels x rows x cols.
  const size_t plane = static_cast<size_t>(h) * static_cast<size_t>(w);
  for (int i = 0; i < n; ++i) {
    const float* image = images + static_cast<size_t>(i) * plane * static_cast<size_t>(c);
    float* target = out + static_cast<size_t>(i) * plane * static_cast<size_t>(c);
    if (c == 1) {
      std::copy(image, image + plane, target);
      continue;
    }
    for (size_t p = 0; p < plane; ++p) {
      for (int k = 0; k < c; ++k)
        target[static_cast<size_t>(k) * plane + p] =
            image[p * static_cast<size_t>(c) + static_cast<size_t>(k)];
    }
  }
  cv::Mat scores;
  try {
    net_.setInput(blob);
    scores = net_.forward();
  } catch (const cv::Exception& e) {
    throw std::runtime_error("ONNX model " + path_ +
                             ": OpenCV's dnn failed to run it: " + e.what());
  }
  const int64_t total = static_cast<int64_t>(scores.total());
  if (scores.depth() != CV_32F || total % n != 0 || total / n < 2) {
    throw std::runtime_error("ONNX model " + path_ + ": its output has " + std::to_string(total) +
                             " values for " + std::to_string(n) + " images; expected n x classes");
  }
  const int64_t classes = total / n;
  probabilities.assign(scores.ptr<float>(), scores.ptr<float>() + total);
  if (info_.preparation.outputs_probabilities) return;
  for (int i = 0; i < n; ++i) {  // softmax of each row, max subtracted for range
    float* row = probabilities.data() + static_cast<size_t>(i) * static_cast<size_t>(classes);
    const float top = *std::max_element(row, row + classes);
    double sum = 0;
    for (int64_t k = 0; k < classes; ++k) sum += row[k] = std::exp(row[k] - top);
    for (int64_t k = 0; k < classes; ++k) row[k] = static_cast<float>(row[k] / sum);
  }
}

}  // namespace pipeline::cnn
