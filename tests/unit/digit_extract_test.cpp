// digit_extract on photos made from real MNIST test digits (tools/digit_photos.h): one sample per
// digit, left to right, boxes where the digits are, MNIST's own normalization (20 px box, centre
// of mass at (14, 14)), likeness to the source digit, inversion, blank pages.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <opencv2/imgproc.hpp>
#include <random>
#include <string>
#include <vector>

#include "pipeline/payloads.h"
#include "stages/transforms/digit_extraction.h"
#include "tests/unit/mnist_test_set.h"
#include "tests/unit/stage_test_util.h"
#include "tools/digit_photos.h"

namespace pipeline {
namespace {

using stage_test::OpenStage;
using stage_test::RecordingEmitter;
using stage_test::StandardRegistry;

class DigitExtractTest : public ::testing::Test {
 protected:
  static cv::Mat Mnist(int index) { return mnist_test::Images().image(index); }
  static int Label(int index) { return mnist_test::Labels()[static_cast<size_t>(index)]; }

  // Runs the digit_extract stage on one sample; returns what it emitted.
  static std::vector<std::shared_ptr<const Sample>> Extract(std::shared_ptr<const Sample> in) {
    const Registry registry = StandardRegistry();
    auto stage = OpenStage(registry, "digit_extract");
    RecordingEmitter out;
    stage->process(Message{3, 17, 0, in}, out);
    std::vector<std::shared_ptr<const Sample>> samples;
    for (const auto& event : out.events) {
      EXPECT_EQ(event.epoch, 3);
      EXPECT_EQ(event.index, 17);
      samples.push_back(std::dynamic_pointer_cast<const Sample>(event.payload));
    }
    return samples;
  }

