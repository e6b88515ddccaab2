#include "stages/report/confusion_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgproc.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "stages/report/chart_drawing.h"

namespace pipeline::cnn::report {
namespace {

constexpr int kLeft = 96;        // room for "true class" and the row labels (numbers)
constexpr int kNamedLeft = 200;  // ... and for "9 Ankle boot"
constexpr int kTop = 64;         // title and subtitle
constexpr int kBottom = 70;      // column labels and "predicted class"
constexpr int kRight = 24;

cv::Scalar Mix(const cv::Scalar& from, const cv::Scalar& to, double t) {
  return from * (1 - t) + to * t;
}

}  // namespace

int ConfusionCellSize(int classes) { return std::clamp(520 / std::max(classes, 1), 14, 56); }

cv::Mat DrawConfusion(const proto::EpochMetrics& metrics,
                      const std::vector<std::string>& class_names) {
  const int left = class_names.empty() ? kLeft : kNamedLeft;
  const int classes = metrics.classes();
  if (classes <= 0 || metrics.confusion_size() != classes * classes) {
    throw std::invalid_argument("the metrics hold no confusion matrix");
  }
  const int cell = ConfusionCellSize(classes);
  const int side = cell * classes;
  cv::Mat image(kTop + side + kBottom, left + side + kRight, CV_8UC3, kBackground);

  std::vector<int64_t> row_totals(static_cast<size_t>(classes), 0);
  int64_t largest_mistake = 0;
  for (int r = 0; r < classes; ++r) {
    for (int c = 0; c < classes; ++c) {
      const int64_t count = metrics.confusion(r * classes + c);
      row_totals[static_cast<size_t>(r)] += count;
      if (r != c) largest_mistake = std::max(largest_mistake, count);
    }
  }

  char title[128];
  std::snprintf(title, sizeof(title), "confusion matrix, epoch %lld: %.2f%% of %lld correct",
                static_cast<long long>(metrics.epoch() + 1), 100 * metrics.test_accuracy(),
                static_cast<long long>(metrics.test_samples()));
  DrawText(image, title, {image.cols / 2, 12}, Align::kCenter, Align::kStart, kTitleFont, kInk);
  DrawText(image, "blue: share of the class found; red: mistakes (darker = more)",
           {image.cols / 2, 38}, Align::kCenter, Align::kStart, kSmallFont, kFaintInk);

  const double count_font = std::min(kTickFont, cell / 110.0);
  const cv::Scalar dark_blue{140, 60, 20}, dark_red{30, 30, 190};
  for (int r = 0; r < classes; ++r) {
    for (int c = 0; c < classes; ++c) {
      const int64_t count = metrics.confusion(r * classes + c);
      const cv::Rect box(left + c * cell, kTop + r * cell, cell, cell);
      double shade = 0;
      cv::Scalar colour = kBackground;
      if (r == c) {
        const int64_t total = row_totals[static_cast<size_t>(r)];
        shade = total > 0 ? static_cast<double>(count) / static_cast<double>(total) : 0;
        colour = Mix(kBackground, dark_blue, shade);
      } else if (count > 0) {
        // Square root: one mistake among many still gets a visible tint.
        shade = 0.15 +
                0.85 * std::sqrt(static_cast<double>(count) / static_cast<double>(largest_mistake));
        colour = Mix(kBackground, dark_red, shade);
      }
      cv::rectangle(image, box, colour, cv::FILLED);
      cv::rectangle(image, box, kGridLine, 1);
      const std::string text = std::to_string(count);
      if (count > 0 && TextSize(text, count_font).width <= cell - 4) {
        DrawText(image, text, {box.x + cell / 2, box.y + cell / 2}, Align::kCenter, Align::kCenter,
                 count_font, shade > 0.55 ? kBackground : kInk);
      }
    }
  }
  cv::rectangle(image, cv::Rect(left, kTop, side, side), kInk, 1);

  const double label_font = std::min(kTickFont, cell / 60.0);
  const int label_every = cell >= 20 ? 1 : 5;  // every class's label when they fit
  for (int k = 0; k < classes; k += label_every) {
    const std::string label = std::to_string(k);
    const std::string row_label =
        class_names.empty() ? label : label + " " + ClassLabel(class_names, k, 14);
    DrawText(image, row_label, {left - 8, kTop + k * cell + cell / 2}, Align::kEnd, Align::kCenter,
             label_font, kInk);
    DrawText(image, label, {left + k * cell + cell / 2, kTop + side + 8}, Align::kCenter,
             Align::kStart, label_font, kInk);
  }
  DrawText(image, "predicted class", {left + side / 2, kTop + side + 36}, Align::kCenter,
           Align::kStart, kLabelFont, kInk);
  DrawVerticalText(image, "true class", {class_names.empty() ? left - 60 : 16, kTop + side / 2},
                   kLabelFont, kInk);
  return image;
}

}  // namespace pipeline::cnn::report
