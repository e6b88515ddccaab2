// noise_blur (plugins/noise_blur): Gaussian blur and Gaussian noise on real MNIST digits.
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

StageHarness NoiseBlurHarness(std::map<std::string, std::string> params) {
  params.emplace("probability", "1");
  return StageHarness(AugmentRegistry(), Spec("noise_blur", params), 13);
}

// How much fine detail an image has: the mean absolute Laplacian.
double Sharpness(const cv::Mat& image) {
  cv::Mat laplacian;
  cv::Laplacian(image, laplacian, CV_32F);
  return cv::norm(laplacian, cv::NORM_L1) / static_cast<double>(image.total());
}

TEST(AugmentNoiseBlurTest, BlurSoftensEdgesAndKeepsTheInk) {
  StageHarness blur = NoiseBlurHarness({{"blur_probability", "1"}, {"noise_probability", "0"}});
  double sharpness_ratios = 0;
  for (int64_t i = 0; i < 100; ++i) {
    const auto sample = MnistSample(i, Form::kFloat);
    const cv::Mat image = Augment(blur, 0, i, sample)->image;
    // Even the lightest blur drawn (min_blur_sigma) takes some fine detail away.
    EXPECT_LT(Sharpness(image), 0.99 * Sharpness(sample->image)) << "sample " << i;
    sharpness_ratios += Sharpness(image) / Sharpness(sample->image);
    // A normalized kernel moves ink around without adding or removing it (the digit is far from
    // the edges, where reflection could change the total).
    const double background = -0.1307 / 0.3081;
    EXPECT_NEAR(InkSum(image, background), InkSum(sample->image, background),
                0.01 * InkSum(sample->image, background))
        << "sample " << i;
  }
  EXPECT_LT(sharpness_ratios / 100, 0.8);
}

TEST(AugmentNoiseBlurTest, NoiseSpeckleGrowsWithMaxNoise) {
  StageHarness light = NoiseBlurHarness(
      {{"blur_probability", "0"}, {"noise_probability", "1"}, {"max_noise", "0.02"}});
  StageHarness heavy = NoiseBlurHarness(
      {{"blur_probability", "0"}, {"noise_probability", "1"}, {"max_noise", "0.2"}});
  double light_change = 0, heavy_change = 0;
  int background_pixels = 0, lit_background_pixels = 0;
  for (int64_t i = 0; i < 100; ++i) {
    const auto sample = MnistSample(i);
    const cv::Mat light_image = Augment(light, 0, i, sample)->image;
    const cv::Mat heavy_image = Augment(heavy, 0, i, sample)->image;
    light_change += cv::norm(light_image, sample->image, cv::NORM_L1);
    heavy_change += cv::norm(heavy_image, sample->image, cv::NORM_L1);
    const cv::Mat background = sample->image == 0;
    background_pixels += cv::countNonZero(background);
    lit_background_pixels += cv::countNonZero(heavy_image & background);
  }
  // Standard deviations are drawn from (0, max]: ten times the max is several times the change.
  EXPECT_GT(heavy_change, 4 * light_change);
  // Noise reaches the black background all over (clipped at 0, so only upwards: a bit under half
  // of those pixels light up).
  EXPECT_GT(lit_background_pixels, 0.3 * background_pixels);
}

TEST(AugmentNoiseBlurTest, EachPartHasItsOwnProbability) {
  StageHarness neither = NoiseBlurHarness({{"blur_probability", "0"}, {"noise_probability", "0"}});
  StageHarness half_blur =
      NoiseBlurHarness({{"blur_probability", "0.5"}, {"noise_probability", "0"}});
  int blurred = 0;
  for (int64_t i = 0; i < 400; ++i) {
    const auto sample = MnistSample(i);
    // Neither part drawn: the sample passes on as it came, not as a copy.
    EXPECT_EQ(Augment(neither, 0, i, sample), sample);
    if (Augment(half_blur, 0, i, sample) != sample) ++blurred;
  }
  EXPECT_NEAR(blurred / 400.0, 0.5, 0.08);
}

TEST(AugmentNoiseBlurTest, RefusesParametersOutsideTheirRanges) {
  const std::map<std::string, std::string> bad[] = {{{"blur_probability", "2"}},
                                                    {{"max_blur_sigma", "0"}},
                                                    {{"min_blur_sigma", "6"}},
                                                    {{"noise_probability", "-0.5"}},
                                                    {{"max_noise", "1.5"}}};
  for (const auto& params : bad) {
    const std::string name = params.begin()->first;
    try {
      NoiseBlurHarness(params);
      ADD_FAILURE() << name << " = " << params.begin()->second << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr(name));
    }
  }
  try {
    NoiseBlurHarness({{"min_blur_sigma", "2"}, {"max_blur_sigma", "1"}});
    ADD_FAILURE() << "min_blur_sigma > max_blur_sigma was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("min_blur_sigma"));
  }
}

}  // namespace
}  // namespace pipeline::augment_test