  static std::shared_ptr<Sample> Photo(const cv::Mat& image, int label = -1) {
    auto sample = std::make_shared<Sample>();
    sample->image = image;
    sample->label = label;
    sample->source = "photo.jpg";
    sample->epoch_size = 9;
    sample->origin = std::make_shared<const cv::Mat>(image);
    return sample;
  }
};

double Correlation(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat fa, fb;
  a.convertTo(fa, CV_64F);
  b.convertTo(fb, CV_64F);
  cv::Scalar ma, sa, mb, sb;
  cv::meanStdDev(fa, ma, sa);
  cv::meanStdDev(fb, mb, sb);
  return cv::mean((fa - ma[0]).mul(fb - mb[0]))[0] / (sa[0] * sb[0]);
}

cv::Point2d CentreOfMass(const cv::Mat& image) {
  const cv::Moments m = cv::moments(image);
  return {m.m10 / m.m00, m.m01 / m.m00};
}

double Iou(const cv::Rect& a, const cv::Rect& b) {
  const double inter = (a & b).area();
  return inter / (a.area() + b.area() - inter);
}

TEST_F(DigitExtractTest, PhotoOfOneDigitBecomesItsMnistImage) {
  std::mt19937_64 rng(11);
  std::vector<double> correlations;
  constexpr int kPhotos = 40;
  for (int i = 0; i < kPhotos; ++i) {
    const cv::Mat mnist = Mnist(i);
    const photos::Photo photo = photos::Render(photos::SingleDigitScene(mnist, Label(i), rng), rng);
    const auto samples = Extract(Photo(photo.image, Label(i)));
    ASSERT_EQ(samples.size(), 1u) << "photo " << i;
    const Sample& digit = *samples[0];
    SCOPED_TRACE("photo " + std::to_string(i));
    EXPECT_EQ(digit.error, "");
    ASSERT_EQ(digit.image.type(), CV_8UC1);
    ASSERT_EQ(digit.image.size(), cv::Size(28, 28));
    EXPECT_EQ(digit.label, Label(i));
    EXPECT_EQ(digit.part, 0);
    EXPECT_EQ(digit.parts, 1);
    EXPECT_EQ(digit.source, "photo.jpg");
    EXPECT_EQ(digit.epoch_size, 9);
    EXPECT_GT(Iou(digit.box, photo.boxes[0]), 0.6);
    // MNIST's normalization: longest side 20 px, centre of mass in the middle, black border.
    const cv::Rect ink = cv::boundingRect(digit.image > 0);
    EXPECT_LE(std::max(ink.width, ink.height), 21);
    EXPECT_GE(std::max(ink.width, ink.height), 19);
    const cv::Point2d centre = CentreOfMass(digit.image);
    EXPECT_NEAR(centre.x, 14, 1.0);
    EXPECT_NEAR(centre.y, 14, 1.0);
    double strongest = 0;
    cv::minMaxLoc(digit.image, nullptr, &strongest);
    EXPECT_GE(strongest, 250);  // strokes saturate, like MNIST's
    // Grey levels survive (anti-aliased edges), it is not a binary image.
    const int greys = cv::countNonZero((digit.image > 30) & (digit.image < 225));
    EXPECT_GT(greys, 10);
    correlations.push_back(Correlation(digit.image, mnist));
  }
  // Photos are rotated, warped, blurred and compressed: most, not all, come back nearly
  // pixel-identical to the MNIST digit they were drawn from.
  std::sort(correlations.begin(), correlations.end());
  EXPECT_GT(correlations[kPhotos / 2], 0.85);  // median
  EXPECT_GT(correlations[kPhotos / 4], 0.75);  // lower quartile
  EXPECT_GT(correlations[0], 0.4);
}

TEST_F(DigitExtractTest, SeveralDigitsComeLeftToRightWithTheirBoxes) {
  std::mt19937_64 rng(5);
  for (int strip = 0; strip < 10; ++strip) {
    const int count = 2 + strip % 4;
    std::vector<cv::Mat> digits;
    std::vector<int> labels;
    for (int k = 0; k < count; ++k) {
      digits.push_back(Mnist(100 + strip * 5 + k));
      labels.push_back(Label(100 + strip * 5 + k));
    }
    const photos::Photo photo = photos::Render(photos::StripScene(digits, labels, rng), rng);
    const auto in = Photo(photo.image, 7);
    const auto samples = Extract(in);
    SCOPED_TRACE("strip " + std::to_string(strip));
    ASSERT_EQ(samples.size(), static_cast<size_t>(count));
    for (int k = 0; k < count; ++k) {
      const Sample& digit = *samples[static_cast<size_t>(k)];
      EXPECT_EQ(digit.part, k);
      EXPECT_EQ(digit.parts, count);
      EXPECT_EQ(digit.label, -1);  // the photo's label is not any one digit's
      EXPECT_EQ(digit.origin.get(), in->origin.get());
      EXPECT_GT(Iou(digit.box, photo.boxes[static_cast<size_t>(k)]), 0.6);
      if (k > 0) {
        EXPECT_GT(digit.box.x, samples[static_cast<size_t>(k - 1)]->box.x);
      }
      EXPECT_EQ(digit.image.size(), cv::Size(28, 28));
    }
  }
}

TEST_F(DigitExtractTest, NumbersTheLinesOfWritingTopToBottom) {
  std::mt19937_64 rng(21);
  // Two strips of real test digits, one above the other, as on a two-line sign.
  const photos::Photo top =
      photos::Render(photos::StripScene({Mnist(30), Mnist(31)}, {Label(30), Label(31)}, rng), rng);
  const photos::Photo bottom = photos::Render(
      photos::StripScene({Mnist(32), Mnist(33), Mnist(34)}, {Label(32), Label(33), Label(34)}, rng),
      rng);
  cv::Mat first = top.image, second = bottom.image;
  if (first.channels() != 1) cv::cvtColor(first, first, cv::COLOR_BGR2GRAY);
  if (second.channels() != 1) cv::cvtColor(second, second, cv::COLOR_BGR2GRAY);
  const int width = std::max(first.cols, second.cols);
  cv::copyMakeBorder(first, first, 0, 0, 0, width - first.cols, cv::BORDER_REPLICATE);
  cv::copyMakeBorder(second, second, 0, 0, 0, width - second.cols, cv::BORDER_REPLICATE);
  cv::Mat page;
  cv::vconcat(first, second, page);
  const auto samples = Extract(Photo(page));
  ASSERT_EQ(samples.size(), 5u);
  for (size_t k = 0; k < samples.size(); ++k) {
    EXPECT_EQ(samples[k]->row, k < 2 ? 0 : 1) << "digit " << k;
    EXPECT_EQ(samples[k]->part, static_cast<int>(k));
  }
}

TEST_F(DigitExtractTest, BlankPageGivesNoDigitFoundNotAGuess) {
  std::mt19937_64 rng(3);
  photos::Scene scene = photos::SingleDigitScene(Mnist(0), 7, rng);
  scene.digits.clear();
  scene.shadow_depth = 0.3;
  const photos::Photo blank = photos::Render(scene, rng);
  const auto in = Photo(blank.image, 4);
  const auto samples = Extract(in);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0]->error, "no digit found");
  EXPECT_TRUE(samples[0]->image.empty());
  EXPECT_EQ(samples[0]->origin.get(), in->origin.get());
  EXPECT_EQ(samples[0]->source, "photo.jpg");

