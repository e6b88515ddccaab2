// precision: auto — the timing probe and the rule that picks from its figures.
#include "nn/precision_probe.h"

#include <gtest/gtest.h>

#include <vector>

#include "nn/model_spec.h"
#include "nn/random.h"

namespace pipeline::cnn {
namespace {

TEST(PrecisionProbe, Fp32IsAlwaysACandidateAndComesFirst) {
  const std::vector<proto::Precision> native = NativePrecisions();
  ASSERT_FALSE(native.empty());
  EXPECT_EQ(native.front(), proto::PRECISION_FP32);
  EXPECT_LE(native.size(), 2u);
}

TEST(PrecisionProbe, ANearTieKeepsFp32) {
  const std::vector<PrecisionTiming> timings{{proto::PRECISION_FP32, 1000},
                                             {proto::PRECISION_BF16, 1080}};
  EXPECT_EQ(ChooseFastest(timings), proto::PRECISION_FP32);
  EXPECT_EQ(ChooseFastest(timings, 1.05), proto::PRECISION_BF16);
}

TEST(PrecisionProbe, AClearlyFasterBf16Wins) {
  EXPECT_EQ(ChooseFastest({{proto::PRECISION_FP32, 5786}, {proto::PRECISION_BF16, 7698}}),
            proto::PRECISION_BF16);
  // ... and a slower one (Sapphire Rapids with AMX hidden) does not.
  EXPECT_EQ(ChooseFastest({{proto::PRECISION_FP32, 4200}, {proto::PRECISION_BF16, 2900}}),
            proto::PRECISION_FP32);
  EXPECT_EQ(ChooseFastest({}), proto::PRECISION_FP32);
}

TEST(PrecisionProbe, DescribesEveryTimingAndTheChoice) {
  const std::string text = DescribeChoice(
      proto::PRECISION_BF16, {{proto::PRECISION_FP32, 5786}, {proto::PRECISION_BF16, 7698}}, 0.31);
  EXPECT_EQ(text, "bf16 (auto: fp32 5786 img/s, bf16 7698 img/s; timed in 0.31 s)");
  EXPECT_NE(DescribeChoice(proto::PRECISION_FP32, {{proto::PRECISION_FP32, 100}}, 0.1)
                .find("no native bf16"),
            std::string::npos);
}

TEST(PrecisionProbe, TimesEveryCandidateOnRealSteps) {
  const proto::ModelSpec spec = seed_network_spec(12, 12, 1, 4);
  RandomStream random(3);
  const int64_t n = 16;
  std::vector<float> images(n * 144);
  for (float& v : images) v = static_cast<float>(random.uniform());
  std::vector<int32_t> labels(n);
  for (int64_t i = 0; i < n; ++i) labels[i] = static_cast<int32_t>(i % 4);
  const std::vector<proto::Precision> candidates = NativePrecisions();
  const std::vector<PrecisionTiming> training =
      TimeTrainingPrecisions(spec, candidates, images.data(), labels.data(), n, 2);
  ASSERT_EQ(training.size(), candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) {
    EXPECT_EQ(training[i].precision, candidates[i]);
    EXPECT_GT(training[i].images_per_second, 0);
  }
}

}  // namespace
}  // namespace pipeline::cnn
