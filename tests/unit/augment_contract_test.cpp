// What every augmentation plugin promises, checked for each of them on real MNIST digits: loaded
// as a library, a parallel sample → sample stage; depth, size and value range kept for 8-bit and
// normalized float images of 1 and 3 channels; other Sample fields carried over; the same result
// for the same (seed, epoch, index) and a different one otherwise; `probability` honoured, with
// unchanged samples passed on as the same payload; bad parameters refused before the run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "pipeline/engine/graph.h"
#include "tests/unit/augment_test_util.h"

namespace pipeline::augment_test {
namespace {

using ::testing::HasSubstr;

struct PluginCase {
  std::string stage;    // the plugin (stage type) name
  std::string library;  // the name its PIPELINE_PLUGIN entry point gives
  std::string file;     // the library file, lib<file>.so
  // Parameters under which every sample passing the probability gate is changed.
  std::map<std::string, std::string> always_change;
};

std::ostream& operator<<(std::ostream& out, const PluginCase& plugin) {
  return out << plugin.stage;
}

const PluginCase kPlugins[] = {
    {"random_affine", "augment_affine", "augment_affine", {}},
    {"elastic", "augment_elastic", "augment_elastic", {}},
    {"stroke", "augment_stroke", "augment_stroke", {}},
    {"noise_blur", "augment_noise_blur", "augment_noise_blur", {{"noise_probability", "1"}}},
    {"pixelate", "augment_pixelate", "augment_pixelate", {}},
    // A patch of background colour over background would change nothing.
    {"random_erasing", "augment_erasing", "augment_erasing", {{"fill", "random"}}},
    // The template a plugin author copies keeps the same promises (tests/plugins builds it).
    {"my_augment", "my_augment", "test_template", {}},
};

class AugmentContractTest : public ::testing::TestWithParam<PluginCase> {
 protected:
  // The stage with `probability` and the case's always-change settings, plus `extra`.
  std::unique_ptr<StageHarness> Harness(const std::string& probability, uint64_t seed = 1,
                                        std::map<std::string, std::string> extra = {}) const {
    std::map<std::string, std::string> params = GetParam().always_change;
    params["probability"] = probability;
    for (const auto& [key, value] : extra) params[key] = value;
    return std::make_unique<StageHarness>(AugmentRegistry(), Spec(GetParam().stage, params), seed);
  }
};

TEST_P(AugmentContractTest, IsAParallelSampleTransformFromItsOwnLibrary) {
  const Registry::Entry* entry = AugmentRegistry().find(GetParam().stage);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->library, GetParam().library);
  EXPECT_THAT(entry->origin, HasSubstr("lib" + GetParam().file + ".so"));
  const StageInfo& info = entry->info;
  EXPECT_EQ(info.kind, StageKind::kTransform);
  EXPECT_EQ(info.concurrency, Concurrency::kParallel);
  ASSERT_EQ(info.inputs.size(), 1u);
  ASSERT_EQ(info.outputs.size(), 1u);
  EXPECT_EQ(info.inputs[0].name, "in");
  EXPECT_EQ(info.inputs[0].type, "sample");
  EXPECT_EQ(info.outputs[0].name, "out");
  EXPECT_EQ(info.outputs[0].type, "sample");
  const ParamSpec* probability = info.find_param("probability");
  ASSERT_NE(probability, nullptr);
  EXPECT_EQ(probability->type, pipeline::ParamType::kFloat);
  EXPECT_EQ(probability->min, 0.0);
  EXPECT_EQ(probability->max, 1.0);
  for (const ParamSpec& param : info.params) EXPECT_FALSE(param.doc.empty()) << param.name;
}

TEST_P(AugmentContractTest, KeepsSizeDepthAndRangeOfBytesAndFloats) {
  auto harness = Harness("1");
  for (const Form form : {Form::kBytes, Form::kFloat}) {
    int changed = 0;
    for (int64_t i = 0; i < 50; ++i) {
      const auto sample = MnistSample(i, form);
      const auto result = Augment(*harness, 0, i, sample);
      const cv::Mat& image = result->image;
      ASSERT_EQ(image.size(), sample->image.size()) << "sample " << i;
      ASSERT_EQ(image.type(), sample->image.type()) << "sample " << i;
      // Warps and blurs interpolate, noise is clipped, patches use the image's own values:
      // nothing leaves the input's range.
      double in_low, in_high, out_low, out_high;
      cv::minMaxLoc(sample->image, &in_low, &in_high);
      cv::minMaxLoc(image, &out_low, &out_high);
      EXPECT_GE(out_low, in_low - 1e-4) << "sample " << i;
      EXPECT_LE(out_high, in_high + 1e-4) << "sample " << i;
      EXPECT_TRUE(cv::checkRange(image)) << "sample " << i << " has NaN or infinite pixels";
      if (!SameImage(image, sample->image)) ++changed;
    }
    EXPECT_GE(changed, 45) << (form == Form::kBytes ? "8-bit" : "float");
  }
}

TEST_P(AugmentContractTest, KeepsThreeChannelImagesInColour) {
  auto harness = Harness("1");
  for (int64_t i = 0; i < 10; ++i) {
    const cv::Mat digit = MnistImages().image(i);
    cv::Mat inverted = 255 - digit;
    cv::Mat colour;
    cv::merge(std::vector<cv::Mat>{digit, digit / 2, inverted}, colour);
    for (const bool as_float : {false, true}) {
      auto sample = MnistSample(i);
      sample->image = as_float ? Normalized(colour) : colour;
      const auto result = Augment(*harness, 0, i, sample);
      EXPECT_EQ(result->image.size(), colour.size());
      EXPECT_EQ(result->image.type(), as_float ? CV_32FC3 : CV_8UC3);
    }
  }
}

TEST_P(AugmentContractTest, HandlesImagesOfAnySize) {
  auto harness = Harness("1");
  const cv::Mat digit = MnistImages().image(0);
  for (const cv::Size size : {cv::Size(1, 1), cv::Size(2, 2), cv::Size(5, 3), cv::Size(64, 40)}) {
    for (const bool as_float : {false, true}) {
      auto sample = MnistSample(0);
      cv::resize(digit, sample->image, size, 0, 0, cv::INTER_AREA);
      if (as_float) sample->image = Normalized(sample->image);
      const auto result = Augment(*harness, 0, 0, sample);
      EXPECT_EQ(result->image.size(), size);
      EXPECT_EQ(result->image.type(), sample->image.type());
      EXPECT_TRUE(cv::checkRange(result->image)) << size;
    }
  }
}

TEST_P(AugmentContractTest, CopiesEveryOtherSampleField) {
  auto harness = Harness("1");
  const auto sample = MnistSample(7);
  const auto result = Augment(*harness, 0, 7, sample);
  ASSERT_NE(result, sample);
  EXPECT_EQ(result->label, sample->label);
  EXPECT_EQ(result->source, sample->source);
  EXPECT_EQ(result->box, sample->box);
  EXPECT_EQ(result->epoch_size, sample->epoch_size);
  EXPECT_EQ(result->part, sample->part);
  EXPECT_EQ(result->parts, sample->parts);
  EXPECT_EQ(result->origin, sample->origin);
  // The input payload is immutable: the stage wrote its result elsewhere.
  EXPECT_TRUE(SameImage(sample->image, MnistImages().image(7)));
}

TEST_P(AugmentContractTest, PassesSamplesWithAnErrorOnAsTheyAre) {
  auto harness = Harness("1");
  auto failed = std::make_shared<Sample>();
  failed->source = "photo.png";
  failed->error = "cannot decode the image";
  EXPECT_EQ(Augment(*harness, 0, 0, failed), failed);
}

TEST_P(AugmentContractTest, SameSeedEpochAndIndexGiveTheSameBytes) {
  auto first = Harness("1");
  auto again = Harness("1");
  auto other_seed = Harness("1", /*seed=*/2);
  // `first` sees the samples in reverse, as another thread timing might deliver them.
  std::vector<cv::Mat> reversed(20);
  for (int64_t i = 19; i >= 0; --i) reversed[i] = Augment(*first, 3, i, MnistSample(i))->image;
  int other_seed_differs = 0, other_epoch_differs = 0, other_index_differs = 0;
  for (int64_t i = 0; i < 20; ++i) {
    EXPECT_TRUE(SameImage(reversed[i], Augment(*again, 3, i, MnistSample(i))->image)) << i;
    other_seed_differs +=
        !SameImage(reversed[i], Augment(*other_seed, 3, i, MnistSample(i))->image);
    other_epoch_differs += !SameImage(reversed[i], Augment(*first, 4, i, MnistSample(i))->image);
    // The same digit at another position in the stream is augmented differently.
    other_index_differs +=
        !SameImage(reversed[i], Augment(*first, 3, i + 100, MnistSample(i))->image);
  }
  EXPECT_GE(other_seed_differs, 18);
  EXPECT_GE(other_epoch_differs, 18);
  EXPECT_GE(other_index_differs, 18);
}

TEST_P(AugmentContractTest, ProbabilityDecidesHowManySamplesChange) {
  auto never = Harness("0");
  auto some = Harness("0.3");
  const int count = 2000;
  int changed = 0;
  for (int64_t i = 0; i < count; ++i) {
    const auto sample = MnistSample(i % 500);
    // Unchanged samples go on as the very same payload, not a copy.
    ASSERT_EQ(Augment(*never, 0, i, sample), sample);
    if (Augment(*some, 0, i, sample) != sample) ++changed;
  }
  EXPECT_NEAR(static_cast<double>(changed) / count, 0.3, 0.04);
}

TEST_P(AugmentContractTest, RefusesOutOfRangeParametersBeforeRunning) {
  // Through the harness, which checks a stage block exactly as a graph file's.
  for (const char* bad : {"1.5", "-0.1", "often"}) {
    try {
      Harness(bad);
      ADD_FAILURE() << "probability " << bad << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr("probability")) << bad;
    }
  }
  // And in a whole graph: the loader names the file, the line and the parameter.
  Registry registry;
  for (const Registry::Entry* entry : AugmentRegistry().all()) {
    registry.begin_library(entry->library, entry->library_version, entry->origin);
    registry.add(entry->info);
    registry.end_library(true);
  }
  StageInfo source;
  source.name = "test_source";
  source.kind = StageKind::kSource;
  source.outputs = {{"out", "sample", ""}};
  source.create = [] { return std::unique_ptr<Stage>(); };
  registry.add(source);
  StageInfo sink;
  sink.name = "test_sink";
  sink.kind = StageKind::kSink;
  sink.inputs = {{"in", "sample", ""}};
  sink.create = [] { return std::unique_ptr<Stage>(); };
  registry.add(sink);
  const std::string graph =
      "stage { name: \"digits\" plugin: \"test_source\" }\n"
      "stage { name: \"aug\" plugin: \"" +
      GetParam().stage +
      "\" input: \"digits\"\n"
      "  param { key: \"probability\" value: \"2\" } }\n"
      "stage { name: \"end\" plugin: \"test_sink\" input: \"aug\" }\n";
  const LoadResult result = LoadGraphText(graph, "tiny.graph", registry, {});
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].file, "tiny.graph");
  EXPECT_EQ(result.errors[0].line, 3);
  EXPECT_THAT(result.errors[0].message, HasSubstr("probability"));
}

