// PNG encoding for sinks that write pictures (image_grid), on zlib alone so the standard stages
// need no image codec library.
#pragma once

#include <opencv2/core.hpp>
#include <string>

namespace pipeline {

// The PNG file for `image`: CV_8UC1 becomes 8-bit greyscale, CV_8UC3 (OpenCV's BGR order) 8-bit
// RGB. Throws std::invalid_argument for any other type or an empty image.
std::string EncodePng(const cv::Mat& image);

}  // namespace pipeline
