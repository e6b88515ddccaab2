// stroke (plugins/stroke): thicker and thinner pen strokes on real MNIST digits.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <opencv2/imgproc.hpp>
#include <string>

#include "tests/unit/augment_test_util.h"

namespace pipeline::augment_test {
namespace {

using ::testing::HasSubstr;

StageHarness StrokeHarness(std::map<std::string, std::string> params) {
  params.emplace("probability", "1");
  return StageHarness(AugmentRegistry(), Spec("stroke", params), 11);
}

TEST(AugmentStrokeTest, ThickeningOnlyAddsInk) {
  StageHarness thicker = StrokeHarness({{"thicken_probability", "1"}});
  for (const Form form : {Form::kBytes, Form::kFloat}) {
    for (int64_t i = 0; i < 100; ++i) {
      const auto sample = MnistSample(i, form);
      const cv::Mat image = Augment(thicker, 0, i, sample)->image;
      // Dilation never darkens a pixel, and some pixels next to the strokes light up.
      EXPECT_EQ(cv::countNonZero(image < sample->image), 0) << "sample " << i;
      EXPECT_GT(cv::countNonZero(image > sample->image), 5) << "sample " << i;
    }
  }
}

TEST(AugmentStrokeTest, ThinningOnlyRemovesInk) {
  StageHarness thinner = StrokeHarness({{"thicken_probability", "0"}});
  for (const Form form : {Form::kBytes, Form::kFloat}) {
    for (int64_t i = 0; i < 100; ++i) {
      const auto sample = MnistSample(i, form);
      const cv::Mat image = Augment(thinner, 0, i, sample)->image;
      EXPECT_EQ(cv::countNonZero(image > sample->image), 0) << "sample " << i;
      EXPECT_GT(cv::countNonZero(image < sample->image), 5) << "sample " << i;
    }
  }
}

TEST(AugmentStrokeTest, OneWholePixelIsOneCrossDilation) {
  // max_thicken 1 draws amounts in (0, 1]; a reference dilation by one 3x3 cross bounds them all,
  // and the amount drawn sets how far the result goes towards it.
  StageHarness thicker = StrokeHarness({{"thicken_probability", "1"}, {"max_thicken", "1"}});
  const cv::Mat cross = cv::getStructuringElement(cv::MORPH_CROSS, cv::Size(3, 3));
  int strong = 0;
  for (int64_t i = 0; i < 100; ++i) {
    const auto sample = MnistSample(i);
    cv::Mat full;
    cv::dilate(sample->image, full, cross);
    const cv::Mat image = Augment(thicker, 0, i, sample)->image;
    EXPECT_EQ(cv::countNonZero(image > full), 0) << "sample " << i;
    const double added = InkSum(image) - InkSum(sample->image);
    const double full_added = InkSum(full) - InkSum(sample->image);
    if (added > 0.5 * full_added) ++strong;
  }
  // Amounts are uniform in (0, 1]: about half add more than half of the full dilation.
  EXPECT_GT(strong, 30);
  EXPECT_LT(strong, 70);
}

TEST(AugmentStrokeTest, BothDirectionsHappenByDefault) {
  StageHarness either = StrokeHarness({});
  int thicker = 0, thinner = 0;
  for (int64_t i = 0; i < 200; ++i) {
    const auto sample = MnistSample(i);
    const double ink = InkSum(Augment(either, 0, i, sample)->image);
    if (ink > InkSum(sample->image)) ++thicker;
    if (ink < InkSum(sample->image)) ++thinner;
  }
  EXPECT_GT(thicker, 70);
  EXPECT_GT(thinner, 70);
}

TEST(AugmentStrokeTest, ThickenProbabilityDecidesTheDirection) {
  StageHarness mostly_thinner = StrokeHarness({{"thicken_probability", "0.2"}});
  const int count = 400;
  int thicker = 0, thinner = 0;
  for (int64_t i = 0; i < count; ++i) {
    const auto sample = MnistSample(i);
    const double ink = InkSum(Augment(mostly_thinner, 0, i, sample)->image);
    if (ink > InkSum(sample->image)) ++thicker;
    if (ink < InkSum(sample->image)) ++thinner;
  }
  // Every augmented digit moves one way or the other, one in five of them thicker.
  EXPECT_GE(thicker + thinner, count - 5);
  EXPECT_NEAR(static_cast<double>(thicker) / count, 0.2, 0.06);
}

TEST(AugmentStrokeTest, RefusesParametersOutsideTheirRanges) {
  const std::map<std::string, std::string> bad[] = {
      {{"max_thicken", "5"}}, {{"max_thin", "-1"}}, {{"thicken_probability", "1.1"}}};
  for (const auto& params : bad) {
    const std::string name = params.begin()->first;
    try {
      StrokeHarness(params);
      ADD_FAILURE() << name << " = " << params.begin()->second << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr(name));
    }
  }
}

}  // namespace
}  // namespace pipeline::augment_test
