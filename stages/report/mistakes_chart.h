// mistakes.png: the test samples the model got most confidently wrong, enlarged, each with its
// true label, the prediction and the confidence.
#pragma once

#include <opencv2/core.hpp>
#include <vector>

#include "stages/cnn/model_snapshot.h"

namespace pipeline::cnn::report {

inline constexpr int kMistakeColumns = 8;
inline constexpr int kMistakeTileWidth = 120;
inline constexpr int kMistakeTileHeight = 140;
inline constexpr int kMistakesTitleHeight = 48;

// A grid of kMistakeColumns tiles per row, in the given order; `epoch` (0-based) is named in the
// title. With no mistakes the image says so.
// Labels are class names when given, else the numbers.
cv::Mat DrawMistakes(const std::vector<Mistake>& mistakes, int64_t epoch,
                     const std::vector<std::string>& class_names = {});

}  // namespace pipeline::cnn::report
