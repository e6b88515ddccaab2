#include "stages/report/chart_drawing.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgproc.hpp>

#include "pipeline/payloads.h"

namespace pipeline::cnn::report {
namespace {

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

}  // namespace

cv::Size TextSize(const std::string& text, double scale, int thickness) {
  int baseline = 0;
  return cv::getTextSize(text, kFont, scale, thickness, &baseline);
}

void DrawText(cv::Mat& image, const std::string& text, cv::Point anchor, Align horizontal,
              Align vertical, double scale, const cv::Scalar& colour, int thickness) {
  const cv::Size size = TextSize(text, scale, thickness);
  int x = anchor.x;
  if (horizontal == Align::kCenter) x -= size.width / 2;
  if (horizontal == Align::kEnd) x -= size.width;
  int y = anchor.y;  // putText places the baseline
  if (vertical == Align::kStart) y += size.height;
  if (vertical == Align::kCenter) y += size.height / 2;
  cv::putText(image, text, {x, y}, kFont, scale, colour, thickness, cv::LINE_AA);
}

void DrawVerticalText(cv::Mat& image, const std::string& text, cv::Point centre, double scale,
                      const cv::Scalar& colour) {
  const cv::Size size = TextSize(text, scale);
  // Drawn upright on a patch of the image's own background, then turned and copied over.
  cv::Mat patch(size.height + 8, size.width + 4, image.type(), kBackground);
  DrawText(patch, text, {2, 4}, Align::kStart, Align::kStart, scale, colour);
  cv::Mat turned;
  cv::rotate(patch, turned, cv::ROTATE_90_COUNTERCLOCKWISE);
  const cv::Rect wanted(centre.x - turned.cols / 2, centre.y - turned.rows / 2, turned.cols,
                        turned.rows);
  // Clipped to the image (very wide tick labels push the label past the left edge); the part of
  // the turned patch that stays visible is the one with the same offset.
  const cv::Rect target = wanted & cv::Rect(0, 0, image.cols, image.rows);
  if (target.empty()) return;
  turned(target - wanted.tl()).copyTo(image(target));
}

Axis NiceAxis(double low, double high, int target) {
  if (!std::isfinite(low) || !std::isfinite(high)) low = 0, high = 1;
  if (high < low) std::swap(low, high);
  if (high - low < 1e-12) {  // one value: show a small range around it
    const double pad = std::abs(low) > 0 ? std::abs(low) * 0.1 : 1.0;
    low -= pad;
    high += pad;
  }
  const double rough = (high - low) / std::max(1, target);
  const double power = std::pow(10.0, std::floor(std::log10(rough)));
  double step = power;
  for (const double factor : {1.0, 2.0, 5.0, 10.0}) {
    step = factor * power;
    if (step >= rough) break;
  }
  Axis axis;
  axis.step = step;
  axis.low = std::floor(low / step + 1e-9) * step;
  axis.high = std::ceil(high / step - 1e-9) * step;
  for (double tick = axis.low; tick <= axis.high + step * 1e-6; tick += step) {
    axis.ticks.push_back(std::abs(tick) < step * 1e-9 ? 0.0 : tick);
  }
  return axis;
}

std::string TickLabel(double value, double step) {
  int decimals = 0;
  while (decimals < 6 && std::abs(step * std::pow(10.0, decimals) -
                                  std::round(step * std::pow(10.0, decimals))) > 1e-6) {
    ++decimals;
  }
  char text[32];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

cv::Point PlotArea::ToPixel(double x, double y) const {
  const double fx = (x - x_.low) / (x_.high - x_.low);
  const double fy = (y - y_.low) / (y_.high - y_.low);
  return {area_.x + static_cast<int>(std::lround(fx * (area_.width - 1))),
          area_.y + area_.height - 1 - static_cast<int>(std::lround(fy * (area_.height - 1)))};
}

void PlotArea::DrawAxes(cv::Mat& image, const std::string& x_label,
                        const std::string& y_label) const {
  const int left = area_.x, right = area_.x + area_.width - 1;
  const int top = area_.y, bottom = area_.y + area_.height - 1;
  int widest_tick = 0;
  for (const double tick : y_.ticks) {
    const int y = ToPixel(x_.low, tick).y;
    cv::line(image, {left, y}, {right, y}, kGridLine, 1);
    const std::string label = TickLabel(tick, y_.step);
    widest_tick = std::max(widest_tick, TextSize(label, kTickFont).width);
    DrawText(image, label, {left - 8, y}, Align::kEnd, Align::kCenter, kTickFont, kInk);
  }
  // Integer-step x ticks drop the ones that would crowd their neighbours' labels.
  int last_label_end = -1000;
  for (const double tick : x_.ticks) {
    const int x = ToPixel(tick, y_.low).x;
    cv::line(image, {x, bottom}, {x, bottom + 5}, kInk, 1);
    const std::string label = TickLabel(tick, x_.step);
    const int half = TextSize(label, kTickFont).width / 2;
    if (x - half < last_label_end + 6) continue;
    DrawText(image, label, {x, bottom + 10}, Align::kCenter, Align::kStart, kTickFont, kInk);
    last_label_end = x + half;
  }
  cv::rectangle(image, cv::Point(left, top), cv::Point(right, bottom), kInk, 1);
  DrawText(image, x_label, {(left + right) / 2, bottom + 32}, Align::kCenter, Align::kStart,
           kLabelFont, kInk);
  DrawVerticalText(image, y_label, {left - widest_tick - 24, (top + bottom) / 2}, kLabelFont, kInk);
}

void DrawSeries(cv::Mat& image, const PlotArea& plot, const std::vector<double>& xs,
                const std::vector<double>& ys, const cv::Scalar& colour) {
  const size_t n = std::min(xs.size(), ys.size());
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(ys[i])) continue;
    const cv::Point point = plot.ToPixel(xs[i], ys[i]);
    if (i > 0 && std::isfinite(ys[i - 1])) {
      cv::line(image, plot.ToPixel(xs[i - 1], ys[i - 1]), point, colour, 2, cv::LINE_AA);
    }
    cv::circle(image, point, 4, colour, cv::FILLED, cv::LINE_AA);
  }
}

int LegendEntryWidth(const std::string& text) { return 30 + TextSize(text, kTickFont).width; }

int DrawLegendEntry(cv::Mat& image, cv::Point start, const std::string& text,
                    const cv::Scalar& colour) {
  cv::line(image, start, {start.x + 22, start.y}, colour, 3, cv::LINE_AA);
  cv::circle(image, {start.x + 11, start.y}, 4, colour, cv::FILLED, cv::LINE_AA);
  DrawText(image, text, {start.x + 30, start.y}, Align::kStart, Align::kCenter, kTickFont, kInk);
  return start.x + LegendEntryWidth(text) + 24;
}

std::string ClassLabel(const std::vector<std::string>& class_names, int k, size_t longest) {
  const std::string name = ClassName(class_names, k);
  return name.size() <= longest ? name : name.substr(0, longest - 1) + ".";
}

}  // namespace pipeline::cnn::report
