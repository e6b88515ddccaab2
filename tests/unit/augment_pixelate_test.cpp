// pixelate (plugins/pixelate): low-resolution scans of real MNIST digits, blocky or smooth,
// grey or two-level.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <opencv2/imgproc.hpp>
#include <set>
#include <string>

#include "tests/unit/augment_test_util.h"

namespace pipeline::augment_test {
namespace {

using ::testing::HasSubstr;

StageHarness PixelateHarness(std::map<std::string, std::string> params) {
  params.emplace("probability", "1");
  return StageHarness(AugmentRegistry(), Spec("pixelate", params), 17);
}

// Whether every `block` x `block` tile of `image` holds one value.
bool ConstantInBlocks(const cv::Mat& image, int block) {
  for (int y = 0; y < image.rows; y += block) {
    for (int x = 0; x < image.cols; x += block) {
      double low, high;
      cv::minMaxLoc(image(cv::Rect(x, y, block, block)), &low, &high);
      if (low != high) return false;
    }
  }
  return true;
}

std::set<float> Values(const cv::Mat& image) {
  cv::Mat as_float;
  image.convertTo(as_float, CV_32F);
  return {as_float.begin<float>(), as_float.end<float>()};
}

TEST(AugmentPixelateTest, SevenPixelsRepeatedMakeFourByFourBlocks) {
  // 28 / 7 = 4: pixel repetition turns each small pixel into one 4x4 block of the output.
  StageHarness pixelate =
      PixelateHarness({{"min_side", "7"}, {"max_side", "7"}, {"threshold_probability", "0"}});
  for (int64_t i = 0; i < 50; ++i) {
    const auto sample = MnistSample(i);
    const cv::Mat image = Augment(pixelate, 0, i, sample)->image;
    EXPECT_TRUE(ConstantInBlocks(image, 4)) << "sample " << i;
    // The small pixels average the digit's (INTER_AREA): the blocks are grey at the strokes'
    // edges, and the ink is about what it was.
    EXPECT_GT(Values(image).size(), 3u) << "sample " << i;
    EXPECT_NEAR(InkSum(image), InkSum(sample->image), 0.15 * InkSum(sample->image))
        << "sample " << i;
    // The original has finer detail than 4x4 blocks (strokes are 2-3 pixels wide).
    EXPECT_FALSE(ConstantInBlocks(sample->image, 4)) << "sample " << i;
  }
}

TEST(AugmentPixelateTest, TwoLevelScansKeepOnlyTheSmallestAndLargestValue) {
  StageHarness two_level = PixelateHarness({{"threshold_probability", "1"}});
  for (const Form form : {Form::kBytes, Form::kFloat}) {
    for (int64_t i = 0; i < 50; ++i) {
      const auto sample = MnistSample(i, form);
      const cv::Mat image = Augment(two_level, 0, i, sample)->image;
      double low, high;
      cv::minMaxLoc(sample->image, &low, &high);
      EXPECT_EQ(Values(image), (std::set<float>{static_cast<float>(low), static_cast<float>(high)}))
          << "sample " << i;
    }
  }
}

TEST(AugmentPixelateTest, FewerPixelsLoseMoreOfTheDigit) {
  StageHarness coarse =
      PixelateHarness({{"min_side", "7"}, {"max_side", "8"}, {"threshold_probability", "0"}});
  StageHarness fine =
      PixelateHarness({{"min_side", "18"}, {"max_side", "20"}, {"threshold_probability", "0"}});
  double coarse_change = 0, fine_change = 0;
  for (int64_t i = 0; i < 100; ++i) {
    const auto sample = MnistSample(i);
    coarse_change += cv::norm(Augment(coarse, 0, i, sample)->image, sample->image, cv::NORM_L1);
    fine_change += cv::norm(Augment(fine, 0, i, sample)->image, sample->image, cv::NORM_L1);
  }
  EXPECT_GT(coarse_change, 1.5 * fine_change);
  EXPECT_GT(fine_change, 0);
}

TEST(AugmentPixelateTest, LinearEnlargementIsSmoothNotBlocky) {
  StageHarness linear = PixelateHarness({{"min_side", "7"},
                                         {"max_side", "7"},
                                         {"threshold_probability", "1"},
                                         {"linear_probability", "1"}});
  for (int64_t i = 0; i < 50; ++i) {
    const auto sample = MnistSample(i);
    const cv::Mat image = Augment(linear, 0, i, sample)->image;
    // Interpolated between two levels: ramps of in-between greys, no 4x4 plateaus everywhere.
    EXPECT_FALSE(ConstantInBlocks(image, 4)) << "sample " << i;
    EXPECT_GT(Values(image).size(), 2u) << "sample " << i;
  }
}

TEST(AugmentPixelateTest, RefusesParametersOutsideTheirRanges) {
  const std::map<std::string, std::string> bad[] = {
      {{"min_side", "0"}},         {{"max_side", "29"}},       {{"threshold_probability", "2"}},
      {{"min_threshold", "-0.1"}}, {{"max_threshold", "1.5"}}, {{"linear_probability", "-1"}}};
  for (const auto& params : bad) {
    const std::string name = params.begin()->first;
    try {
      PixelateHarness(params);
      ADD_FAILURE() << name << " = " << params.begin()->second << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr(name));
    }
  }
  // Each value within its range, the pair the wrong way round.
  const std::map<std::string, std::string> inverted[] = {
      {{"min_side", "12"}, {"max_side", "10"}},
      {{"min_threshold", "0.6"}, {"max_threshold", "0.4"}}};
  for (const auto& params : inverted) {
    const std::string low = params.rbegin()->first;  // "min_..." sorts after "max_..."
    try {
      PixelateHarness(params);
      ADD_FAILURE() << low << " above its maximum was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr(low));
    }
  }
}

}  // namespace
}  // namespace pipeline::augment_test
