// Drawing pieces the report's charts share: colours, aligned text, tick values a person would
// choose, and a plot area that maps data to pixels and draws its axes.
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace pipeline::cnn::report {

// The name charts give class `k`: its class name (cut to `longest` characters with "."), or the
// number when the data named no classes.
std::string ClassLabel(const std::vector<std::string>& class_names, int k, size_t longest = 12);

// BGR, as OpenCV stores pixels. The three series colours are the usual blue, orange and green,
// told apart by most colour-blind readers.
inline const cv::Scalar kBackground{255, 255, 255};
inline const cv::Scalar kInk{40, 40, 40};
inline const cv::Scalar kFaintInk{110, 110, 110};
inline const cv::Scalar kGridLine{228, 228, 228};
inline const cv::Scalar kTrainColour{180, 119, 31};
inline const cv::Scalar kValidationColour{14, 127, 255};
inline const cv::Scalar kTestColour{44, 160, 44};
inline const cv::Scalar kWrongColour{40, 39, 214};

// Font sizes (FONT_HERSHEY_SIMPLEX scales): titles, axis labels, tick values and small print.
inline constexpr double kTitleFont = 0.6;
inline constexpr double kLabelFont = 0.5;
inline constexpr double kTickFont = 0.42;
inline constexpr double kSmallFont = 0.38;

enum class Align { kStart, kCenter, kEnd };

// Size of `text` as DrawText draws it (height from the top of capitals to the baseline).
cv::Size TextSize(const std::string& text, double scale, int thickness = 1);

// Draws `text` so that `anchor` is its left/centre/right edge horizontally and its top/middle/
// baseline vertically (kStart = top, kCenter = middle, kEnd = baseline).
void DrawText(cv::Mat& image, const std::string& text, cv::Point anchor, Align horizontal,
              Align vertical, double scale, const cv::Scalar& colour, int thickness = 1);

// The same, turned 90 degrees counter-clockwise (reads bottom to top), centred on `centre`.
void DrawVerticalText(cv::Mat& image, const std::string& text, cv::Point centre, double scale,
                      const cv::Scalar& colour);

// An axis range widened to round numbers, with about `target` tick values at a step of 1, 2 or
// 5 times a power of ten.
struct Axis {
  double low = 0;
  double high = 1;
  double step = 1;
  std::vector<double> ticks;
};
Axis NiceAxis(double low, double high, int target);

// `value` with as many decimals as `step` needs ("0.25", "98.5", "4").
std::string TickLabel(double value, double step);

// A rectangle of the image showing x in [x.low, x.high] and y in [y.low, y.high].
class PlotArea {
 public:
  PlotArea(cv::Rect area, Axis x, Axis y) : area_(area), x_(std::move(x)), y_(std::move(y)) {}

  cv::Point ToPixel(double x, double y) const;
  const cv::Rect& area() const { return area_; }

  // Grid lines at the y ticks, the frame, tick values on both axes and the axis labels
  // (x label under the tick values, y label turned up the left side).
  void DrawAxes(cv::Mat& image, const std::string& x_label, const std::string& y_label) const;

 private:
  cv::Rect area_;
  Axis x_;
  Axis y_;
};

// A series as a line with a dot at every point; points with a non-finite value are skipped
// (the line breaks there).
void DrawSeries(cv::Mat& image, const PlotArea& plot, const std::vector<double>& xs,
                const std::vector<double>& ys, const cv::Scalar& colour);

// The width DrawLegendEntry takes for `text`, without the gap after it.
int LegendEntryWidth(const std::string& text);
// A legend entry: a short line in the series colour, then its text; returns the x after it.
int DrawLegendEntry(cv::Mat& image, cv::Point start, const std::string& text,
                    const cv::Scalar& colour);

}  // namespace pipeline::cnn::report