  // A uniformly black frame (lens cap) is no digit either.
  EXPECT_EQ(Extract(Photo(cv::Mat(120, 160, CV_8UC3, cv::Scalar(0, 0, 0))))[0]->error,
            "no digit found");
}

TEST_F(DigitExtractTest, ReadsLightInkOnDarkAsWellAsDarkInkOnLight) {
  for (int i = 0; i < 10; ++i) {
    // MNIST itself, enlarged: white ink on black, as a screenshot would be.
    cv::Mat light_on_dark;
    cv::copyMakeBorder(Mnist(i), light_on_dark, 10, 10, 30, 5, cv::BORDER_CONSTANT, 0);
    cv::resize(light_on_dark, light_on_dark, cv::Size(), 5, 5, cv::INTER_CUBIC);
    const cv::Mat dark_on_light = 255 - light_on_dark;
    const auto from_light = Extract(Photo(light_on_dark));
    const auto from_dark = Extract(Photo(dark_on_light));
    ASSERT_EQ(from_light.size(), 1u);
    ASSERT_EQ(from_dark.size(), 1u);
    EXPECT_GT(Correlation(from_light[0]->image, Mnist(i)), 0.85) << i;
    EXPECT_GT(Correlation(from_dark[0]->image, from_light[0]->image), 0.95) << i;
  }
  // A 28x28 MNIST sample fed straight in comes out almost unchanged.
  const auto same = Extract(Photo(Mnist(3)));
  ASSERT_EQ(same.size(), 1u);
  EXPECT_GT(Correlation(same[0]->image, Mnist(3)), 0.9);
}

TEST_F(DigitExtractTest, IgnoresRuledLinesAndSpecksAndKeepsBrokenDigitsWhole) {
  std::mt19937_64 rng(8);
  // Find a 5 and a 7 in the test set.
  int five = 0, seven = 0;
  while (Label(five) != 5) ++five;
  while (Label(seven) != 7) ++seven;
  for (int index : {five, seven}) {
    cv::Mat broken = Mnist(index).clone();
    // Cut the digit in two with a gap of two rows below its top bar.
    const cv::Rect ink = cv::boundingRect(broken > 24);
    broken(cv::Rect(0, ink.y + 5, 28, 2)).setTo(0);
    photos::Scene scene = photos::SingleDigitScene(broken, Label(index), rng);
    const photos::Photo photo = photos::Render(scene, rng);
    cv::Mat page = photo.image.clone();
    const cv::Scalar ink_colour = page.channels() == 1 ? cv::Scalar(40) : cv::Scalar(40, 40, 40);
    // A ruled line across the page below the digit, and two specks of dust.
    const int line_y = std::min(page.rows - 3, photo.boxes[0].br().y + 3);
    cv::line(page, cv::Point(0, line_y), cv::Point(page.cols - 1, line_y), ink_colour, 2);
    cv::circle(page, cv::Point(4, 4), 1, ink_colour, cv::FILLED);
    cv::circle(page, cv::Point(page.cols - 5, 6), 1, ink_colour, cv::FILLED);
    const auto samples = Extract(Photo(page));
    ASSERT_EQ(samples.size(), 1u) << "label " << Label(index);
    EXPECT_GT(Iou(samples[0]->box, photo.boxes[0]), 0.6);
  }
}

TEST_F(DigitExtractTest, CanLetGoOfThePictureForLargeBatches) {
  std::mt19937_64 rng(2);
  const photos::Photo photo =
      photos::Render(photos::SingleDigitScene(Mnist(5), Label(5), rng), rng);
  const Registry registry = StandardRegistry();
  auto stage = OpenStage(registry, "digit_extract", {{"keep_origin", "false"}});
  RecordingEmitter out;
  stage->process(Message{0, 0, 0, Photo(photo.image)}, out);
  ASSERT_EQ(out.events.size(), 1u);
  const Sample& digit = out.messages()[0].as<Sample>();
  EXPECT_EQ(digit.image.size(), cv::Size(28, 28));
  EXPECT_FALSE(digit.origin);
}

