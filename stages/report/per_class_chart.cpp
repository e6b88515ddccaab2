#include "stages/report/per_class_chart.h"

#include <algorithm>
#include <cstdio>
#include <opencv2/imgproc.hpp>
#include <stdexcept>
#include <string>

#include "stages/report/chart_drawing.h"

namespace pipeline::cnn::report {
namespace {

constexpr int kLeft = 90, kRight = 24, kTop = 84, kBottom = 96;
constexpr int kMinGroupWidth = 86;  // two bars with "99.9" above each

std::string Percent(double fraction) {
  if (fraction >= 0.9995) return "100";  // "100.0" would crowd the neighbouring bar's value
  char text[16];
  std::snprintf(text, sizeof(text), "%.1f", 100 * fraction);
  return text;
}

}  // namespace

int PerClassWidth(int classes) { return std::max(1000, kLeft + kRight + classes * kMinGroupWidth); }

cv::Mat DrawPerClass(const proto::EpochMetrics& metrics,
                     const std::vector<std::string>& class_names) {
  const int classes = metrics.per_class_size();
  if (classes == 0) throw std::invalid_argument("the metrics hold no per-class figures");
  const int width = PerClassWidth(classes);
  cv::Mat image(kPerClassHeight, width, CV_8UC3, kBackground);

  // Bars start at a round value below the lowest one, so differences of a fraction of a percent
  // remain visible; the axis says where it starts.
  double lowest = 1;
  for (const proto::ClassMetrics& row : metrics.per_class()) {
    lowest = std::min({lowest, row.recall(), row.precision()});
  }
  Axis y = lowest >= 0.5 ? NiceAxis(100 * lowest - 0.6 * (100 - 100 * lowest) - 0.5, 100, 5)
                         : NiceAxis(0, 100, 5);
  y.low = std::max(0.0, y.low);
  y.high = 100;
  std::erase_if(y.ticks, [&](double t) { return t < y.low || t > y.high; });
  Axis x;
  x.low = 0;
  x.high = classes;
  const cv::Rect area(kLeft, kTop, width - kLeft - kRight, kPerClassHeight - kTop - kBottom);
  const PlotArea plot(area, x, y);

  char title[128];
  std::snprintf(title, sizeof(title), "per-class recall and precision, epoch %lld (%%)",
                static_cast<long long>(metrics.epoch() + 1));
  DrawText(image, title, {width / 2, 12}, Align::kCenter, Align::kStart, kTitleFont, kInk);
  int legend_x = width / 2 - 260;
  legend_x =
      DrawLegendEntry(image, {legend_x, 52},
                      "recall: share of the class's samples found (its accuracy)", kTestColour);
  DrawLegendEntry(image, {legend_x, 52}, "precision", kTrainColour);
  plot.DrawAxes(image, "", "percent");

  const double group = static_cast<double>(area.width) / classes;
  const int bar = std::max(4, static_cast<int>(group * 0.34));
  const int bottom = area.y + area.height - 1;
  for (int c = 0; c < classes; ++c) {
    const proto::ClassMetrics& row = metrics.per_class(c);
    const int centre = area.x + static_cast<int>((c + 0.5) * group);
    const struct {
      double value;
      cv::Scalar colour;
      int left;
    } bars[] = {{row.recall(), kTestColour, centre - bar - 2},
                {row.precision(), kTrainColour, centre + 2}};
    for (const auto& b : bars) {
      const int top = plot.ToPixel(0, std::max(y.low, 100 * b.value)).y;
      if (top < bottom) {
        cv::rectangle(image, cv::Point(b.left, top), cv::Point(b.left + bar - 1, bottom), b.colour,
                      cv::FILLED);
      }
      DrawText(image, Percent(b.value), {b.left + bar / 2, top - 4}, Align::kCenter, Align::kEnd,
               kSmallFont, kInk);
    }
    DrawText(image, class_names.empty() ? "class " + std::to_string(c) : ClassLabel(class_names, c),
             {centre, bottom + 10}, Align::kCenter, Align::kStart, kTickFont, kInk);
    DrawText(image, "n=" + std::to_string(row.support()), {centre, bottom + 30}, Align::kCenter,
             Align::kStart, kSmallFont, kFaintInk);
  }
  return image;
}

}  // namespace pipeline::cnn::report
