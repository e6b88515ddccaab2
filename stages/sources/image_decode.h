// Decodes one image file (PNG, JPEG, BMP, TIFF, WebP and the other formats OpenCV reads) into an
// 8-bit grayscale or BGR image. A file that cannot be used yields a reason, never an exception:
// one bad photo in a folder must not stop the others.
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace pipeline {

struct DecodeOptions {
  int64_t max_pixels = 40'000'000;       // width * height
  int64_t max_file_bytes = 256LL << 20;  // the file itself
  // One channel out whatever the file holds. JPEGs then skip their colour conversion, which
  // is most of their decoding time; enough for digit_extract, which works in grey.
  bool grey = false;
};

struct DecodedImage {
  cv::Mat image;      // CV_8UC1 or CV_8UC3 (BGR); empty when `error` is set
  std::string error;  // "cannot decode: ..." when the file cannot be used
};

// Width and height from the file header, read without decoding (PNG, JPEG, BMP, TIFF, WebP);
// nullopt when the format is not one of those or the header is cut short.
std::optional<cv::Size> PeekImageSize(std::string_view bytes);

// Decodes the image held in `bytes` (the file's contents).
// Checks the header's dimensions against `options` before decoding, so a tiny file claiming a
// gigapixel image is refused rather than allocated. 16-bit and float pixels are scaled to 8 bits,
// alpha is composited over white (photos of paper), JPEG EXIF orientation is applied.
DecodedImage DecodeImageBytes(std::string_view bytes, const DecodeOptions& options);

// Reads and decodes the file at `path`.
DecodedImage DecodeImageFile(const std::string& path, const DecodeOptions& options);

}  // namespace pipeline