TEST_F(DigitExtractTest, FindsSmallDigitsInALargeFrameAtFullDetail) {
  // A 640x480 camera frame: digits are found on a reduced copy and cut from the full frame.
  std::mt19937_64 rng(6);
  photos::Scene scene =
      photos::StripScene({Mnist(10), Mnist(11), Mnist(12)}, {Label(10), Label(11), Label(12)}, rng);
  scene.size = cv::Size(640, 480);
  double x = 150;
  for (auto& digit : scene.digits) {
    const double width = digit.box.width * 60 / digit.box.height;
    digit.box = cv::Rect2d(x, 200, width, 60);
    x += width + 40;
  }
  photos::RandomLook(scene, rng);
  const photos::Photo frame = photos::Render(scene, rng);
  const auto samples = Extract(Photo(frame.image));
  ASSERT_EQ(samples.size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_GT(Iou(samples[k]->box, frame.boxes[k]), 0.6) << k;
    EXPECT_GT(Correlation(samples[k]->image, Mnist(10 + static_cast<int>(k))), 0.7) << k;
  }
}

TEST_F(DigitExtractTest, ReadsDigitsCroppedTightlyAndIgnoresPageEdges) {
  int one = 0;
  while (Label(one) != 1) ++one;
  // A "1" cropped to its own ink, touching top and bottom.
  const cv::Mat mnist = Mnist(one);
  cv::Mat tight;
  cv::resize(255 - mnist(cv::boundingRect(mnist > 24)), tight, cv::Size(), 6, 6, cv::INTER_CUBIC);
  const auto from_tight = Extract(Photo(tight));
  ASSERT_EQ(from_tight.size(), 1u);
  EXPECT_EQ(from_tight[0]->error, "");
  EXPECT_GT(Correlation(from_tight[0]->image, mnist), 0.8);
  // A photo with the dark table showing along the left edge: the edge is not a digit.
  std::mt19937_64 rng(12);
  const photos::Photo photo =
      photos::Render(photos::SingleDigitScene(Mnist(3), Label(3), rng), rng);
  cv::Mat page = photo.image.clone();
  page(cv::Rect(0, 0, 4, page.rows)).setTo(cv::Scalar::all(30));
  const auto samples = Extract(Photo(page));
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_GT(Iou(samples[0]->box, photo.boxes[0]), 0.6);
}

TEST_F(DigitExtractTest, PassesErrorSamplesThroughUnchanged) {
  auto broken = std::make_shared<Sample>();
  broken->source = "broken.png";
  broken->error = "cannot decode: empty file";
  const auto samples = Extract(broken);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].get(), broken.get());
}

TEST(NormalizeDigitTest, ScalesTheLongestSideToTwentyAndCentresTheMass) {
  cv::Mat bar(90, 30, CV_8UC1, cv::Scalar(0));
  bar(cv::Rect(0, 0, 30, 90)).setTo(255);
  const cv::Mat digit = NormalizeDigit(bar);
  ASSERT_EQ(digit.size(), cv::Size(28, 28));
  const cv::Rect ink = cv::boundingRect(digit > 0);
  EXPECT_EQ(ink.height, 20);
  EXPECT_NEAR(ink.width, 7, 1);  // aspect ratio kept
  const cv::Moments m = cv::moments(digit);
  EXPECT_NEAR(m.m10 / m.m00, 14, 0.5);
  EXPECT_NEAR(m.m01 / m.m00, 14, 0.5);
  // Mass off to one side moves the box, not the centre of mass.
  cv::Mat lopsided(40, 40, CV_8UC1, cv::Scalar(0));
  lopsided(cv::Rect(0, 0, 40, 40)).setTo(40);
  lopsided(cv::Rect(0, 0, 10, 40)).setTo(255);
  const cv::Moments lm = cv::moments(NormalizeDigit(lopsided));
  EXPECT_NEAR(lm.m10 / lm.m00, 14, 0.5);
}

}  // namespace
}  // namespace pipeline
