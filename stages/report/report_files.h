// Writing the report's files so that a reader never sees half of one: each is written to a
// temporary file beside it and renamed over the old one.
#pragma once

#include <opencv2/core.hpp>
#include <string>

namespace pipeline::cnn::report {

// Writes `bytes` to `path` atomically. Throws std::runtime_error naming `path` on failure.
void WriteFileAtomically(const std::string& path, const std::string& bytes);

// Encodes `image` (CV_8UC3 or CV_8UC1) as PNG and writes it atomically.
void WritePngAtomically(const std::string& path, const cv::Mat& image);

}  // namespace pipeline::cnn::report
