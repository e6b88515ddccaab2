#include "stages/report/curves_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <opencv2/imgproc.hpp>
#include <string>

#include "stages/report/chart_drawing.h"

namespace pipeline::cnn::report {
namespace {

constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();

struct Series {
  std::string name;
  cv::Scalar colour;
  std::vector<double> values;  // one per epoch, NaN where the epoch lacks it

  bool present() const {
    return std::any_of(values.begin(), values.end(), [](double v) { return std::isfinite(v); });
  }
  double last() const {
    for (auto it = values.rbegin(); it != values.rend(); ++it) {
      if (std::isfinite(*it)) return *it;
    }
    return kMissing;
  }
};

// Epochs 1..count, with a half epoch of room on both sides so no point sits on the frame.
Axis EpochAxis(size_t count) {
  const auto last = static_cast<double>(std::max<size_t>(count, 1));
  const Axis nice = NiceAxis(1, std::max(2.0, last), 8);
  Axis axis;
  axis.low = 0.5;
  axis.high = last + 0.5;
  axis.step = std::max(1.0, std::round(nice.step));
  axis.ticks.push_back(1);
  for (double tick = axis.step; tick <= last; tick += axis.step) {
    if (tick > 1) axis.ticks.push_back(tick);
  }
  return axis;
}

// The y range of every finite value, widened to round numbers within [floor, ceiling].
Axis ValueAxis(const std::vector<Series>& series, double floor, double ceiling, bool from_floor) {
  double low = std::numeric_limits<double>::infinity(), high = -low;
  for (const Series& s : series) {
    for (const double v : s.values) {
      if (!std::isfinite(v)) continue;
      low = std::min(low, v);
      high = std::max(high, v);
    }
  }
  if (!std::isfinite(low)) low = floor, high = ceiling;
  if (from_floor) low = floor;
  // A little headroom so the highest point does not touch the frame.
  high = std::min(ceiling, high + 0.05 * (high - low));
  low = std::max(floor, low - 0.05 * (high - low));
  Axis axis = NiceAxis(low, high, 5);
  axis.low = std::max(axis.low, floor);
  axis.high = std::min(axis.high, ceiling);
  if (axis.high <= axis.low) axis.high = axis.low + axis.step;
  std::erase_if(axis.ticks, [&](double t) {
    return t < axis.low - 1e-9 * axis.step || t > axis.high + 1e-9 * axis.step;
  });
  return axis;
}

void DrawPanel(cv::Mat& image, cv::Rect panel, const std::string& title, const std::string& y_label,
               const std::vector<Series>& series, const Axis& y, const char* value_format,
               size_t epochs) {
  DrawText(image, title, {panel.x + panel.width / 2, panel.y + 14}, Align::kCenter, Align::kStart,
           kTitleFont, kInk, 1);
  const cv::Rect area(panel.x + 84, panel.y + 50, panel.width - 104, panel.height - 160);
  const PlotArea plot(area, EpochAxis(epochs), y);
  plot.DrawAxes(image, "epoch", y_label);
  std::vector<double> xs;
  for (size_t i = 0; i < epochs; ++i) xs.push_back(static_cast<double>(i + 1));
  // The legend wraps to a second row when three series do not fit beside each other.
  cv::Point legend(area.x, area.y + area.height + 70);
  for (const Series& s : series) {
    if (!s.present()) continue;
    DrawSeries(image, plot, xs, s.values, s.colour);
    char text[64];
    std::snprintf(text, sizeof(text), value_format, s.name.c_str(), s.last());
    if (legend.x > area.x && legend.x + LegendEntryWidth(text) > panel.x + panel.width - 8) {
      legend = {area.x, legend.y + 24};
    }
    legend.x = DrawLegendEntry(image, legend, text, s.colour);
  }
}

}  // namespace

cv::Mat DrawCurves(const std::vector<proto::EpochMetrics>& epochs) {
  cv::Mat image(kCurvesHeight, kCurvesWidth, CV_8UC3, kBackground);
  Series train_loss{"train", kTrainColour, {}},
      validation_loss{"validation", kValidationColour, {}}, test_loss{"test", kTestColour, {}};
  Series train_acc = train_loss, validation_acc = validation_loss, test_acc = test_loss;
  for (const proto::EpochMetrics& row : epochs) {
    // A row without training figures (a model evaluated on its own) has no train point.
    const bool trained = row.train_samples() > 0 || row.train_loss() != 0;
    train_loss.values.push_back(trained ? row.train_loss() : kMissing);
    train_acc.values.push_back(trained ? 100 * row.train_accuracy() : kMissing);
    validation_loss.values.push_back(row.has_validation() ? row.validation_loss() : kMissing);
    validation_acc.values.push_back(row.has_validation() ? 100 * row.validation_accuracy()
                                                         : kMissing);
    test_loss.values.push_back(row.has_test() ? row.test_loss() : kMissing);
    test_acc.values.push_back(row.has_test() ? 100 * row.test_accuracy() : kMissing);
  }
  const std::vector<Series> losses = {train_loss, validation_loss, test_loss};
  const std::vector<Series> accuracies = {train_acc, validation_acc, test_acc};
  const int half = kCurvesWidth / 2;
  DrawPanel(image, {0, 0, half, kCurvesHeight}, "loss per epoch", "cross-entropy loss", losses,
            ValueAxis(losses, 0, std::numeric_limits<double>::infinity(), true), "%s %.4f",
            epochs.size());
  DrawPanel(image, {half, 0, half, kCurvesHeight}, "accuracy per epoch", "accuracy (%)", accuracies,
            ValueAxis(accuracies, 0, 100, false), "%s %.2f%%", epochs.size());
  cv::line(image, {half, 12}, {half, kCurvesHeight - 12}, kGridLine, 1);
  return image;
}

}  // namespace pipeline::cnn::report
