// confusion.png: the confusion matrix as a heat map with the count in every cell.
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "metrics.pb.h"

namespace pipeline::cnn::report {

// The cell side for `classes` classes (smaller for many classes, so the image stays on screen).
int ConfusionCellSize(int classes);

// Rows are true classes, columns predicted ones. Correct answers (the diagonal) are shaded blue
// by the share of their class they make up, mistakes red by their count relative to the largest
// mistake, so that even a single mistake shows. Throws std::invalid_argument when `metrics`
// holds no confusion matrix (classes x classes counts).
// Rows are labelled with the class names when given (columns with the numbers, since names do
// not fit under narrow cells: "0 T-shirt/top" on the row says which is which).
cv::Mat DrawConfusion(const proto::EpochMetrics& metrics,
                      const std::vector<std::string>& class_names = {});

}  // namespace pipeline::cnn::report
