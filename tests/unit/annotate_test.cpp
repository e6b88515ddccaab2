// annotate draws on a copy of the picture the digits came from: boxes and labels where the digits
// are, nothing elsewhere, one frame per photo whatever its number of digits.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "pipeline/payloads.h"
#include "tests/unit/stage_test_util.h"

namespace pipeline {
namespace {

using stage_test::OpenStage;
using stage_test::RecordingEmitter;
using stage_test::StandardRegistry;

std::shared_ptr<Prediction> Digit(std::shared_ptr<const cv::Mat> origin, cv::Rect box, int part,
                                  int parts, int predicted, float confidence) {
  auto p = std::make_shared<Prediction>();
  p->source = "frame#3";
  p->origin = std::move(origin);
  p->box = box;
  p->part = part;
  p->parts = parts;
  p->predicted = predicted;
  p->confidence = confidence;
  return p;
}

int ChangedPixels(const cv::Mat& a, const cv::Mat& b, cv::Rect region) {
  cv::Mat difference;
  cv::absdiff(a(region), b(region), difference);
  return cv::countNonZero(difference.reshape(1));
}

TEST(AnnotateTest, DrawsEachDigitOnACopyOfItsPictureAsOneFrame) {
  // A grey photo: annotate must return colour, and must not touch the original.
  cv::Mat photo(240, 320, CV_8UC1, cv::Scalar(200));
  const auto origin = std::make_shared<const cv::Mat>(photo);
  const cv::Mat before = photo.clone();
  const cv::Rect left(40, 80, 60, 90), right(180, 70, 50, 100);
  const Registry registry = StandardRegistry();
  auto stage = OpenStage(registry, "annotate", {{"fps", "false"}});
  RecordingEmitter out;
  stage->process({0, 3, 0, Digit(origin, left, 0, 2, 4, 0.98f)}, out);
  EXPECT_TRUE(out.events.empty());  // waits for the photo's second digit
  stage->process({0, 3, 0, Digit(origin, right, 1, 2, 7, 0.30f)}, out);
  ASSERT_EQ(out.events.size(), 1u);  // both parts arrived: one frame, at once
  EXPECT_EQ(out.events[0].index, 3);
  const Sample& frame = out.messages()[0].as<Sample>();
  EXPECT_EQ(frame.source, "frame#3");
  ASSERT_EQ(frame.image.type(), CV_8UC3);
  ASSERT_EQ(frame.image.size(), photo.size());
  EXPECT_EQ(cv::norm(photo, before, cv::NORM_INF), 0);

  cv::Mat grey_bgr;
  cv::cvtColor(photo, grey_bgr, cv::COLOR_GRAY2BGR);
  // The box outlines are drawn (pixels changed inside each box, on its border)...
  for (const cv::Rect& box : {left, right}) {
    EXPECT_GT(ChangedPixels(frame.image, grey_bgr, box), 2 * (box.width + box.height) / 2);
    // ...the inside of the box is left visible.
    const cv::Rect inner(box.x + 6, box.y + 6, box.width - 12, box.height - 12);
    EXPECT_EQ(ChangedPixels(frame.image, grey_bgr, inner), 0);
    // ...and the label sits just above it.
    EXPECT_GT(ChangedPixels(frame.image, grey_bgr, cv::Rect(box.x, box.y - 20, box.width, 18)), 20);
  }
  // A confident digit is green, a doubtful one orange.
  const cv::Vec3b sure = frame.image.at<cv::Vec3b>(left.y + left.height / 2, left.x);
  const cv::Vec3b unsure = frame.image.at<cv::Vec3b>(right.y + right.height / 2, right.x);
  EXPECT_GT(sure[1], sure[2]);
  EXPECT_GT(unsure[2], unsure[0]);
  // Far from the digits nothing changed.
  EXPECT_EQ(ChangedPixels(frame.image, grey_bgr, cv::Rect(250, 190, 60, 40)), 0);
}

TEST(AnnotateTest, ShowsErrorsAndPassesUnreadableFilesOn) {
  const auto origin = std::make_shared<const cv::Mat>(240, 320, CV_8UC3, cv::Scalar(220, 220, 220));
  const Registry registry = StandardRegistry();
  auto stage = OpenStage(registry, "annotate", {{"fps", "false"}});
  RecordingEmitter out;
  auto blank = std::make_shared<Prediction>();
  blank->source = "blank.jpg";
  blank->error = "no digit found";
  blank->origin = origin;
  stage->process({0, 0, 0, blank}, out);
  auto broken = std::make_shared<Prediction>();
  broken->source = "broken.png";
  broken->error = "cannot decode: empty file";
  stage->process({0, 1, 0, broken}, out);
  stage->close(out);
  const auto frames = out.messages();
  ASSERT_EQ(frames.size(), 2u);
  const Sample& shown = frames[0].as<Sample>();
  ASSERT_FALSE(shown.image.empty());
  EXPECT_GT(ChangedPixels(shown.image, *origin, cv::Rect(0, 200, 320, 40)), 50);  // the message
  const Sample& skipped = frames[1].as<Sample>();
  EXPECT_TRUE(skipped.image.empty());
  EXPECT_EQ(skipped.error, "cannot decode: empty file");
  EXPECT_EQ(skipped.source, "broken.png");
}

// Rows above `box` in which the label changed pixels: the label's height.
int LabelRows(const cv::Mat& image, const cv::Mat& original, const cv::Rect& box) {
  int rows = 0;
  for (int y = 0; y < box.y; ++y) {
    const cv::Rect row(box.x, y, std::min(image.cols - box.x, 200), 1);
    if (ChangedPixels(image, original, row) > 0) ++rows;
  }
  return rows;
}

TEST(AnnotateTest, LabelSizeFollowsTheDigitsHeightNotItsWidth) {
  const auto origin = std::make_shared<const cv::Mat>(480, 640, CV_8UC3, cv::Scalar(90, 90, 90));
  const cv::Rect narrow(100, 200, 12, 120), wide(400, 200, 90, 120);  // a "1" and a "0"
  const Registry registry = StandardRegistry();
  auto stage = OpenStage(registry, "annotate", {{"fps", "false"}});
  RecordingEmitter out;
  stage->process({0, 0, 0, Digit(origin, narrow, 0, 2, 1, 0.9f)}, out);
  stage->process({0, 0, 0, Digit(origin, wide, 1, 2, 0, 0.9f)}, out);
  ASSERT_EQ(out.messages().size(), 1u);
  const cv::Mat& image = out.messages()[0].as<Sample>().image;
  const int narrow_rows = LabelRows(image, *origin, narrow);
  EXPECT_GE(narrow_rows, 14) << "the narrow digit's label must stay readable";
  EXPECT_NEAR(narrow_rows, LabelRows(image, *origin, wide), 2);
}

TEST(AnnotateTest, DrawsTheFrameRate) {
  const auto origin = std::make_shared<const cv::Mat>(240, 320, CV_8UC3, cv::Scalar(90, 90, 90));
  const Registry registry = StandardRegistry();
  auto stage = OpenStage(registry, "annotate");
  RecordingEmitter out;
  for (int i = 0; i < 3; ++i) {
    stage->process({0, i, 0, Digit(origin, cv::Rect(200, 150, 40, 60), 0, 1, 1, 0.9f)}, out);
  }
  const auto frames = out.messages();
  ASSERT_EQ(frames.size(), 3u);
  const cv::Rect corner(0, 0, 120, 30);
  EXPECT_EQ(ChangedPixels(frames[0].as<Sample>().image, *origin, corner), 0);  // no rate yet
  EXPECT_GT(ChangedPixels(frames[2].as<Sample>().image, *origin, corner), 30);
}

}  // namespace
}  // namespace pipeline
