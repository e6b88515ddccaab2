// curves.png: loss and accuracy per epoch for the train, validation and test series.
#pragma once

#include <opencv2/core.hpp>
#include <vector>

#include "metrics.pb.h"

namespace pipeline::cnn::report {

inline constexpr int kCurvesWidth = 1000;
inline constexpr int kCurvesHeight = 480;

// Two panels side by side, loss on the left and accuracy (%) on the right, epochs 1-based on x.
// A series appears when at least one epoch has it (validation and test are optional).
cv::Mat DrawCurves(const std::vector<proto::EpochMetrics>& epochs);

}  // namespace pipeline::cnn::report
