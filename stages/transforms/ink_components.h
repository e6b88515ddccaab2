// The 8-connected components of a thresholded picture, found from its runs of ink. Ink covers a
// small part of a photo of digits, so working on runs (a few per row) instead of pixels makes
// this several times faster than cv::connectedComponentsWithStats, and a component's mask is
// painted from its runs rather than compared out of a label image.
#pragma once

#include <opencv2/core.hpp>
#include <vector>

namespace pipeline {

struct InkComponent {
  cv::Rect box;
  int area = 0;  // pixels
};

class InkComponents {
 public:
  // `binary`: CV_8UC1, ink where non-zero.
  explicit InkComponents(const cv::Mat& binary);

  // Numbered from 0, in the order of their first (top-most, then left-most) pixel.
  const std::vector<InkComponent>& components() const { return components_; }

  // CV_8UC1 of `region`'s size: 255 where a pixel of one of the components `ids` lies.
  cv::Mat Mask(const std::vector<int>& ids, cv::Rect region) const;

 private:
  struct Run {
    int row = 0, begin = 0, end = 0;  // [begin, end) on `row`
    int component = 0;                // a union-find parent while labelling, then the id
  };
  std::vector<Run> runs_;
  std::vector<InkComponent> components_;
};

}  // namespace pipeline
