// The plugin template (plugins/template/my_augment.cpp), loaded as a library the way `pipeline`
// loads it, run on real MNIST digits.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/engine/plugin_loader.h"
#include "pipeline/payloads.h"
#include "stages/sources/idx_reader.h"

namespace pipeline {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Stage parameters as the engine would pass them after validation.
Params ParamsOf(std::map<std::string, std::string, std::less<>> values) {
  return Params(std::move(values));
}

class CollectingEmitter : public Emitter {
 public:
  void emit(std::shared_ptr<const Payload> payload, int64_t, int64_t, int) override {
    outputs.push_back(std::move(payload));
  }
  void end_epoch(int64_t) override {}
  std::vector<std::shared_ptr<const Payload>> outputs;
};

// Reference shift: pixel (y, x) of the result is pixel (y - dy, x - dx) of `image`, or `fill`.
template <typename T>
cv::Mat ReferenceShift(const cv::Mat& image, int dx, int dy, T fill) {
  cv::Mat result(image.size(), image.type());
  for (int y = 0; y < image.rows; ++y) {
    for (int x = 0; x < image.cols; ++x) {
      const int sy = y - dy, sx = x - dx;
      const bool inside = sy >= 0 && sy < image.rows && sx >= 0 && sx < image.cols;
      result.at<T>(y, x) = inside ? image.at<T>(sy, sx) : fill;
    }
  }
  return result;
}

bool SameImage(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

// The (dx, dy) within `max_shift` that turns `in` into `out`, or nullopt.
template <typename T>
std::optional<std::pair<int, int>> FindShift(const cv::Mat& in, const cv::Mat& out, int max_shift,
                                             T fill) {
  for (int dy = -max_shift; dy <= max_shift; ++dy) {
    for (int dx = -max_shift; dx <= max_shift; ++dx) {
      if (SameImage(ReferenceShift<T>(in, dx, dy, fill), out)) return std::make_pair(dx, dy);
    }
  }
  return std::nullopt;
}

class PluginTemplateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    images_ = new IdxImages(
        ReadIdxImages(std::string(PIPELINE_MNIST_DIR) + "/t10k-images-idx3-ubyte.gz"));
  }
  static void TearDownTestSuite() {
    delete images_;
    images_ = nullptr;
  }

  void SetUp() override {
    const PluginLoadReport report =
        LoadPlugins({std::string(PIPELINE_BINARY_DIR) + "/test_plugins/template"}, registry_);
    ASSERT_THAT(report.failures, IsEmpty());
    entry_ = registry_.find("my_augment");
    ASSERT_NE(entry_, nullptr);
  }

  std::unique_ptr<Stage> OpenStage(Params params, uint64_t seed = 1) {
    std::unique_ptr<Stage> stage = entry_->info.create();
    stage->set_env({.name = "aug", .plugin = "my_augment", .graph_seed = seed});
    stage->open(params);
    return stage;
  }

  static std::shared_ptr<Sample> MnistSample(int64_t i) {
    auto sample = std::make_shared<Sample>();
    sample->image = images_->image(i).clone();
    sample->label = static_cast<int>(i % 10);
    return sample;
  }

  static IdxImages* images_;
  Registry registry_;
  const Registry::Entry* entry_ = nullptr;
};

IdxImages* PluginTemplateTest::images_ = nullptr;

TEST_F(PluginTemplateTest, DeclaresAParallelSampleTransformWithTypedParams) {
  const StageInfo& info = entry_->info;
  EXPECT_EQ(entry_->library, "my_augment");
  EXPECT_EQ(info.kind, StageKind::kTransform);
  EXPECT_EQ(info.concurrency, Concurrency::kParallel);
  ASSERT_EQ(info.inputs.size(), 1u);
  EXPECT_EQ(info.inputs[0].type, "sample");
  EXPECT_EQ(info.outputs[0].type, "sample");
  std::vector<std::string> names;
  for (const auto& param : info.params) names.push_back(param.name);
  EXPECT_THAT(names, ElementsAre("probability", "max_shift", "fill"));
  EXPECT_NE(CheckParamValue(*info.find_param("probability"), "1.5"), "");
  EXPECT_NE(CheckParamValue(*info.find_param("max_shift"), "-1"), "");
  EXPECT_NE(CheckParamValue(*info.find_param("fill"), "mean"), "");
}

TEST_F(PluginTemplateTest, ShiftsMnistDigitsByAtMostMaxShift) {
  auto stage = OpenStage(ParamsOf({{"probability", "1"}, {"max_shift", "2"}, {"fill", "zero"}}));
  std::set<std::pair<int, int>> shifts_seen;
  for (int64_t i = 0; i < 64; ++i) {
    auto sample = MnistSample(i);
    CollectingEmitter out;
    stage->process({.epoch = 0, .index = i, .port = 0, .payload = sample}, out);
    ASSERT_EQ(out.outputs.size(), 1u);
    const auto& result = payload_as<Sample>(out.outputs[0].get());
    EXPECT_EQ(result.label, sample->label);
    ASSERT_EQ(result.image.type(), CV_8UC1);
    const auto shift = FindShift<uint8_t>(sample->image, result.image, 2, 0);
    ASSERT_TRUE(shift.has_value()) << "sample " << i << " is not a shift of its input";
    shifts_seen.insert(*shift);
  }
  // 64 draws from 25 equally likely shifts: a stuck generator would show one or two.
  EXPECT_GT(shifts_seen.size(), 10u);
}

