// random_affine (plugins/affine): what its warps do to real MNIST digits.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <opencv2/imgproc.hpp>
#include <string>

#include "tests/unit/augment_test_util.h"

namespace pipeline::augment_test {
namespace {

using ::testing::HasSubstr;

StageHarness AffineHarness(std::map<std::string, std::string> params) {
  params.emplace("probability", "1");
  return StageHarness(AugmentRegistry(), Spec("random_affine", params), 5);
}

// The largest pixel of the outermost one-pixel ring.
double LargestOnBorder(const cv::Mat& image) {
  const cv::Rect inside(1, 1, image.cols - 2, image.rows - 2);
  cv::Mat mask(image.size(), CV_8U, cv::Scalar(255));
  mask(inside).setTo(0);
  double largest = 0;
  cv::minMaxLoc(image, nullptr, &largest, nullptr, nullptr, mask);
  return largest;
}

// Warps that would push most digits out of the frame: big, turned, sheared, shifted far.
const std::map<std::string, std::string> kWildWarps = {
    {"max_rotation", "180"}, {"max_scale", "0.6"}, {"max_translation", "0.5"}, {"max_shear", "40"}};

TEST(AugmentAffineTest, KeepsTheDigitInsideTheFrame) {
  auto kept = kWildWarps;
  kept["keep_in_frame"] = "true";
  auto loose = kWildWarps;
  loose["keep_in_frame"] = "false";
  StageHarness keeping = AffineHarness(kept);
  StageHarness cutting = AffineHarness(loose);
  int cut_without = 0;
  for (int64_t i = 0; i < 300; ++i) {
    const auto sample = MnistSample(i);
    // MNIST digits sit in a 20x20 box in the middle; the few that touch the border anyway
    // (#26, #141, #262) are shrunk to fit, so theirs is empty afterwards too.
    const cv::Mat kept_image = Augment(keeping, 0, i, sample)->image;
    // At most a trace of what is too faint to count as ink (2% of 255) reaches the outermost
    // pixels; bilinear sampling's rim of real ink does not.
    EXPECT_LE(LargestOnBorder(kept_image), 5) << "sample " << i;
    // The digit is still there (shrunk by up to 0.4 x 0.4 in area, and by fitting).
    EXPECT_GT(InkSum(kept_image), 0.05 * InkSum(sample->image)) << "sample " << i;
    if (LargestOnBorder(Augment(cutting, 0, i, sample)->image) > 64) ++cut_without;
  }
  // The same warps without keep_in_frame cut most digits: the check above can fail.
  EXPECT_GT(cut_without, 150);
}

TEST(AugmentAffineTest, KeepsTheMarginFreeOfInk) {
  for (const int margin : {1, 4}) {
    auto params = kWildWarps;
    params["margin"] = std::to_string(margin);
    StageHarness keeping = AffineHarness(params);
    int touching = 0;
    for (int64_t i = 0; i < 200; ++i) {
      const cv::Mat image = Augment(keeping, 0, i, MnistSample(i))->image;
      const cv::Rect inside(margin, margin, 28 - 2 * margin, 28 - 2 * margin);
      cv::Mat in_margin = image.clone();
      in_margin(inside).setTo(0);
      double largest = 0;
      cv::minMaxLoc(in_margin, nullptr, &largest);
      EXPECT_LE(largest, 5) << "margin " << margin << ", sample " << i;
      // The ring just inside the margin is allowed ink, and the wild warps do put ink there.
      const cv::Rect ring(margin, margin, 28 - 2 * margin, 28 - 2 * margin);
      const cv::Rect ring_inside(margin + 1, margin + 1, 26 - 2 * margin, 26 - 2 * margin);
      cv::Mat just_inside = image(ring).clone();
      just_inside(ring_inside - ring.tl()).setTo(0);
      cv::minMaxLoc(just_inside, nullptr, &largest);
      if (largest > 64) ++touching;
    }
    EXPECT_GT(touching, 20) << "margin " << margin;
  }
}

TEST(AugmentAffineTest, KeepsTheDigitInsideTheFrameAfterNormalize) {
  StageHarness keeping = AffineHarness(kWildWarps);
  for (int64_t i = 0; i < 100; ++i) {
    const auto sample = MnistSample(i, Form::kFloat);
    double background = 0;
    cv::minMaxLoc(sample->image, &background);
    const cv::Mat image = Augment(keeping, 0, i, sample)->image;
    // Uncovered pixels get the background, not 0 (which is grey after normalize).
    EXPECT_LE(LargestOnBorder(image), background + 5 / 255.0 / 0.3081) << "sample " << i;
  }
}

TEST(AugmentAffineTest, NoRangeMeansNoChange) {
  // (keep_in_frame off: with it, a digit whose ink reaches into the margin is moved in even by
  // the identity warp.)
  StageHarness still = AffineHarness({{"max_rotation", "0"},
                                      {"max_scale", "0"},
                                      {"max_translation", "0"},
                                      {"max_shear", "0"},
                                      {"keep_in_frame", "false"}});
  for (int64_t i = 0; i < 20; ++i) {
    for (const Form form : {Form::kBytes, Form::kFloat}) {
      const auto sample = MnistSample(i, form);
      EXPECT_TRUE(SameImage(Augment(still, 0, i, sample)->image, sample->image)) << i;
    }
  }
}

TEST(AugmentAffineTest, RotationMovesInkButKeepsItsAmount) {
  StageHarness rotating = AffineHarness({{"max_rotation", "30"},
                                         {"max_scale", "0"},
                                         {"max_translation", "0"},
                                         {"max_shear", "0"},
                                         {"keep_in_frame", "false"}});
  double largest_turn = 0;
  for (int64_t i = 0; i < 100; ++i) {
    const auto sample = MnistSample(i);
    const cv::Mat image = Augment(rotating, 0, i, sample)->image;
    // A rotation about the centre keeps the ink (MNIST leaves room to turn in)...
    EXPECT_NEAR(InkSum(image), InkSum(sample->image), 0.06 * InkSum(sample->image)) << i;
    // ...and its centre of mass at the same distance from the image centre, within a pixel.
    const cv::Moments before = cv::moments(sample->image), after = cv::moments(image);
    const cv::Point2d centre(13.5, 13.5);
    const cv::Point2d mass_before(before.m10 / before.m00, before.m01 / before.m00);
    const cv::Point2d mass_after(after.m10 / after.m00, after.m01 / after.m00);
    EXPECT_NEAR(cv::norm(mass_after - centre), cv::norm(mass_before - centre), 1.0) << i;
    // The orientation of the ink's main axis turns by at most 30 degrees (mod 180).
    auto axis = [](const cv::Moments& m) { return 0.5 * std::atan2(2 * m.mu11, m.mu20 - m.mu02); };
    double turn = std::abs(axis(after) - axis(before)) * 180 / CV_PI;
    turn = std::min(turn, 180 - turn);
    EXPECT_LE(turn, 31) << "sample " << i;
    largest_turn = std::max(largest_turn, turn);
  }
  EXPECT_GT(largest_turn, 20);
}

// Fashion-MNIST and photos fill the frame: keep_in_frame must not shrink them to fit a margin
// they never had (it once did, even at max_scale 0, and the model trained on pictures ~20%
// smaller than the test set's). Such images are warped exactly as without keep_in_frame.
TEST(AugmentAffineTest, FullFramePicturesAreWarpedAsDrawn) {
  const std::map<std::string, std::string> shifts = {
      {"max_rotation", "10"}, {"max_scale", "0"}, {"max_translation", "0.1"}, {"max_shear", "0"}};
  auto kept = shifts;
  kept["keep_in_frame"] = "true";
  auto loose = shifts;
  loose["keep_in_frame"] = "false";
  StageHarness keeping = AffineHarness(kept);
  StageHarness plain = AffineHarness(loose);
  for (int64_t i = 0; i < 50; ++i) {
    const auto digit = MnistSample(i);
    // The digit's middle 16x16 blown up to the whole frame: ink on every edge.
    auto full_frame = digit->with_image(cv::Mat());
    cv::resize(digit->image(cv::Rect(6, 6, 16, 16)), full_frame->image, digit->image.size());
    cv::Mat frame = full_frame->image.clone();
    frame.setTo(255, frame < 40);  // a light background reaching every border
    full_frame->image = frame;
    EXPECT_TRUE(SameImage(Augment(keeping, 0, i, full_frame)->image,
                          Augment(plain, 0, i, full_frame)->image))
        << "sample " << i;
  }
  // A centred MNIST digit under the same draws is still kept in (the check above can fail).
  int moved = 0;
  for (int64_t i = 0; i < 50; ++i) {
    const auto digit = MnistSample(i);
    if (!SameImage(Augment(keeping, 0, i, digit)->image, Augment(plain, 0, i, digit)->image)) {
      ++moved;
    }
  }
  EXPECT_GT(moved, 5);
}

TEST(AugmentAffineTest, MirrorsLeftToRightWhenAsked) {
  const std::map<std::string, std::string> still = {{"max_rotation", "0"},
                                                    {"max_scale", "0"},
                                                    {"max_translation", "0"},
                                                    {"max_shear", "0"},
                                                    {"keep_in_frame", "false"}};
  auto always = still;
  always["mirror"] = "1";
  StageHarness mirroring = AffineHarness(always);
  for (int64_t i = 0; i < 10; ++i) {
    const auto sample = MnistSample(i);
    cv::Mat flipped;
    cv::flip(sample->image, flipped, 1);
    EXPECT_TRUE(SameImage(Augment(mirroring, 0, i, sample)->image, flipped)) << i;
  }
  // Half the time at 0.5, and the same samples on a second run (seeded per sample).
  auto half = still;
  half["mirror"] = "0.5";
  StageHarness sometimes = AffineHarness(half);
  int mirrored = 0;
  for (int64_t i = 0; i < 200; ++i) {
    const auto sample = MnistSample(i);
    const cv::Mat once = Augment(sometimes, 0, i, sample)->image;
    EXPECT_TRUE(SameImage(once, Augment(sometimes, 0, i, sample)->image)) << i;
    if (!SameImage(once, sample->image)) ++mirrored;
  }
  EXPECT_GT(mirrored, 70);
  EXPECT_LT(mirrored, 130);
}

TEST(AugmentAffineTest, RefusesParametersOutsideTheirRanges) {
  const std::map<std::string, std::string> bad[] = {
      {{"max_rotation", "181"}}, {{"max_scale", "1"}},         {{"max_translation", "-0.1"}},
      {{"max_shear", "61"}},     {{"keep_in_frame", "maybe"}}, {{"fill", "mean"}},
      {{"margin", "0"}},         {{"margin", "11"}},           {{"mirror", "1.5"}},
  };
  for (const auto& params : bad) {
    const std::string name = params.begin()->first;
    try {
      AffineHarness(params);
      ADD_FAILURE() << name << " = " << params.begin()->second << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr(name));
    }
  }
}

}  // namespace
}  // namespace pipeline::augment_test
