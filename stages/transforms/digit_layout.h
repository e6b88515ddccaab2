// Where digits sit relative to each other in a photo: which touching digits to cut apart, and
// which row each digit belongs to. Kept apart from the pixel work of digit_extraction.cpp: these
// are decisions about boxes and ink profiles only.
#pragma once

#include <opencv2/core.hpp>
#include <vector>

namespace pipeline {

// Columns at which to cut `mask` (CV_8UC1, a group of touching digits' ink, non-zero where ink
// is, cropped to the group's box) into separate digits, left to right; empty when it looks like
// one digit. Only a group about two `digit_width`s wide or more is cut: into as many parts as
// its width holds digits, each cut at the column with the least ink near where even spacing
// puts it, and only where that column is a clear valley (a touching joint, not a stroke along
// the row) with ink standing digit-tall on both sides (not a wide 2's tail or a 7's bar).
std::vector<int> TouchingDigitCuts(const cv::Mat& mask, double digit_width);

// The width a digit in `boxes[index]`'s row should have: the median width of the other digits
// on its row when it has at least two neighbours (the row's own spacing), otherwise three
// quarters of its height.
double TypicalDigitWidth(const std::vector<cv::Rect>& boxes, size_t index);

// The row of each box (0 = top): boxes whose vertical extents overlap by at least half the
// shorter one's height are on one row. Rows are numbered top to bottom.
std::vector<int> RowsOf(const std::vector<cv::Rect>& boxes);

// Reading order: by row, then left to right within the row (indices into `boxes`).
std::vector<int> ReadingOrder(const std::vector<cv::Rect>& boxes, const std::vector<int>& rows);

}  // namespace pipeline