TEST_F(PluginTemplateTest, SameSeedEpochAndIndexGiveTheSameShift) {
  const Params params({{"probability", "1"}, {"max_shift", "3"}, {"fill", "zero"}});
  auto first = OpenStage(params);
  auto again = OpenStage(params);
  auto other_seed = OpenStage(params, 2);
  auto Augmented = [](Stage& stage, int64_t epoch, int64_t i) {
    CollectingEmitter out;
    stage.process({.epoch = epoch, .index = i, .port = 0, .payload = MnistSample(i)}, out);
    return payload_as<Sample>(out.outputs.at(0).get()).image;
  };
  // `first` sees the samples in reverse order, as another thread timing might deliver them:
  // the result depends on (seed, stage name, epoch, index) only.
  std::vector<cv::Mat> reversed(32);
  for (int64_t i = 31; i >= 0; --i) reversed[i] = Augmented(*first, 3, i);
  int differing_seed = 0, differing_epoch = 0;
  for (int64_t i = 0; i < 32; ++i) {
    EXPECT_TRUE(SameImage(reversed[i], Augmented(*again, 3, i))) << "sample " << i;
    if (!SameImage(reversed[i], Augmented(*other_seed, 3, i))) ++differing_seed;
    if (!SameImage(reversed[i], Augmented(*first, 4, i))) ++differing_epoch;
  }
  // Another seed or epoch draws new shifts (the same one by chance about 1 time in 49).
  EXPECT_GT(differing_seed, 24);
  EXPECT_GT(differing_epoch, 24);
}

TEST_F(PluginTemplateTest, ProbabilityDecidesHowManySamplesChange) {
  auto never = OpenStage(ParamsOf({{"probability", "0"}, {"max_shift", "2"}, {"fill", "zero"}}));
  auto half = OpenStage(ParamsOf({{"probability", "0.5"}, {"max_shift", "2"}, {"fill", "zero"}}));
  int forwarded_by_half = 0;
  const int count = 1000;
  for (int64_t i = 0; i < count; ++i) {
    auto sample = MnistSample(i);
    CollectingEmitter none_out, half_out;
    never->process({.index = i, .payload = sample}, none_out);
    half->process({.index = i, .payload = sample}, half_out);
    // An unchanged sample is forwarded as the same payload, not a copy.
    ASSERT_EQ(none_out.outputs[0], sample);
    if (half_out.outputs[0] == sample) ++forwarded_by_half;
  }
  EXPECT_GT(forwarded_by_half, count * 0.42);
  EXPECT_LT(forwarded_by_half, count * 0.58);
}

TEST_F(PluginTemplateTest, NormalizedFloatSamplesKeepTheirTypeAndBackground) {
  auto stage =
      OpenStage(ParamsOf({{"probability", "1"}, {"max_shift", "4"}, {"fill", "smallest"}}));
  auto Normalize = [](const cv::Mat& image) {
    cv::Mat result;
    image.convertTo(result, CV_32F, 1.0 / 255 / 0.3081, -0.1307 / 0.3081);
    return result;
  };
  int shifted = 0;
  for (int64_t i = 0; i < 16; ++i) {
    auto sample = MnistSample(i);
    auto normalized = std::make_shared<Sample>(*sample);
    normalized->image = Normalize(sample->image);
    // What the digit's black background became: the shifted-in border must match it.
    double background = 0;
    cv::minMaxLoc(normalized->image, &background);
    ASSERT_LT(background, -0.4);
    CollectingEmitter out;
    stage->process({.index = i, .payload = normalized}, out);
    const cv::Mat& result = payload_as<Sample>(out.outputs[0].get()).image;
    ASSERT_EQ(result.type(), CV_32FC1);
    const auto shift =
        FindShift<float>(normalized->image, result, 4, static_cast<float>(background));
    ASSERT_TRUE(shift.has_value()) << "sample " << i;
    if (*shift != std::make_pair(0, 0)) ++shifted;
  }
  EXPECT_GT(shifted, 8);
}

TEST_F(PluginTemplateTest, RefusesEmptyImagesAndOtherPayloads) {
  auto stage = OpenStage(ParamsOf({{"probability", "1"}, {"max_shift", "2"}, {"fill", "zero"}}));
  CollectingEmitter out;
  EXPECT_THROW(stage->process({.payload = std::make_shared<Sample>()}, out), std::runtime_error);
  EXPECT_THROW(stage->process({.payload = std::make_shared<Batch>()}, out), std::runtime_error);
  EXPECT_THAT(out.outputs, IsEmpty());
}

}  // namespace
}  // namespace pipeline
