#include "stages/transforms/digit_layout.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace pipeline {
namespace {

// A group is cut only when it is at least this many digit widths wide: one in a hundred MNIST
// digits is wider than 1.4 times its height (a sprawling 2 or 4), half of all touching pairs.
constexpr double kSplitWidths = 1.9;
// A cut needs a column holding at most this fraction of the group's typical column ink.
constexpr double kValley = 0.45;
// Each side of a cut must hold ink over at least this fraction of the group's height.
constexpr double kPartHeight = 0.6;

// The number of rows holding ink within columns [begin, end) of `mask`.
int InkHeight(const cv::Mat& mask, int begin, int end) {
  int top = mask.rows, bottom = -1;
  for (int r = 0; r < mask.rows; ++r) {
    const uint8_t* row = mask.ptr<uint8_t>(r);
    if (std::any_of(row + begin, row + end, [](uint8_t v) { return v != 0; })) {
      top = std::min(top, r);
      bottom = r;
    }
  }
  return bottom < top ? 0 : bottom - top + 1;
}

int VerticalOverlap(const cv::Rect& a, const cv::Rect& b) {
  return std::max(0, std::min(a.y + a.height, b.y + b.height) - std::max(a.y, b.y));
}

}  // namespace

std::vector<int> TouchingDigitCuts(const cv::Mat& mask, double digit_width) {
  std::vector<int> cuts;
  if (mask.empty() || digit_width <= 0 || mask.cols < kSplitWidths * digit_width) return cuts;
  std::vector<double> ink(static_cast<size_t>(mask.cols), 0.0);
  for (int r = 0; r < mask.rows; ++r) {
    const uint8_t* row = mask.ptr<uint8_t>(r);
    for (int c = 0; c < mask.cols; ++c) ink[static_cast<size_t>(c)] += row[c] != 0;
  }
  // Smoothed over three columns: one stray pixel does not make or break a valley.
  std::vector<double> smooth(ink.size());
  for (size_t c = 0; c < ink.size(); ++c) {
    const size_t lo = c == 0 ? 0 : c - 1, hi = std::min(ink.size() - 1, c + 1);
    smooth[c] = (ink[lo] + ink[c] + ink[hi]) / 3.0;
  }
  std::vector<double> sorted = smooth;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  const double typical = sorted[sorted.size() / 2];
  const int parts = std::clamp(static_cast<int>(std::lround(mask.cols / digit_width)), 2, 8);
  const double step = static_cast<double>(mask.cols) / parts;
  int previous = 0;
  for (int k = 1; k < parts; ++k) {
    // Search the middle of the span between the previous cut and the next expected digit's end.
    const int lo = std::max(previous + static_cast<int>(0.5 * step), 1);
    const int hi = std::min(static_cast<int>(k * step + 0.5 * step), mask.cols - 2);
    if (lo > hi) continue;
    int best = lo;
    for (int c = lo; c <= hi; ++c) {
      if (smooth[static_cast<size_t>(c)] < smooth[static_cast<size_t>(best)]) best = c;
    }
    if (smooth[static_cast<size_t>(best)] > kValley * typical) continue;
    // Both sides must stand as tall as a digit: cutting a wide 2 or 7 leaves its tail or bar,
    // a short piece, on one side.
    const int next = std::min(mask.cols, best + static_cast<int>(step));
    if (InkHeight(mask, previous, best) < kPartHeight * mask.rows ||
        InkHeight(mask, best, next) < kPartHeight * mask.rows) {
      continue;
    }
    cuts.push_back(best);
    previous = best;
  }
  return cuts;
}

double TypicalDigitWidth(const std::vector<cv::Rect>& boxes, size_t index) {
  const cv::Rect& box = boxes[index];
  std::vector<int> widths;
  for (size_t i = 0; i < boxes.size(); ++i) {
    if (i != index && 2 * VerticalOverlap(boxes[i], box) >= std::min(boxes[i].height, box.height))
      widths.push_back(boxes[i].width);
  }
  const double alone = 0.75 * box.height;  // a handwritten digit's width for its height
  if (widths.size() < 2) return alone;
  std::nth_element(widths.begin(), widths.begin() + widths.size() / 2, widths.end());
  // A row of 1s does not make every wider digit two.
  return std::max(0.5 * box.height, static_cast<double>(widths[widths.size() / 2]));
}

std::vector<int> RowsOf(const std::vector<cv::Rect>& boxes) {
  // Tallest first: a row is anchored by its full-height digits, so a short digit (a small 0
  // beside tall ones) joins the row it overlaps rather than starting its own.
  std::vector<int> order(boxes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return boxes[a].height > boxes[b].height; });
  std::vector<cv::Rect> row_spans;  // vertical extent of each row's anchor
  std::vector<int> row_of(boxes.size(), -1);
  for (int i : order) {
    const cv::Rect& box = boxes[static_cast<size_t>(i)];
    for (size_t r = 0; r < row_spans.size(); ++r) {
      if (2 * VerticalOverlap(box, row_spans[r]) >= std::min(box.height, row_spans[r].height)) {
        row_of[static_cast<size_t>(i)] = static_cast<int>(r);
        break;
      }
    }
    if (row_of[static_cast<size_t>(i)] < 0) {
      row_of[static_cast<size_t>(i)] = static_cast<int>(row_spans.size());
      row_spans.push_back(box);
    }
  }
  // Number the rows top to bottom by their anchors' centres.
  std::vector<int> by_height(row_spans.size());
  std::iota(by_height.begin(), by_height.end(), 0);
  std::sort(by_height.begin(), by_height.end(), [&](int a, int b) {
    return 2 * row_spans[a].y + row_spans[a].height < 2 * row_spans[b].y + row_spans[b].height;
  });
  std::vector<int> rank(row_spans.size());
  for (size_t k = 0; k < by_height.size(); ++k) rank[static_cast<size_t>(by_height[k])] = k;
  for (int& row : row_of) row = rank[static_cast<size_t>(row)];
  return row_of;
}

std::vector<int> ReadingOrder(const std::vector<cv::Rect>& boxes, const std::vector<int>& rows) {
  std::vector<int> order(boxes.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    if (rows[a] != rows[b]) return rows[a] < rows[b];
    return 2 * boxes[a].x + boxes[a].width < 2 * boxes[b].x + boxes[b].width;
  });
  return order;
}

}  // namespace pipeline
