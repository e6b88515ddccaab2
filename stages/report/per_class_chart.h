// per_class.png: each class's recall (the accuracy on that class's samples) and precision as
// bars with their values.
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "metrics.pb.h"

namespace pipeline::cnn::report {

inline constexpr int kPerClassHeight = 480;

// The image width for `classes` classes (1000 for up to 10; wider for more, so values fit).
int PerClassWidth(int classes);

// Throws std::invalid_argument when `metrics` holds no per-class figures.
// Each group is labelled with its class name when given, else "class N".
cv::Mat DrawPerClass(const proto::EpochMetrics& metrics,
                     const std::vector<std::string>& class_names = {});

}  // namespace pipeline::cnn::report
