// random_erasing (plugins/erasing): Zhong et al.'s random rectangle on real MNIST digits.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <opencv2/imgproc.hpp>
#include <string>

#include "tests/unit/augment_test_util.h"

namespace pipeline::augment_test {
namespace {

using ::testing::HasSubstr;

StageHarness ErasingHarness(std::map<std::string, std::string> params) {
  params.emplace("probability", "1");
  return StageHarness(AugmentRegistry(), Spec("random_erasing", params), 17);
}

TEST(AugmentErasingTest, SetsOneRectangleToTheFillValueAndNothingElse) {
  // 77 appears in few MNIST pixels, so the patch is where the image differs or equals 77.
  StageHarness erasing = ErasingHarness(
      {{"fill", "value"}, {"value", "77"}, {"min_area", "0.05"}, {"max_area", "0.2"}});
  for (int64_t i = 0; i < 200; ++i) {
    const auto sample = MnistSample(i);
    const cv::Mat image = Augment(erasing, 0, i, sample)->image;
    const cv::Rect patch = cv::boundingRect(image != sample->image);
    ASSERT_FALSE(patch.empty()) << "sample " << i;
    // Inside the changed region's bounding box every pixel is the fill value...
    EXPECT_EQ(cv::countNonZero(image(patch) != 77), 0) << "sample " << i;
    // ...and outside it nothing changed.
    cv::Mat outside = cv::Mat::ones(image.size(), CV_8U);
    outside(patch).setTo(0);
    EXPECT_EQ(cv::countNonZero((image != sample->image) & outside), 0) << "sample " << i;
    // The patch is at most as big as drawn (it may be larger than the changed region where it
    // covered pixels that were already 77).
    EXPECT_LE(patch.area(), 0.2 * 784 + 14) << "sample " << i;
  }
}

TEST(AugmentErasingTest, PatchAreasAndShapesFollowTheParameters) {
  // On a uniform image every patch pixel changes, so the changed region is the whole patch.
  StageHarness erasing = ErasingHarness({{"fill", "value"},
                                         {"value", "255"},
                                         {"min_area", "0.1"},
                                         {"max_area", "0.2"},
                                         {"min_aspect", "0.5"}});
  auto blank = MnistSample(0);
  blank->image = cv::Mat::zeros(28, 28, CV_8U);
  double smallest = 1, largest = 0;
  for (int64_t i = 0; i < 300; ++i) {
    const cv::Rect patch = cv::boundingRect(Augment(erasing, 0, i, blank)->image);
    const double area = patch.area() / 784.0;
    const double aspect = static_cast<double>(patch.height) / patch.width;
    // Rounding the sides to whole pixels moves area and aspect a little.
    EXPECT_GE(area, 0.1 - 0.025) << "sample " << i;
    EXPECT_LE(area, 0.2 + 0.025) << "sample " << i;
    EXPECT_GE(aspect, 0.5 * 0.8) << "sample " << i;
    EXPECT_LE(aspect, 2.0 / 0.8) << "sample " << i;
    smallest = std::min(smallest, area);
    largest = std::max(largest, area);
  }
  EXPECT_LT(smallest, 0.11);
  EXPECT_GT(largest, 0.18);
}

TEST(AugmentErasingTest, DefaultFillIsTheBackgroundOfNormalizedDigits) {
  StageHarness erasing = ErasingHarness({{"min_area", "0.2"}, {"max_area", "0.3"}});
  int cut_ink = 0;
  for (int64_t i = 0; i < 100; ++i) {
    const auto sample = MnistSample(i, Form::kFloat);
    double background = 0;
    cv::minMaxLoc(sample->image, &background);
    const cv::Mat image = Augment(erasing, 0, i, sample)->image;
    const cv::Mat changed = image != sample->image;
    // What changed became the background: the patch hides ink and adds nothing.
    if (cv::countNonZero(changed) > 0) {
      ++cut_ink;
      double low, high;
      cv::minMaxLoc(image, &low, &high, nullptr, nullptr, changed);
      EXPECT_EQ(low, background) << "sample " << i;
      EXPECT_EQ(high, background) << "sample " << i;
    }
  }
  EXPECT_GT(cut_ink, 50);
}

TEST(AugmentErasingTest, RandomFillStaysInTheImageRange) {
  StageHarness erasing =
      ErasingHarness({{"fill", "random"}, {"min_area", "0.2"}, {"max_area", "0.3"}});
  for (int64_t i = 0; i < 50; ++i) {
    const auto sample = MnistSample(i, Form::kFloat);
    const cv::Mat image = Augment(erasing, 0, i, sample)->image;
    const cv::Rect patch = cv::boundingRect(image != sample->image);
    cv::Scalar mean, deviation;
    cv::meanStdDev(image(patch), mean, deviation);
    // Uniform over about [-0.42, 2.82]: mean near 1.2, spread near 0.94.
    EXPECT_NEAR(mean[0], 1.2, 0.5) << "sample " << i;
    EXPECT_GT(deviation[0], 0.6) << "sample " << i;
  }
}

TEST(AugmentErasingTest, RefusesParametersOutsideTheirRanges) {
  const std::map<std::string, std::string> bad[] = {
      {{"min_area", "0"}}, {{"max_area", "1.5"}}, {{"min_aspect", "2"}}, {{"fill", "mean"}}};
  for (const auto& params : bad) {
    const std::string name = params.begin()->first;
    try {
      ErasingHarness(params);
      ADD_FAILURE() << name << " = " << params.begin()->second << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr(name));
    }
  }
  // A combination no single range can express is refused when the stage opens.
  try {
    ErasingHarness({{"min_area", "0.3"}, {"max_area", "0.1"}});
    ADD_FAILURE() << "min_area > max_area was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("min_area"));
  }
}

}  // namespace
}  // namespace pipeline::augment_test
