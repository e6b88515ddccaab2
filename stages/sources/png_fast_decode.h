// A fast path for the PNGs photos and screenshots usually are: 8-bit grey, grey + alpha, RGB or
// RGBA, not interlaced. Most of a small PNG's decoding time is inflating its pixels; libpng
// (through OpenCV) adds row-by-row calls, CRC and Adler checks and a separate colour conversion
// on top. Here the pixels are inflated in one call — with libdeflate, about twice as fast as
// zlib, when the system has it (it ships with libtiff, which OpenCV needs) — unfiltered in place
// and converted to the requested channels in the same pass.
#pragma once

#include <opencv2/core.hpp>
#include <optional>
#include <string_view>

namespace pipeline {

// The decoded image (CV_8UC1 when `grey`, else CV_8UC1 for grey files and CV_8UC3 BGR for the
// others; alpha composited over white), or nullopt when the file is not a PNG this path takes
// (other bit depths, palettes, interlacing, a transparency chunk) or is damaged in any way: the
// caller then decodes with OpenCV, which takes every PNG and words every error.
// The pixels equal OpenCV's decoding followed by image_decode's alpha compositing and
// cv::cvtColor(BGR2GRAY).
std::optional<cv::Mat> DecodeSimplePng(std::string_view bytes, bool grey);

}  // namespace pipeline
