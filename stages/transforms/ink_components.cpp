#include "stages/transforms/ink_components.h"

#include <algorithm>
#include <numeric>

namespace pipeline {
namespace {

int Root(std::vector<int>& parent, int i) {
  while (parent[i] != i) i = parent[i] = parent[parent[i]];
  return i;
}

}  // namespace

InkComponents::InkComponents(const cv::Mat& binary) {
  CV_Assert(binary.type() == CV_8UC1);
  std::vector<int> parent;
  size_t previous_begin = 0, previous_end = 0;  // the previous row's runs in runs_
  for (int r = 0; r < binary.rows; ++r) {
    const uint8_t* row = binary.ptr<uint8_t>(r);
    const size_t row_begin = runs_.size();
    for (int c = 0; c < binary.cols;) {
      if (row[c] == 0) {
        ++c;
        continue;
      }
      const int begin = c;
      while (c < binary.cols && row[c] != 0) ++c;
      const int id = static_cast<int>(parent.size());
      parent.push_back(id);
      runs_.push_back({r, begin, c, id});
    }
    // 8-connected: a run touches a run above that overlaps it or meets it at a corner. Both
    // rows' runs are sorted, so one sweep pairs them.
    size_t above = previous_begin;
    for (size_t i = row_begin; i < runs_.size(); ++i) {
      const Run& run = runs_[i];
      while (above < previous_end && runs_[above].end < run.begin) ++above;
      for (size_t k = above; k < previous_end && runs_[k].begin <= run.end; ++k) {
        const int a = Root(parent, run.component), b = Root(parent, runs_[k].component);
        if (a != b) parent[std::max(a, b)] = std::min(a, b);
      }
    }
    previous_begin = row_begin;
    previous_end = runs_.size();
  }
  // Roots are the smallest run index of their component, so numbering roots in run order
  // numbers components by their first pixel.
  std::vector<int> id_of_root(parent.size(), -1);
  for (Run& run : runs_) {
    const int root = Root(parent, run.component);
    if (id_of_root[root] < 0) {
      id_of_root[root] = static_cast<int>(components_.size());
      components_.push_back({cv::Rect(run.begin, run.row, run.end - run.begin, 1), 0});
    }
    run.component = id_of_root[root];
    InkComponent& component = components_[run.component];
    component.box |= cv::Rect(run.begin, run.row, run.end - run.begin, 1);
    component.area += run.end - run.begin;
  }
}

cv::Mat InkComponents::Mask(const std::vector<int>& ids, cv::Rect region) const {
  cv::Mat mask(region.size(), CV_8UC1, cv::Scalar(0));
  for (const Run& run : runs_) {
    if (run.row < region.y || run.row >= region.y + region.height) continue;
    if (std::find(ids.begin(), ids.end(), run.component) == ids.end()) continue;
    const int begin = std::max(run.begin, region.x);
    const int end = std::min(run.end, region.x + region.width);
    if (begin < end) {
      std::fill_n(mask.ptr<uint8_t>(run.row - region.y) + (begin - region.x), end - begin, 255);
    }
  }
  return mask;
}

}  // namespace pipeline
