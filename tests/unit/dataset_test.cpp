// A dataset described once: dataset files (idx_source `dataset`/`part`), the description every
// sample carries (DatasetInfo), normalize's mean/std auto, and multi-channel IDX files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "pipeline/payloads.h"
#include "tests/unit/stage_test_util.h"

namespace pipeline {
namespace {

using stage_test::DrainSource;
using stage_test::OpenStage;
using stage_test::RecordingEmitter;
using stage_test::StandardRegistry;
using stage_test::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kMnistDir = PIPELINE_MNIST_DIR;
using Overrides = std::map<std::string, std::string>;

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A dataset file over the team's MNIST copy, with paths relative to the file where `relative`.
std::string MnistDatasetText(const std::string& extra = "") {
  return "name: \"digits\"\n"
         "class_names: [\"zero\", \"one\", \"two\", \"three\", \"four\", \"five\", \"six\", "
         "\"seven\", \"eight\", \"nine\"]\n"
         "train { images: \"" +
         kMnistDir + "/train-images-idx3-ubyte.gz\" labels: \"" + kMnistDir +
         "/train-labels-idx1-ubyte.gz\" }\n"
         "test { images: \"" +
         kMnistDir + "/t10k-images-idx3-ubyte.gz\" labels: \"" + kMnistDir +
         "/t10k-labels-idx1-ubyte.gz\" }\n" + extra;
}

RecordingEmitter RunSource(const Overrides& overrides) {
  const Registry registry = StandardRegistry();
  auto source = OpenStage(registry, "idx_source", overrides);
  return DrainSource(*source);
}

std::string ErrorOf(const Overrides& overrides) {
  try {
    RunSource(overrides);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

// MNIST's training images have the customary mean 0.1307 and standard deviation 0.3081 (pixels
// in [0, 1]): measuring them is how `auto` reproduces the figures every MNIST recipe types in.
TEST(DatasetTest, MeasuresTheTrainingImagesStatistics) {
  const RecordingEmitter out =
      RunSource({{"images", kMnistDir + "/train-images-idx3-ubyte.gz"}, {"limit", "3"}});
  const Sample& sample = out.messages().front().as<Sample>();
  ASSERT_NE(sample.dataset, nullptr);
  EXPECT_TRUE(sample.dataset->has_statistics);
  EXPECT_NEAR(sample.dataset->mean, 0.1307, 5e-5);
  EXPECT_NEAR(sample.dataset->std, 0.3081, 5e-5);
  // Every sample shares the one description.
  EXPECT_EQ(out.messages().back().as<Sample>().dataset, sample.dataset);
}

// The test part of a dataset file is normalized with the *training* images' figures, and both
// parts carry the file's name and class names.
TEST(DatasetTest, TestPartCarriesTheTrainingStatisticsAndTheClassNames) {
  TempDir dir;
  const std::string file = dir.file("digits.dataset");
  WriteText(file, MnistDatasetText());
  const RecordingEmitter test = RunSource({{"dataset", file}, {"part", "test"}, {"limit", "5"}});
  const Sample& first = test.messages().front().as<Sample>();
  EXPECT_THAT(first.source, HasSubstr("t10k-images-idx3-ubyte.gz#0"));
  EXPECT_EQ(first.label, 7);  // the MNIST test set's first digit
  ASSERT_NE(first.dataset, nullptr);
  EXPECT_EQ(first.dataset->name, "digits");
  EXPECT_EQ(first.dataset->ClassName(first.label), "seven");
  EXPECT_NEAR(first.dataset->mean, 0.1307, 5e-5);
  EXPECT_THAT(first.dataset->statistics_source, HasSubstr("train-images-idx3-ubyte.gz"));

  // normalize with its defaults (auto) applies exactly those figures.
  const Registry registry = StandardRegistry();
  auto normalize = OpenStage(registry, "normalize");
  RecordingEmitter normalized;
  normalize->process(test.messages().front(), normalized);
  const Sample& result = normalized.messages().front().as<Sample>();
  EXPECT_DOUBLE_EQ(result.normalization.mean, first.dataset->mean);
  EXPECT_DOUBLE_EQ(result.normalization.std, first.dataset->std);
  EXPECT_EQ(result.dataset, first.dataset);  // and passes the description on
  cv::Mat expected;
  first.image.convertTo(expected, CV_32F, 1.0 / 255.0 / first.dataset->std,
                        -first.dataset->mean / first.dataset->std);
  EXPECT_LT(cv::norm(result.image, expected, cv::NORM_INF), 1e-5);

  // Given figures win over measuring, and explicit numbers in normalize over either.
  WriteText(file, MnistDatasetText("mean: 0.5\nstd: 0.25\n"));
  const RecordingEmitter given_out = RunSource({{"dataset", file}, {"limit", "1"}});
  const Sample& given = given_out.messages()[0].as<Sample>();
  EXPECT_EQ(given.dataset->mean, 0.5);
  EXPECT_EQ(given.dataset->std, 0.25);
  auto fixed = OpenStage(registry, "normalize", {{"mean", "0.1"}, {"std", "0.2"}});
  RecordingEmitter fixed_out;
  fixed->process(test.messages().front(), fixed_out);
  EXPECT_EQ(fixed_out.messages()[0].as<Sample>().normalization.mean, 0.1);
}

TEST(DatasetTest, RelativePathsAreTakenFromTheDatasetFilesFolder) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("sets"));
  std::filesystem::copy_file(kMnistDir + "/t10k-images-idx3-ubyte.gz", dir.file("images.gz"));
  WriteText(dir.file("sets/local.dataset"), "train { images: \"../images.gz\" }\n");
  const RecordingEmitter out = RunSource({{"dataset", dir.file("sets/local.dataset")}});
  EXPECT_EQ(out.messages().size(), 10000u);
  EXPECT_EQ(out.messages()[0].as<Sample>().label, -1);  // no labels given: unlabelled
}

TEST(DatasetTest, BadDatasetFilesAreNamedWithTheProblem) {
  TempDir dir;
  const std::string file = dir.file("bad.dataset");
  WriteText(file, "name: \"x\"\ntrain { images: \"a.gz\" \n colour: 3 }\n");
  EXPECT_THAT(ErrorOf({{"dataset", file}}), HasSubstr(file + ": line 3:"));
  WriteText(file, "name: \"no train part\"\n");
  EXPECT_THAT(ErrorOf({{"dataset", file}}), HasSubstr("gives no train { images: ... }"));
  WriteText(file, MnistDatasetText("mean: 0.5\n"));
  EXPECT_THAT(ErrorOf({{"dataset", file}}), HasSubstr("give both or neither"));
  WriteText(file, "class_names: [\"a\", \"a\"] train { images: \"x.gz\" }\n");
  EXPECT_THAT(ErrorOf({{"dataset", file}}), HasSubstr("names class \"a\" twice"));
  WriteText(file, "train { images: \"" + kMnistDir + "/train-images-idx3-ubyte.gz\" }\n");
  EXPECT_THAT(ErrorOf({{"dataset", file}, {"part", "test"}}),
              HasSubstr(file + ": gives no test { images: ... } for part test"));
  EXPECT_THAT(ErrorOf({{"dataset", file}, {"images", "x.gz"}}),
              HasSubstr("`images` and `dataset` both given"));
  EXPECT_THAT(ErrorOf({{"dataset", dir.file("missing.dataset")}}),
              HasSubstr("missing.dataset: cannot open the dataset file"));
  EXPECT_THAT(ErrorOf({}), HasSubstr("give `images` (an IDX image file) or `dataset`"));
  // Fewer class names than the labels need.
  WriteText(file, "class_names: [\"a\", \"b\"]\ntrain { images: \"" + kMnistDir +
                      "/t10k-images-idx3-ubyte.gz\" labels: \"" + kMnistDir +
                      "/t10k-labels-idx1-ubyte.gz\" }\n");
  EXPECT_THAT(ErrorOf({{"dataset", file}}), HasSubstr("has label 9"));
}

// A 0x804 IDX file (count x rows x cols x channels) streams colour images of any size.
TEST(DatasetTest, ReadsMultiChannelIdxImages) {
  TempDir dir;
  const std::string path = dir.file("colour-idx4.gz");
  std::vector<uint8_t> bytes = {0, 0, 8, 4, 0, 0, 0, 2, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 3};
  for (int i = 0; i < 2 * 5 * 6 * 3; ++i) bytes.push_back(static_cast<uint8_t>(i));
  gzFile out = gzopen(path.c_str(), "wb");
  gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(out);
  const RecordingEmitter samples = RunSource({{"images", path}});
  ASSERT_EQ(samples.messages().size(), 2u);
  const cv::Mat& second = samples.messages()[1].as<Sample>().image;
  EXPECT_EQ(second.type(), CV_8UC3);
  EXPECT_EQ(second.rows, 5);
  EXPECT_EQ(second.cols, 6);
  // Pixel (row 0, col 1) of image 1: bytes 90 + 3 .. 90 + 5.
  EXPECT_EQ(second.at<cv::Vec3b>(0, 1), cv::Vec3b(93, 94, 95));
  const DatasetInfo& info = *samples.messages()[0].as<Sample>().dataset;
  EXPECT_NEAR(info.mean, 89.5 / 255.0, 1e-9);  // values 0..179, each once

  // A fourth dimension outside 1..4 is refused with the file's name.
  bytes[19] = 7;
  out = gzopen(path.c_str(), "wb");
  gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(out);
  EXPECT_THAT(ErrorOf({{"images", path}}), HasSubstr(path + ": header gives 7 channels"));
}

TEST(DatasetTest, ShippedDatasetFilesParse) {
  for (const char* name : {"mnist.dataset", "fashion_mnist.dataset"}) {
    const std::string path = std::string(PIPELINE_SOURCE_DIR) + "/datasets/" + name;
    try {
      RunSource({{"dataset", path}, {"limit", "1"}});
    } catch (const std::exception& e) {
      // The data itself may be absent here (fetched by the set-up); the file must still parse.
      EXPECT_THAT(e.what(), ::testing::Not(HasSubstr(path + ": line"))) << e.what();
    }
  }
}

}  // namespace
}  // namespace pipeline