TEST_P(AugmentContractTest, RefusesSamplesItCannotAugment) {
  auto harness = Harness("1");
  auto empty = MnistSample(0);
  empty->image = cv::Mat();
  EXPECT_THROW(harness->push(0, 0, 0, empty), std::runtime_error);
  auto sixteen_bit = MnistSample(0);
  sixteen_bit->image.convertTo(sixteen_bit->image, CV_16U, 257);
  try {
    harness->push(0, 0, 0, sixteen_bit);
    ADD_FAILURE() << "a 16-bit image was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("CV_16U"));
    EXPECT_THAT(e.what(), HasSubstr("t10k-images-idx3-ubyte.gz#0"));
  }
  EXPECT_TRUE(harness->outputs().empty());
  // Another payload type (the engine's port check would stop it first; the stage still refuses).
  class Discard : public Emitter {
   public:
    void emit(std::shared_ptr<const Payload>, int64_t, int64_t, int) override { ++emitted; }
    void end_epoch(int64_t) override {}
    int emitted = 0;
  } discard;
  EXPECT_THROW(harness->stage().process({.payload = std::make_shared<Batch>()}, discard),
               std::runtime_error);
  EXPECT_EQ(discard.emitted, 0);
}

INSTANTIATE_TEST_SUITE_P(Plugins, AugmentContractTest, ::testing::ValuesIn(kPlugins),
                         [](const auto& test) { return test.param.stage; });

}  // namespace
}  // namespace pipeline::augment_test
