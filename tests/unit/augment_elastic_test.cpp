// elastic (plugins/elastic): Simard's smoothed random displacement field on real MNIST digits.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <opencv2/imgproc.hpp>
#include <string>

#include "tests/unit/augment_test_util.h"

namespace pipeline::augment_test {
namespace {

using ::testing::HasSubstr;

StageHarness ElasticHarness(std::map<std::string, std::string> params) {
  params.emplace("probability", "1");
  return StageHarness(AugmentRegistry(), Spec("elastic", params), 9);
}

// Mean absolute pixel change over the first `count` digits.
double MeanChange(StageHarness& harness, int count) {
  double total = 0;
  for (int64_t i = 0; i < count; ++i) {
    const auto sample = MnistSample(i);
    total += cv::norm(Augment(harness, 0, i, sample)->image, sample->image, cv::NORM_L1) /
             static_cast<double>(sample->image.total());
  }
  return total / count;
}

TEST(AugmentElasticTest, ZeroAlphaLeavesEveryPixelWhereItWas) {
  StageHarness still = ElasticHarness({{"alpha", "0"}});
  for (int64_t i = 0; i < 20; ++i) {
    for (const Form form : {Form::kBytes, Form::kFloat}) {
      const auto sample = MnistSample(i, form);
      EXPECT_TRUE(SameImage(Augment(still, 0, i, sample)->image, sample->image)) << i;
    }
  }
}

TEST(AugmentElasticTest, LargerAlphaMovesPixelsFurther) {
  StageHarness gentle = ElasticHarness({{"alpha", "8"}});
  StageHarness strong = ElasticHarness({{"alpha", "40"}});
  const double gentle_change = MeanChange(gentle, 50);
  const double strong_change = MeanChange(strong, 50);
  EXPECT_GT(gentle_change, 1.0);  // grey levels per pixel: it does move ink
  EXPECT_GT(strong_change, 2 * gentle_change);
}

TEST(AugmentElasticTest, DefaultsWobbleTheDigitWithoutMovingIt) {
  // The field is zero-mean noise, smoothed: strokes bend locally, the digit as a whole stays
  // where it was and keeps roughly its amount of ink (local stretching changes it somewhat).
  StageHarness elastic = ElasticHarness({});
  double total_shift = 0;
  for (int64_t i = 0; i < 100; ++i) {
    const auto sample = MnistSample(i);
    const cv::Mat image = Augment(elastic, 0, i, sample)->image;
    EXPECT_GT(cv::norm(image, sample->image, cv::NORM_L1), 500) << "sample " << i;
    EXPECT_NEAR(InkSum(image), InkSum(sample->image), 0.4 * InkSum(sample->image)) << i;
    const cv::Moments before = cv::moments(sample->image), after = cv::moments(image);
    const cv::Point2d shift(after.m10 / after.m00 - before.m10 / before.m00,
                            after.m01 / after.m00 - before.m01 / before.m00);
    // Displacements are about 1 pixel (standard deviation) per axis at the defaults.
    EXPECT_LT(cv::norm(shift), 4) << "sample " << i;
    total_shift += cv::norm(shift);
  }
  EXPECT_LT(total_shift / 100, 2);
}

TEST(AugmentElasticTest, FillsWhatComesFromOutsideWithTheBackground) {
  // A field strong enough to pull pixels in from beyond the edge, on normalized digits, where the
  // background is about -0.42 and no input pixel is exactly 0.
  StageHarness background_fill = ElasticHarness({{"alpha", "300"}, {"sigma", "3"}});
  StageHarness zero_fill = ElasticHarness({{"alpha", "300"}, {"sigma", "3"}, {"fill", "zero"}});
  int zero_filled = 0;
  for (int64_t i = 0; i < 20; ++i) {
    const auto sample = MnistSample(i, Form::kFloat);
    ASSERT_EQ(cv::countNonZero(sample->image == 0.0f), 0);
    EXPECT_EQ(cv::countNonZero(Augment(background_fill, 0, i, sample)->image == 0.0f), 0) << i;
    if (cv::countNonZero(Augment(zero_fill, 0, i, sample)->image == 0.0f) > 0) ++zero_filled;
  }
  // The same draws with fill "zero" do bring in outside pixels, as 0.
  EXPECT_GE(zero_filled, 15);
}

TEST(AugmentElasticTest, RefusesParametersOutsideTheirRanges) {
  const std::map<std::string, std::string> bad[] = {
      {{"alpha", "-1"}}, {{"sigma", "0"}}, {{"sigma", "21"}}, {{"fill", "edge"}}};
  for (const auto& params : bad) {
    const std::string name = params.begin()->first;
    try {
      ElasticHarness(params);
      ADD_FAILURE() << name << " = " << params.begin()->second << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr(name));
    }
  }
}

}  // namespace
}  // namespace pipeline::augment_test
