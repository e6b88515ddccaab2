#include "stages/cnn/display_pixels.h"

#include <algorithm>

namespace pipeline::cnn {

cv::Mat DisplayPixels(const float* values, int rows, int cols, int channels,
                      const Normalization& normalization) {
  // A view of the caller's floats; convertTo makes the owned 8-bit copy.
  const cv::Mat floats(rows, cols, CV_MAKETYPE(CV_32F, channels), const_cast<float*>(values));
  double gain = 255.0, offset = 0.0;
  if (normalization.applied) {
    // pixel in [0, 1] = value * std + mean (the scale only mapped the source depth to [0, 1]).
    gain = 255.0 * normalization.std;
    offset = 255.0 * normalization.mean;
  } else {
    const size_t count = static_cast<size_t>(rows) * static_cast<size_t>(cols) * channels;
    const auto [low, high] = std::minmax_element(values, values + count);
    const double range = count > 0 ? double{*high} - double{*low} : 0.0;
    gain = range > 0 ? 255.0 / range : 0.0;
    offset = count > 0 ? -double{*low} * gain : 0.0;
  }
  cv::Mat pixels;
  floats.convertTo(pixels, CV_MAKETYPE(CV_8U, channels), gain, offset);  // saturates
  return pixels;
}

}  // namespace pipeline::cnn
