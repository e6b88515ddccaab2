// Turns model input back into a picture a person can look at (the mistakes grid of a report).
#pragma once

#include <opencv2/core.hpp>

#include "pipeline/payloads.h"

namespace pipeline::cnn {

// `values`: one sample, rows x cols x channels floats as a Batch holds them. Undoes
// `normalization` (value * std + mean is the pixel in [0, 1]) and returns CV_8UC(channels) in
// 0..255. Without a recorded normalization the values are stretched from their own minimum to
// their maximum.
cv::Mat DisplayPixels(const float* values, int rows, int cols, int channels,
                      const Normalization& normalization);

}  // namespace pipeline::cnn
