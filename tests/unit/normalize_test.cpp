// normalize: exact values for each pixel depth, the mean/std step, and real MNIST samples.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "pipeline/payloads.h"
#include "tests/unit/stage_test_util.h"

namespace pipeline {
namespace {

using stage_test::DrainSource;
using stage_test::MakeParams;
using stage_test::OpenStage;
using stage_test::RecordingEmitter;
using stage_test::StandardRegistry;
using ::testing::HasSubstr;

Message SampleMessage(cv::Mat image, int label = 3, int64_t epoch = 2, int64_t index = 41) {
  auto sample = std::make_shared<Sample>();
  sample->image = std::move(image);
  sample->label = label;
  sample->source = "test.png";
  sample->box = cv::Rect(1, 2, 3, 4);
  sample->epoch_size = 500;
  return Message{epoch, index, 0, std::move(sample)};
}

// Runs one message through a normalize stage opened with `overrides`; returns the output.
std::shared_ptr<const Sample> Normalize(const Message& msg,
                                        const std::map<std::string, std::string>& overrides = {}) {
  const Registry registry = StandardRegistry();
  auto stage = OpenStage(registry, "normalize", overrides);
  RecordingEmitter out;
  stage->process(msg, out);
  EXPECT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].epoch, msg.epoch);
  EXPECT_EQ(out.events[0].index, msg.index);
  return std::dynamic_pointer_cast<const Sample>(out.events.at(0).payload);
}

TEST(NormalizeTest, ScalesEightBitPixelsToUnitRange) {
  const cv::Mat image = (cv::Mat_<uint8_t>(1, 4) << 0, 51, 128, 255);
  const auto result = Normalize(SampleMessage(image));
  ASSERT_EQ(result->image.type(), CV_32FC1);
  EXPECT_FLOAT_EQ(result->image.at<float>(0, 0), 0.0f);
  EXPECT_FLOAT_EQ(result->image.at<float>(0, 1), 0.2f);
  EXPECT_FLOAT_EQ(result->image.at<float>(0, 2), 128.0f / 255.0f);
  EXPECT_FLOAT_EQ(result->image.at<float>(0, 3), 1.0f);
  EXPECT_EQ(result->label, 3);
  EXPECT_EQ(result->source, "test.png");
  EXPECT_EQ(result->box, cv::Rect(1, 2, 3, 4));
  EXPECT_EQ(result->epoch_size, 500);
}

TEST(NormalizeTest, AppliesMeanAndStd) {
  const cv::Mat image = (cv::Mat_<uint8_t>(1, 2) << 0, 255);
  const auto result = Normalize(SampleMessage(image), {{"mean", "0.1307"}, {"std", "0.3081"}});
  EXPECT_NEAR(result->image.at<float>(0, 0), (0.0 - 0.1307) / 0.3081, 1e-6);
  EXPECT_NEAR(result->image.at<float>(0, 1), (1.0 - 0.1307) / 0.3081, 1e-6);
}

TEST(NormalizeTest, ScalesSixteenBitAndKeepsFloat) {
  const cv::Mat wide = (cv::Mat_<uint16_t>(1, 2) << 65535, 13107);
  const auto from_wide = Normalize(SampleMessage(wide));
  EXPECT_FLOAT_EQ(from_wide->image.at<float>(0, 0), 1.0f);
  EXPECT_FLOAT_EQ(from_wide->image.at<float>(0, 1), 0.2f);

  const cv::Mat floats = (cv::Mat_<float>(1, 2) << -3.5f, 2.0f);
  const auto from_floats = Normalize(SampleMessage(floats), {{"mean", "0.5"}, {"std", "2"}});
  EXPECT_FLOAT_EQ(from_floats->image.at<float>(0, 0), -2.0f);
  EXPECT_FLOAT_EQ(from_floats->image.at<float>(0, 1), 0.75f);
}

TEST(NormalizeTest, KeepsChannelsAndLeavesTheInputAlone) {
  cv::Mat colour(2, 2, CV_8UC3, cv::Scalar(255, 0, 51));
  const Message msg = SampleMessage(colour);
  const auto result = Normalize(msg);
  ASSERT_EQ(result->image.type(), CV_32FC3);
  const auto pixel = result->image.at<cv::Vec3f>(1, 1);
  EXPECT_FLOAT_EQ(pixel[0], 1.0f);
  EXPECT_FLOAT_EQ(pixel[1], 0.0f);
  EXPECT_FLOAT_EQ(pixel[2], 0.2f);
  const Sample& input = msg.as<Sample>();
  EXPECT_EQ(input.image.type(), CV_8UC3);
  EXPECT_EQ(input.image.at<cv::Vec3b>(1, 1), cv::Vec3b(255, 0, 51));
  EXPECT_NE(result.get(), &input);
}

TEST(NormalizeTest, StdMustBePositive) {
  const Registry registry = StandardRegistry();
  const StageInfo& info = registry.find("normalize")->info;
  EXPECT_EQ(info.concurrency, Concurrency::kParallel);
  // The declared range refuses it before any stage opens...
  EXPECT_THAT(CheckParamValue(*info.find_param("std"), "0"), HasSubstr("out of range"));
  EXPECT_THAT(CheckParamValue(*info.find_param("std"), "-1"), HasSubstr("out of range"));
  EXPECT_THROW(MakeParams(info, {{"std", "0"}}), std::invalid_argument);
  // ...and open() refuses it when a caller skips validation.
  auto stage = info.create();
  EXPECT_THROW(stage->open(Params(
                   std::map<std::string, std::string, std::less<>>{{"mean", "0"}, {"std", "0"}})),
               std::invalid_argument);
}

TEST(NormalizeTest, RefusesUnsupportedDepthNamingTheSample) {
  const cv::Mat image(2, 2, CV_8SC1, cv::Scalar(1));
  const Registry registry = StandardRegistry();
  auto stage = OpenStage(registry, "normalize");
  RecordingEmitter out;
  try {
    stage->process(SampleMessage(image), out);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("sample test.png: unsupported pixel depth CV_8S"));
  }
}

TEST(NormalizeTest, NormalizesRealMnistSamples) {
  const Registry registry = StandardRegistry();
  auto source =
      OpenStage(registry, "idx_source",
                {{"images", std::string(PIPELINE_MNIST_DIR) + "/t10k-images-idx3-ubyte.gz"},
                 {"limit", "20"}});
  auto normalize = OpenStage(registry, "normalize", {{"mean", "0"}, {"std", "1"}});
  RecordingEmitter out;
  for (const auto& msg : DrainSource(*source).messages()) {
    normalize->process(msg, out);
    const cv::Mat& original = msg.as<Sample>().image;
    const cv::Mat& result = out.messages().back().as<Sample>().image;
    ASSERT_EQ(result.type(), CV_32FC1);
    ASSERT_EQ(result.size(), original.size());
    cv::Mat expected;
    original.convertTo(expected, CV_32F, 1.0 / 255.0);
    ASSERT_LT(cv::norm(result, expected, cv::NORM_INF), 1e-7);
    double min_value = 0, max_value = 0;
    cv::minMaxLoc(result, &min_value, &max_value);
    EXPECT_GE(min_value, 0.0);
    EXPECT_LE(max_value, 1.0);
  }
  EXPECT_EQ(out.messages().size(), 20u);
}

}  // namespace
}  // namespace pipeline
