// InkComponents must find exactly the components OpenCV's labelling finds (8-connected), in the
// same order, and paint each one's mask from its runs.
#include "stages/transforms/ink_components.h"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>
#include <random>
#include <vector>

namespace pipeline {
namespace {

TEST(InkComponentsTest, MatchesOpenCvLabellingOnRandomInk) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 200; ++trial) {
    const int rows = 1 + static_cast<int>(rng() % 60), cols = 1 + static_cast<int>(rng() % 60);
    cv::Mat noise(rows, cols, CV_8UC1);
    cv::randu(noise, 0, 256);
    // From sparse specks to mostly ink, so components merge through corners and long runs.
    const int level = static_cast<int>(rng() % 256);
    const cv::Mat binary = noise < level;
    cv::Mat labels, stats, centroids;
    const int count = cv::connectedComponentsWithStats(binary, labels, stats, centroids, 8, CV_32S);
    const InkComponents ink(binary);
    ASSERT_EQ(static_cast<int>(ink.components().size()), count - 1) << "trial " << trial;
    const cv::Rect whole(0, 0, cols, rows);
    for (size_t k = 0; k < ink.components().size(); ++k) {
      // The same pixels as one of OpenCV's components (numbered differently: it labels 2x2
      // blocks), with its box and area.
      const cv::Mat mask = ink.Mask({static_cast<int>(k)}, whole);
      std::vector<cv::Point> pixels;
      cv::findNonZero(mask, pixels);
      ASSERT_FALSE(pixels.empty());
      const int label = labels.at<int>(pixels.front());
      ASSERT_GT(label, 0);
      EXPECT_EQ(cv::countNonZero(mask != (labels == label)), 0) << "trial " << trial;
      const int* s = stats.ptr<int>(label);
      const InkComponent& found = ink.components()[k];
      EXPECT_EQ(found.box, cv::Rect(s[cv::CC_STAT_LEFT], s[cv::CC_STAT_TOP], s[cv::CC_STAT_WIDTH],
                                    s[cv::CC_STAT_HEIGHT]));
      EXPECT_EQ(found.area, s[cv::CC_STAT_AREA]);
      // Within a region cutting through the picture, too.
      const cv::Rect region(cols / 4, rows / 4, cols - cols / 4, rows - rows / 4);
      EXPECT_EQ(cv::countNonZero(ink.Mask({static_cast<int>(k)}, region) != mask(region)), 0);
    }
    // Numbered in the order of their first pixel, top to bottom, left to right.
    for (size_t k = 1; k < ink.components().size(); ++k) {
      const cv::Rect& a = ink.components()[k - 1].box;
      const cv::Rect& b = ink.components()[k].box;
      EXPECT_LE(a.y, b.y);
    }
  }
}

TEST(InkComponentsTest, CornersConnectAndMasksCombine) {
  cv::Mat binary = (cv::Mat_<uint8_t>(4, 6) << 255, 0, 0, 0, 0, 255,  //
                    0, 255, 0, 0, 0, 255,                             //
                    0, 0, 0, 0, 0, 0,                                 //
                    255, 255, 255, 0, 0, 0);
  const InkComponents ink(binary);
  ASSERT_EQ(ink.components().size(), 3u);
  EXPECT_EQ(ink.components()[0].box, cv::Rect(0, 0, 2, 2));  // joined through the corner
  EXPECT_EQ(ink.components()[0].area, 2);
  EXPECT_EQ(ink.components()[1].box, cv::Rect(5, 0, 1, 2));
  EXPECT_EQ(ink.components()[2].box, cv::Rect(0, 3, 3, 1));
  const cv::Mat both = ink.Mask({0, 2}, cv::Rect(0, 0, 6, 4));
  EXPECT_EQ(cv::countNonZero(both), 5);
  EXPECT_EQ(both.at<uint8_t>(1, 1), 255);
  EXPECT_EQ(both.at<uint8_t>(0, 5), 0);
}

}  // namespace
}  // namespace pipeline
