#include "stages/report/mistakes_chart.h"

#include <algorithm>
#include <cstdio>
#include <opencv2/imgproc.hpp>
#include <string>

#include "stages/report/chart_drawing.h"

namespace pipeline::cnn::report {
namespace {

constexpr int kPictureSide = 84;  // a 28x28 digit three times over

// The sample's pixels as BGR, enlarged without smoothing so every pixel stays visible.
cv::Mat Enlarged(const cv::Mat& pixels) {
  cv::Mat bgr;
  if (pixels.empty()) {
    bgr = cv::Mat(kPictureSide, kPictureSide, CV_8UC3, kGridLine);
    return bgr;
  }
  if (pixels.channels() == 1) {
    cv::cvtColor(pixels, bgr, cv::COLOR_GRAY2BGR);
  } else if (pixels.channels() == 4) {
    cv::cvtColor(pixels, bgr, cv::COLOR_BGRA2BGR);
  } else {
    bgr = pixels;
  }
  const double scale =
      static_cast<double>(kPictureSide) / static_cast<double>(std::max(bgr.rows, bgr.cols));
  cv::Mat big;
  cv::resize(bgr, big, cv::Size(), scale, scale, scale >= 1 ? cv::INTER_NEAREST : cv::INTER_AREA);
  return big;
}

void DrawTile(cv::Mat& image, const Mistake& mistake, cv::Point corner,
              const std::vector<std::string>& class_names) {
  const cv::Mat picture = Enlarged(mistake.image);
  const int x = corner.x + (kMistakeTileWidth - picture.cols) / 2;
  const int y = corner.y + 4;
  picture.copyTo(image(cv::Rect(x, y, picture.cols, picture.rows)));
  cv::rectangle(image, cv::Rect(x - 1, y - 1, picture.cols + 2, picture.rows + 2), kFaintInk, 1);
  const int centre = corner.x + kMistakeTileWidth / 2;
  const std::string truth = "true " + ClassLabel(class_names, mistake.label);
  const std::string answer = "said " + ClassLabel(class_names, mistake.predicted);
  // "true 4  said 9" with the wrong answer in red; class names too long for one line take two.
  const int gap = 8;
  const int width = TextSize(truth, kTickFont).width + gap + TextSize(answer, kTickFont).width;
  int text_y = y + kPictureSide + 8;
  if (width <= kMistakeTileWidth - 4) {
    const int left = centre - width / 2;
    DrawText(image, truth, {left, text_y}, Align::kStart, Align::kStart, kTickFont, kInk);
    DrawText(image, answer, {left + width, text_y}, Align::kEnd, Align::kStart, kTickFont,
             kWrongColour);
  } else {
    DrawText(image, truth, {centre, text_y - 2}, Align::kCenter, Align::kStart, kSmallFont, kInk);
    text_y += 12;
    DrawText(image, answer, {centre, text_y - 2}, Align::kCenter, Align::kStart, kSmallFont,
             kWrongColour);
  }
  char confidence[32];
  std::snprintf(confidence, sizeof(confidence), "%.1f%% sure", 100.0 * mistake.confidence);
  DrawText(image, confidence, {centre, text_y + 20}, Align::kCenter, Align::kStart, kSmallFont,
           kFaintInk);
}

}  // namespace

cv::Mat DrawMistakes(const std::vector<Mistake>& mistakes, int64_t epoch,
                     const std::vector<std::string>& class_names) {
  const int rows =
      std::max(1, (static_cast<int>(mistakes.size()) + kMistakeColumns - 1) / kMistakeColumns);
  const int margin = 10;
  cv::Mat image(kMistakesTitleHeight + rows * kMistakeTileHeight + margin,
                2 * margin + kMistakeColumns * kMistakeTileWidth, CV_8UC3, kBackground);
  char title[128];
  std::snprintf(title, sizeof(title),
                mistakes.empty() ? "no mistakes on the test set after epoch %lld"
                                 : "most confident mistakes after epoch %lld (most sure first)",
                static_cast<long long>(epoch + 1));
  DrawText(image, title, {image.cols / 2, 14}, Align::kCenter, Align::kStart, kTitleFont, kInk);
  for (size_t i = 0; i < mistakes.size(); ++i) {
    const int row = static_cast<int>(i) / kMistakeColumns;
    const int column = static_cast<int>(i) % kMistakeColumns;
    DrawTile(image, mistakes[i],
             {margin + column * kMistakeTileWidth, kMistakesTitleHeight + row * kMistakeTileHeight},
             class_names);
  }
  return image;
}

}  // namespace pipeline::cnn::report
