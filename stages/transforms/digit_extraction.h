// Turns a photo of handwritten digits into MNIST-like 28x28 images, the way MNIST itself was
// made: white ink on black, the digit's longest side scaled to 20 px keeping its aspect ratio,
// grey-level (anti-aliased) strokes, centred by centre of mass in a 28x28 field. A classifier
// trained on MNIST only sees digits prepared like that; feeding it a raw photo is why MNIST
// models fail on their users' own pictures.
#pragma once

#include <opencv2/core.hpp>
#include <vector>

namespace pipeline {

struct DigitExtractOptions {
  // Larger pictures are first scaled down to this longer side (digits are cut at this detail);
  // boxes still refer to the original.
  int max_side = 1000;
  // Digits are found on a copy whose shorter side is at most this (fast), then cut from the
  // full picture (detail).
  int analysis_side = 160;
  // Ink must differ from the paper by at least this fraction of the paper's brightness.
  double min_contrast = 0.12;
  // A digit's height must be at least this fraction of the tallest digit's (drops dots, specks).
  double min_relative_height = 0.35;
  // A digit must be at least this many pixels tall in the original image.
  int min_height_px = 6;
  // The most digits returned per image (the tallest are kept).
  int max_digits = 64;
};

struct ExtractedDigit {
  cv::Mat image;  // 28x28 CV_8UC1, white digit on black
  cv::Rect box;   // where it was found, in the original image's pixels
  int row = 0;    // which line of writing it is on, 0 = top
};

// The digits found in `image` (CV_8U grey, BGR or BGRA) in reading order (rows top to bottom,
// left to right within a row); empty when none is.
// Dark ink on light paper and light ink on a dark background both work: the polarity is read
// from the picture. Thread-safe (no state).
std::vector<ExtractedDigit> ExtractDigits(const cv::Mat& image, const DigitExtractOptions& options);

// The MNIST normalization of one digit already cut out: `ink` is CV_8UC1 with the ink bright
// (0 = none); returns the 28x28 image with the longest side scaled to 20 px and the centre of
// mass at (14, 14). Exposed for tests and for sources that already hold a cropped digit.
cv::Mat NormalizeDigit(const cv::Mat& ink);

}  // namespace pipeline
