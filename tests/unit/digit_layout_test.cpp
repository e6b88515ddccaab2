// Where digits sit relative to each other (stages/transforms/digit_layout.h): touching digits cut
// apart at their joint, single wide digits left whole, rows numbered top to bottom and read left
// to right. The masks are real MNIST test digits.
#include "stages/transforms/digit_layout.h"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "tests/unit/mnist_test_set.h"

namespace pipeline {
namespace {

class DigitLayoutTest : public ::testing::Test {
 protected:
  // The digit's strokes, cropped to its ink.
  static cv::Mat Strokes(int index) {
    const cv::Mat mask = mnist_test::Images().image(index) > 100;
    return mask(cv::boundingRect(mask)).clone();
  }
};

// Two digits side by side, `overlap` columns of the second drawn over the first's last ones.
cv::Mat Touching(const cv::Mat& left, const cv::Mat& right, int overlap) {
  const int rows = std::max(left.rows, right.rows);
  cv::Mat both(rows, left.cols + right.cols - overlap, CV_8UC1, cv::Scalar(0));
  left.copyTo(both(cv::Rect(0, rows - left.rows, left.cols, left.rows)));
  cv::Mat under = both(cv::Rect(left.cols - overlap, rows - right.rows, right.cols, right.rows));
  cv::bitwise_or(under, right, under);
  return both;
}

TEST_F(DigitLayoutTest, CutsTouchingDigitsAtTheirJoint) {
  int cut_pairs = 0, near_joint = 0, pairs = 0;
  for (int i = 10; i < 60; i += 2) {
    const cv::Mat left = Strokes(i), right = Strokes(i + 1);
    if (left.cols < 0.5 * left.rows || right.cols < 0.5 * right.rows) continue;  // 1s, 7s
    ++pairs;
    const cv::Mat both = Touching(left, right, 1);
    // The width the row's other digits would give: these two's mean.
    const std::vector<int> cuts = TouchingDigitCuts(both, (left.cols + right.cols) / 2.0);
    if (cuts.size() != 1) continue;
    ++cut_pairs;
    near_joint += std::abs(cuts[0] - left.cols) <= 3;
  }
  // Cutting is cautious (a wrong cut turns one digit into two wrong ones): these pairs touch
  // along a stroke's length as often as at a point, and only clear joints are cut.
  ASSERT_GE(pairs, 10);
  EXPECT_GE(cut_pairs, 6);
  EXPECT_GE(2 * near_joint, cut_pairs);
}

TEST_F(DigitLayoutTest, LeavesEverySingleDigitWhole) {
  int cut = 0;
  for (int i = 0; i < 2000; ++i) {
    const cv::Mat digit = Strokes(i);
    cut += !TouchingDigitCuts(digit, 0.75 * digit.rows).empty();
  }
  EXPECT_LE(cut, 2) << "of 2000 MNIST test digits";
}

TEST_F(DigitLayoutTest, TheRowsSpacingDecidesWhatIsTooWide) {
  // A 0 as wide as two of its neighbours' 1s is one digit; beside 0s of its own width too.
  const cv::Mat zero = Strokes(3);
  const std::vector<cv::Rect> ones = {{0, 0, 8, 40}, {20, 0, 8, 40}, {40, 0, zero.cols, 40}};
  EXPECT_DOUBLE_EQ(TypicalDigitWidth(ones, 2), 0.5 * 40);  // 1s make no digit narrower than this
  const std::vector<cv::Rect> zeros = {{0, 0, 30, 40}, {40, 0, 30, 40}, {80, 0, 60, 40}};
  EXPECT_DOUBLE_EQ(TypicalDigitWidth(zeros, 2), 30);
  const std::vector<cv::Rect> alone = {{0, 0, 30, 40}};
  EXPECT_DOUBLE_EQ(TypicalDigitWidth(alone, 0), 30);
}

TEST(DigitRowsTest, NumbersRowsTopToBottomAndReadsEachLeftToRight) {
  // Second row given first; the small 0 sits low on the first row but belongs to it.
  const std::vector<cv::Rect> boxes = {
      {50, 120, 30, 40}, {10, 122, 30, 40}, {60, 10, 30, 40}, {10, 12, 30, 40}, {100, 30, 20, 22}};
  const std::vector<int> rows = RowsOf(boxes);
  EXPECT_EQ(rows, (std::vector<int>{1, 1, 0, 0, 0}));
  EXPECT_EQ(ReadingOrder(boxes, rows), (std::vector<int>{3, 2, 4, 1, 0}));
}

}  // namespace
}  // namespace pipeline
