// The kinds of photo people take of digits, beyond tools/digit_photos.h's single digits and
// strips: rows on a strip of paper under a desk lamp, ruled and squared paper, thick marker,
// low-resolution scans, chalkboards, small digits in a large photo, touching digits. The
// fixtures (make_digit_photos) and the accuracy benchmark (photo_accuracy) draw each category
// from here, so a figure per category means the same photos everywhere.
//
// Header-only, like digit_photos.h.
#pragma once

#include <algorithm>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <string>
#include <vector>

#include "tools/digit_photos.h"

namespace pipeline::photos {

enum class Category {
  kPhoto,       // one MNIST digit on tinted, unevenly lit paper (digit_photos.h)
  kStrip,       // 2-5 digits in a row (digit_photos.h)
  kRowLamp,     // 2-6 digits on a strip 4-8 times wider than tall, darker at one end
  kRuled,       // one digit on ruled paper
  kSquared,     // one digit on squared paper
  kThick,       // one digit in thick marker
  kLowRes,      // one digit scanned at low resolution and upscaled (blocky)
  kChalk,       // one light digit on a dark board
  kSmallLarge,  // 3-5 small digits somewhere in a 1600x1200 photo
  kTouching,    // 2-4 digits touching their neighbours
};

inline const std::vector<Category>& AllCategories() {
  static const std::vector<Category> all = {
      Category::kPhoto,      Category::kStrip,   Category::kRowLamp, Category::kRuled,
      Category::kSquared,    Category::kThick,   Category::kLowRes,  Category::kChalk,
      Category::kSmallLarge, Category::kTouching};
  return all;
}

inline std::string CategoryName(Category category) {
  switch (category) {
    case Category::kPhoto:
      return "photo";
    case Category::kStrip:
      return "strip";
    case Category::kRowLamp:
      return "row_lamp";
    case Category::kRuled:
      return "ruled";
    case Category::kSquared:
      return "squared";
    case Category::kThick:
      return "thick";
    case Category::kLowRes:
      return "lowres";
    case Category::kChalk:
      return "chalk";
    case Category::kSmallLarge:
      return "small_in_large";
    case Category::kTouching:
      return "touching";
  }
  return "?";
}

// How many digits a photo of the category holds (drawn before the digits are picked).
inline int DigitCount(Category category, std::mt19937_64& rng) {
  switch (category) {
    case Category::kStrip:
      return 2 + static_cast<int>(Uniform(rng, 0, 4));
    case Category::kRowLamp:
      return 2 + static_cast<int>(Uniform(rng, 0, 5));
    case Category::kSmallLarge:
      return 3 + static_cast<int>(Uniform(rng, 0, 3));
    case Category::kTouching:
      return 2 + static_cast<int>(Uniform(rng, 0, 3));
    default:
      return 1;
  }
}

// A marker's stroke: the MNIST digit at twice its size, widened by 1.5-3 of its pixels.
inline cv::Mat ThickStrokes(const cv::Mat& mnist, std::mt19937_64& rng) {
  cv::Mat large, thick;
  cv::resize(mnist, large, cv::Size(56, 56), 0, 0, cv::INTER_LINEAR);
  const int side = 2 * static_cast<int>(Uniform(rng, 1.5, 3.5)) + 1;
  cv::dilate(large, thick, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(side, side)));
  return thick;
}

// A scan at 8-12 px per digit, enlarged by pixel repetition: blocky, with thick steps.
inline cv::Mat LowResolution(const cv::Mat& mnist, std::mt19937_64& rng) {
  const int side = static_cast<int>(Uniform(rng, 8, 13));
  cv::Mat small, binary, blocky;
  cv::resize(mnist, small, cv::Size(side, side), 0, 0, cv::INTER_AREA);
  // Cheap scanners threshold: each cell is ink or paper.
  cv::threshold(small, binary, Uniform(rng, 50, 110), 255, cv::THRESH_BINARY);
  cv::resize(binary, blocky, cv::Size(side * 12, side * 12), 0, 0, cv::INTER_NEAREST);
  return blocky;
}

// Digits in a row of ink height `height`, starting at x, vertically centred on `centre_y`,
// separated by gaps of [gap_low, gap_high) times the height (negative: overlapping).
inline void PlaceRow(Scene& scene, const std::vector<cv::Mat>& mnist,
                     const std::vector<int>& labels, double height, double x, double centre_y,
                     double gap_low, double gap_high, std::mt19937_64& rng) {
  for (size_t i = 0; i < mnist.size(); ++i) {
    const double h = height * Uniform(rng, 0.92, 1.08);
    const double w = WidthFor(mnist[i], h);
    const double y = centre_y - h / 2 + Uniform(rng, -0.06, 0.06) * height;
    scene.digits.push_back({mnist[i], labels[i], cv::Rect2d(x, y, w, h)});
    x += w + Uniform(rng, gap_low, gap_high) * height;
  }
}

inline double RowWidth(const std::vector<cv::Mat>& mnist, double height, double gap) {
  double total = 0;
  for (const cv::Mat& digit : mnist) total += WidthFor(digit, height) + gap * height;
  return total - gap * height;
}

