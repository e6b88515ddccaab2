// One output row per photo or frame: what `predictions` writes, as CSV or JSON lines.
#pragma once

#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "stages/transforms/prediction_groups.h"

namespace pipeline {

struct DigitReading {
  int predicted = -1;
  float confidence = 0;
  std::vector<std::pair<int, float>> top;  // the most likely classes, most likely first
  cv::Rect box;
  int row = 0;  // the line of writing it is on, 0 = top
  // Its confidence is under the threshold the row was made with: written as "?" in the text.
  bool uncertain = false;
};

struct PredictionRow {
  std::string file;
  std::vector<DigitReading> digits;  // reading order; empty when the file failed
  std::string label;                 // the true digits when every part's label is known, else empty
  std::string error;                 // why the file (or one of its digits) could not be read
  // The model's class names (null: the classes are their numbers).
  std::shared_ptr<const std::vector<std::string>> class_names;

  // What was read, e.g. "42", "4?" when the second is uncertain: each class's name (or number),
  // run together when every name is one character, else separated by spaces ("12 3",
  // "Sneaker Bag").
  std::string text() const;
  bool correct() const { return !label.empty() && error.empty() && text() == label; }
};

// `uncertain_below`: digits read with a lower confidence are marked uncertain (0: none is).
PredictionRow MakeRow(const PredictionGroup& group, int top_count, float uncertain_below = 0);

std::string CsvHeader();
std::string CsvLine(const PredictionRow& row);
std::string JsonLine(const PredictionRow& row);

}  // namespace pipeline