// A house or phone number on a strip of paper 60-140 px tall and 4-8 times as wide, lit by a
// lamp at one end.
inline Scene RowLampScene(const std::vector<cv::Mat>& mnist, const std::vector<int>& labels,
                          std::mt19937_64& rng) {
  Scene scene;
  const int rows = static_cast<int>(Uniform(rng, 60, 141));
  const double height = rows / Uniform(rng, 1.35, 1.8);
  const double gap = Uniform(rng, 0.2, 0.5);
  const double row = RowWidth(mnist, height, gap);
  const int cols = std::max(static_cast<int>(rows * Uniform(rng, 4, 8)),
                            static_cast<int>(row + 0.3 * height + 16));
  scene.size = cv::Size(cols, rows);
  const double x = Uniform(rng, 0.15 * height + 8, std::max(0.15 * height + 8, cols - row - 8));
  PlaceRow(scene, mnist, labels, height, x, rows / 2.0, gap, gap + 0.1, rng);
  RandomLook(scene, rng);
  const double fall = Uniform(rng, 0.3, 0.55);  // the far end this much darker
  scene.gradient_x = Uniform(rng, 0, 1) < 0.5 ? fall : -fall;
  scene.gradient_y = Uniform(rng, -0.1, 0.1);
  return scene;
}

// One digit on lined paper: the lines a little fainter than the ink.
inline Scene LinedScene(const cv::Mat& mnist, int label, bool grid, std::mt19937_64& rng) {
  Scene scene = SingleDigitScene(mnist, label, rng);
  const double height = scene.digits[0].box.height;
  scene.grid = grid;
  scene.line_spacing = height * (grid ? Uniform(rng, 0.35, 0.6) : Uniform(rng, 0.9, 1.4));
  scene.line_width = Uniform(rng, 1, 2.5);
  const double strength = Uniform(rng, 0.2, 0.45);  // how far towards ink the lines darken
  const bool blue = Uniform(rng, 0, 1) < 0.6;
  for (int k = 0; k < 3; ++k) {
    const double tint = blue ? (k == 0 ? 1.0 : 0.75) : 1.0;
    scene.line_colour[k] = scene.paper[k] * (1 - strength * tint) + scene.ink[k] * strength * tint;
  }
  return scene;
}

inline Scene ChalkScene(const cv::Mat& mnist, int label, std::mt19937_64& rng) {
  Scene scene = SingleDigitScene(mnist, label, rng);
  const double board = Uniform(rng, 25, 75);
  const bool green = Uniform(rng, 0, 1) < 0.5;
  scene.paper =
      green ? cv::Scalar(board * 0.8, board * 1.2, board * 0.7) : cv::Scalar(board, board, board);
  const double chalk = Uniform(rng, 180, 240);
  scene.ink = cv::Scalar(chalk, chalk, chalk);
  scene.ink_strength = Uniform(rng, 0.6, 0.95);
  return scene;
}

// A phone photo of a page: a short number written small somewhere on it.
inline Scene SmallInLargeScene(const std::vector<cv::Mat>& mnist, const std::vector<int>& labels,
                               std::mt19937_64& rng) {
  Scene scene;
  const bool portrait = Uniform(rng, 0, 1) < 0.4;
  scene.size = portrait ? cv::Size(1200, 1600) : cv::Size(1600, 1200);
  const double height = Uniform(rng, 28, 64);
  const double gap = Uniform(rng, 0.2, 0.5);
  const double row = RowWidth(mnist, height, gap);
  const double x = Uniform(rng, 0.1 * scene.size.width, 0.9 * scene.size.width - row);
  const double y = Uniform(rng, 0.1 * scene.size.height, 0.9 * scene.size.height);
  PlaceRow(scene, mnist, labels, height, x, y, gap, gap + 0.1, rng);
  RandomLook(scene, rng);
  return scene;
}

// A number written fast: each digit touches the next (or overlaps it by a stroke).
inline Scene TouchingScene(const std::vector<cv::Mat>& mnist, const std::vector<int>& labels,
                           std::mt19937_64& rng) {
  Scene scene;
  const double height = Uniform(rng, 36, 70);
  const double row = RowWidth(mnist, height, -0.03);
  const double margin = Uniform(rng, 0.2, 0.4) * height + 8;
  scene.size = cv::Size(static_cast<int>(row + 2 * margin),
                        static_cast<int>(height * Uniform(rng, 1.5, 2.2)));
  PlaceRow(scene, mnist, labels, height, margin, scene.size.height / 2.0, -0.06, 0.0, rng);
  RandomLook(scene, rng);
  return scene;
}

// A scene of `category` for these digits (as many as DigitCount drew).
inline Scene CategoryScene(Category category, const std::vector<cv::Mat>& mnist,
                           const std::vector<int>& labels, std::mt19937_64& rng) {
  switch (category) {
    case Category::kPhoto:
      return SingleDigitScene(mnist[0], labels[0], rng);
    case Category::kStrip:
      return StripScene(mnist, labels, rng);
    case Category::kRowLamp:
      return RowLampScene(mnist, labels, rng);
    case Category::kRuled:
      return LinedScene(mnist[0], labels[0], false, rng);
    case Category::kSquared:
      return LinedScene(mnist[0], labels[0], true, rng);
    case Category::kThick:
      return SingleDigitScene(ThickStrokes(mnist[0], rng), labels[0], rng);
    case Category::kLowRes:
      return SingleDigitScene(LowResolution(mnist[0], rng), labels[0], rng);
    case Category::kChalk:
      return ChalkScene(mnist[0], labels[0], rng);
    case Category::kSmallLarge:
      return SmallInLargeScene(mnist, labels, rng);
    case Category::kTouching:
      return TouchingScene(mnist, labels, rng);
  }
  return SingleDigitScene(mnist[0], labels[0], rng);
}

}  // namespace pipeline::photos
