// idx_source on the real MNIST test set, and on small broken IDX files.
#include "stages/sources/idx_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "pipeline/payloads.h"
#include "stages/sources/idx_reader.h"
#include "tests/unit/stage_test_util.h"

namespace pipeline {
namespace {

using stage_test::DrainSource;
using stage_test::OpenStage;
using stage_test::RecordingEmitter;
using stage_test::StandardRegistry;
using stage_test::TempDir;
using ::testing::HasSubstr;

const std::string kMnistDir = PIPELINE_MNIST_DIR;
const std::string kTestImages = kMnistDir + "/t10k-images-idx3-ubyte.gz";
const std::string kTestLabels = kMnistDir + "/t10k-labels-idx1-ubyte.gz";
constexpr int64_t kTestCount = 10000;

using Overrides = std::map<std::string, std::string>;

Overrides MnistTest(Overrides extra = {}) {
  extra.emplace("images", kTestImages);
  extra.emplace("labels", kTestLabels);
  return extra;
}

RecordingEmitter RunSource(const Overrides& overrides, const std::string& name = "source",
                           uint64_t seed = 1) {
  const Registry registry = StandardRegistry();
  auto source = OpenStage(registry, "idx_source", overrides, name, seed);
  return DrainSource(*source);
}

// The file index behind each sample, from its "file#index" source string.
std::vector<int64_t> FileIndices(const RecordingEmitter& out) {
  std::vector<int64_t> indices;
  for (const auto& msg : out.messages()) {
    const std::string& source = msg.as<Sample>().source;
    indices.push_back(std::stoll(source.substr(source.find('#') + 1)));
  }
  return indices;
}

std::string ErrorOf(const Overrides& overrides) {
  try {
    RunSource(overrides);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

void WriteBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream file(path, std::ios::binary);
  file.write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

void WriteGzip(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  gzclose(file);
}

std::vector<uint8_t> Gunzip(const std::string& path) {
  std::vector<uint8_t> bytes;
  gzFile file = gzopen(path.c_str(), "rb");
  std::array<uint8_t, 65536> chunk;
  int got = 0;
  while ((got = gzread(file, chunk.data(), chunk.size())) > 0) {
    bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + got);
  }
  gzclose(file);
  return bytes;
}

void PutBigEndian(std::vector<uint8_t>& bytes, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back((value >> shift) & 0xff);
}

// A small IDX image file: `count` in the header, `stored` images of rows x cols actually present.
std::vector<uint8_t> ImageFile(uint32_t count, uint32_t rows, uint32_t cols, size_t stored_bytes) {
  std::vector<uint8_t> bytes;
  PutBigEndian(bytes, kIdxImagesMagic);
  PutBigEndian(bytes, count);
  PutBigEndian(bytes, rows);
  PutBigEndian(bytes, cols);
  for (size_t i = 0; i < stored_bytes; ++i) bytes.push_back(static_cast<uint8_t>(i * 7));
  return bytes;
}

std::vector<uint8_t> LabelFile(uint32_t count, size_t stored) {
  std::vector<uint8_t> bytes;
  PutBigEndian(bytes, kIdxLabelsMagic);
  PutBigEndian(bytes, count);
  for (size_t i = 0; i < stored; ++i) bytes.push_back(static_cast<uint8_t>(i % 3));
  return bytes;
}

TEST(IdxSourceTest, StreamsTheMnistTestSetWithItsKnownClassCounts) {
  const RecordingEmitter out = RunSource(MnistTest());
  const auto messages = out.messages();
  ASSERT_EQ(static_cast<int64_t>(messages.size()), kTestCount);
  ASSERT_EQ(static_cast<int64_t>(out.events.size()), kTestCount + 1);
  EXPECT_TRUE(out.events.back().is_end_epoch());
  EXPECT_EQ(out.events.back().epoch, 0);

  std::array<int, 10> class_counts{};
  for (int64_t i = 0; i < kTestCount; ++i) {
    const Message& msg = messages[static_cast<size_t>(i)];
    EXPECT_EQ(msg.epoch, 0);
    ASSERT_EQ(msg.index, i);
    const Sample& sample = msg.as<Sample>();
    ASSERT_EQ(sample.image.type(), CV_8UC1);
    ASSERT_EQ(sample.image.rows, 28);
    ASSERT_EQ(sample.image.cols, 28);
    ASSERT_GE(sample.label, 0);
    ASSERT_LE(sample.label, 9);
    ++class_counts[static_cast<size_t>(sample.label)];
  }
  EXPECT_THAT(class_counts,
              ::testing::ElementsAre(980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009));
  const Sample& first = messages.front().as<Sample>();
  EXPECT_EQ(first.label, 7);
  EXPECT_EQ(first.source, "t10k-images-idx3-ubyte.gz#0");
  EXPECT_EQ(first.epoch_size, kTestCount);
  EXPECT_EQ(messages.back().as<Sample>().source, "t10k-images-idx3-ubyte.gz#9999");
  // MNIST digits are white strokes on a black 28x28 field: black corner, some bright ink.
  EXPECT_EQ(first.image.at<uint8_t>(0, 0), 0);
  double max_value = 0;
  cv::minMaxLoc(first.image, nullptr, &max_value);
  EXPECT_GT(max_value, 200);
}

TEST(IdxReaderTest, ReadsTheMnistTrainingSetWithItsKnownClassCounts) {
  const IdxImages images = ReadIdxImages(kMnistDir + "/train-images-idx3-ubyte.gz");
  const std::vector<int32_t> labels = ReadIdxLabels(kMnistDir + "/train-labels-idx1-ubyte.gz");
  EXPECT_EQ(images.count, 60000);
  EXPECT_EQ(images.rows, 28);
  EXPECT_EQ(images.cols, 28);
  EXPECT_EQ(images.image(59999).size(), cv::Size(28, 28));
  EXPECT_EQ(images.image(59999).rows, 28);
  ASSERT_EQ(labels.size(), 60000u);
  std::array<int, 10> class_counts{};
  for (int32_t label : labels) ++class_counts.at(static_cast<size_t>(label));
  EXPECT_THAT(class_counts,
              ::testing::ElementsAre(5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949));
  EXPECT_EQ(labels.front(), 5);  // the first training digit is a 5
}

TEST(IdxSourceTest, ReturnsFalseAfterTheLastEpoch) {
  const Registry registry = StandardRegistry();
  auto source = OpenStage(registry, "idx_source", MnistTest({{"limit", "2"}}));
  RecordingEmitter out;
  EXPECT_TRUE(source->produce(out));
  EXPECT_TRUE(source->produce(out));
  EXPECT_FALSE(source->produce(out));
  EXPECT_FALSE(source->produce(out));
  EXPECT_EQ(out.events.size(), 3u);  // two samples, one end of epoch
}

TEST(IdxSourceTest, EndsEveryEpochAfterItsLastSample) {
  const RecordingEmitter out = RunSource(MnistTest({{"epochs", "3"}, {"limit", "100"}}));
  ASSERT_EQ(out.events.size(), 303u);
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    for (int64_t i = 0; i < 100; ++i) {
      const auto& event = out.events[static_cast<size_t>(epoch * 101 + i)];
      ASSERT_FALSE(event.is_end_epoch());
      EXPECT_EQ(event.epoch, epoch);
      EXPECT_EQ(event.index, i);
    }
    const auto& boundary = out.events[static_cast<size_t>(epoch * 101 + 100)];
    EXPECT_TRUE(boundary.is_end_epoch());
    EXPECT_EQ(boundary.epoch, epoch);
  }
}

TEST(IdxSourceTest, SamplesAreReadFromDiskAsTheFileHoldsThem) {
  // The reference: the decompressed file's bytes for images 0 and 1, read with zlib directly.
  gzFile file = gzopen((kMnistDir + "/t10k-images-idx3-ubyte.gz").c_str(), "rb");
  ASSERT_NE(file, nullptr);
  std::vector<unsigned char> bytes(16 + 2 * 28 * 28);
  ASSERT_EQ(gzread(file, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  gzclose(file);

  const RecordingEmitter out = RunSource(MnistTest({{"limit", "2"}}));
  const auto messages = out.messages();
  for (int i = 0; i < 2; ++i) {
    const cv::Mat& image = messages[i].as<Sample>().image;
    ASSERT_TRUE(image.isContinuous());
    EXPECT_TRUE(std::equal(image.data, image.data + 28 * 28, bytes.data() + 16 + i * 28 * 28))
        << "image " << i;
  }
  // Each sample owns its pixels: nothing keeps the whole file in memory.
  EXPECT_NE(messages[0].as<Sample>().image.data + 28 * 28, messages[1].as<Sample>().image.data);
}

TEST(IdxSourceTest, ShuffleIsAPermutationDeterminedBySeedNameAndEpoch) {
  const Overrides shuffled = MnistTest({{"shuffle", "true"}, {"epochs", "2"}});
  const RecordingEmitter a = RunSource(shuffled, "source", 7);
  const RecordingEmitter b = RunSource(shuffled, "source", 7);
  const RecordingEmitter other_seed = RunSource(shuffled, "source", 8);
  const RecordingEmitter other_name = RunSource(shuffled, "train_source", 7);

  const auto order = FileIndices(a);
  ASSERT_EQ(static_cast<int64_t>(order.size()), 2 * kTestCount);
  EXPECT_EQ(FileIndices(b), order);
  EXPECT_NE(FileIndices(other_seed), order);
  EXPECT_NE(FileIndices(other_name), order);

  const std::vector<int64_t> epoch0(order.begin(), order.begin() + kTestCount);
  const std::vector<int64_t> epoch1(order.begin() + kTestCount, order.end());
  EXPECT_NE(epoch0, epoch1);  // a new order every epoch
  std::vector<int64_t> file_order(kTestCount);
  std::iota(file_order.begin(), file_order.end(), 0);
  EXPECT_NE(epoch0, file_order);
  for (auto epoch : {epoch0, epoch1}) {
    std::sort(epoch.begin(), epoch.end());
    EXPECT_EQ(epoch, file_order);  // every sample exactly once
  }

  // Labels travel with their images, and positions still count 0..n-1 within each epoch.
  const RecordingEmitter plain = RunSource(MnistTest());
  const auto plain_messages = plain.messages();
  const auto shuffled_messages = a.messages();
  for (size_t i = 0; i < shuffled_messages.size(); ++i) {
    EXPECT_EQ(shuffled_messages[i].index, static_cast<int64_t>(i % kTestCount));
    const auto file_index = static_cast<size_t>(order[i]);
    ASSERT_EQ(shuffled_messages[i].as<Sample>().label,
              plain_messages[file_index].as<Sample>().label);
  }
}

TEST(IdxSourceTest, TrainAndValidationSplitsPartitionTheFileFromItsEnd) {
  const auto train = FileIndices(RunSource(
      MnistTest({{"split", "train"}, {"validation_fraction", "0.1"}, {"shuffle", "true"}})));
  const auto validation = FileIndices(RunSource(
      MnistTest({{"split", "validation"}, {"validation_fraction", "0.1"}, {"shuffle", "true"}})));
  ASSERT_EQ(train.size(), 9000u);
  EXPECT_EQ(
      RunSource(MnistTest({{"split", "train"}, {"validation_fraction", "0.1"}, {"limit", "1"}}))
          .messages()
          .front()
          .as<Sample>()
          .epoch_size,
      1);
  ASSERT_EQ(validation.size(), 1000u);
  const std::set<int64_t> train_set(train.begin(), train.end());
  const std::set<int64_t> validation_set(validation.begin(), validation.end());
  EXPECT_EQ(train_set.size(), 9000u);
  EXPECT_EQ(validation_set.size(), 1000u);
  EXPECT_EQ(*train_set.rbegin(), 8999);
  EXPECT_EQ(*validation_set.begin(), 9000);
  EXPECT_EQ(*validation_set.rbegin(), 9999);

  // "all" ignores the fraction.
  EXPECT_EQ(RunSource(MnistTest({{"validation_fraction", "0.1"}})).messages().size(), 10000u);
}

TEST(IdxSourceTest, LimitTakesTheFirstSamplesOfTheSplit) {
  EXPECT_EQ(FileIndices(RunSource(MnistTest({{"limit", "5"}}))),
            (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(FileIndices(RunSource(MnistTest(
                {{"limit", "3"}, {"split", "validation"}, {"validation_fraction", "0.2"}}))),
            (std::vector<int64_t>{8000, 8001, 8002}));
  EXPECT_EQ(RunSource(MnistTest({{"limit", "20000"}})).messages().size(), 10000u);

  // A shuffled limited run shuffles just those samples.
  auto shuffled = FileIndices(RunSource(MnistTest({{"limit", "50"}, {"shuffle", "true"}})));
  std::sort(shuffled.begin(), shuffled.end());
  std::vector<int64_t> first50(50);
  std::iota(first50.begin(), first50.end(), 0);
  EXPECT_EQ(shuffled, first50);
}

TEST(IdxSourceTest, EmptyValidationSplitIsAnError) {
  EXPECT_THAT(ErrorOf(MnistTest({{"split", "validation"}})),
              HasSubstr("split \"validation\" of " + kTestImages + " is empty"));
}

TEST(IdxSourceTest, UnlabelledImagesGetLabelMinusOne) {
  const RecordingEmitter out = RunSource({{"images", kTestImages}, {"limit", "3"}});
  ASSERT_EQ(out.messages().size(), 3u);
  for (const auto& msg : out.messages()) EXPECT_EQ(msg.as<Sample>().label, -1);
}

TEST(IdxSourceTest, ClassNamesMustMatchTheDistinctLabels) {
  const Registry registry = StandardRegistry();
  auto source = OpenStage(registry, "idx_source",
                          MnistTest({{"class_names",
                                      "zero, one,two,three,four,five,six,seven,"
                                      "eight,nine"}}));
  EXPECT_THAT(dynamic_cast<const IdxSource&>(*source).class_names(),
              ::testing::ElementsAre("zero", "one", "two", "three", "four", "five", "six", "seven",
                                     "eight", "nine"));
  EXPECT_THAT(
      ErrorOf(MnistTest({{"class_names", "a,b,c"}})),
      HasSubstr("class_names gives 3 names (labels 0..2) but " + kTestLabels + " has label 9"));
  EXPECT_THAT(ErrorOf(MnistTest({{"class_names", "a,b,c,d,e,f,g,h,i,a"}})),
              HasSubstr("names \"a\" twice"));
  EXPECT_THAT(ErrorOf(MnistTest({{"class_names", "a,,c"}})), HasSubstr("empty name"));
}

TEST(IdxSourceTest, StopsWhenAStopIsRequested) {
  const Registry registry = StandardRegistry();
  const auto& info = registry.find("idx_source")->info;
  auto source = info.create();
  std::atomic<bool> stop{false};
  StageEnv env;
  env.name = "source";
  env.stop_requested = &stop;
  source->set_env(env);
  source->open(stage_test::MakeParams(info, MnistTest()));
  RecordingEmitter out;
  EXPECT_TRUE(source->produce(out));
  stop = true;
  EXPECT_FALSE(source->produce(out));
  EXPECT_EQ(out.events.size(), 1u);
}

TEST(IdxSourceTest, RawAndGzipFilesAreToldApartByContentNotName) {
  TempDir dir;
  // Deliberately misleading names: the raw file ends in .gz, the gzip file does not.
  const std::string raw = dir.file("raw-images.gz");
  const std::string gzip = dir.file("gzip-images");
  const std::vector<uint8_t> image_bytes = Gunzip(kTestImages);
  WriteBytes(raw, image_bytes);
  WriteGzip(gzip, image_bytes);
  const auto from_raw = RunSource({{"images", raw}, {"labels", kTestLabels}}).messages();
  const auto from_gzip = RunSource({{"images", gzip}, {"labels", kTestLabels}}).messages();
  const auto from_mnist = RunSource(MnistTest()).messages();
  ASSERT_EQ(from_raw.size(), 10000u);
  ASSERT_EQ(from_gzip.size(), 10000u);
  for (size_t i = 0; i < from_raw.size(); i += 997) {
    const cv::Mat& expected = from_mnist[i].as<Sample>().image;
    EXPECT_EQ(cv::norm(from_raw[i].as<Sample>().image, expected, cv::NORM_INF), 0);
    EXPECT_EQ(cv::norm(from_gzip[i].as<Sample>().image, expected, cv::NORM_INF), 0);
  }
}

TEST(IdxSourceTest, ReadsAnyImageSize) {
  TempDir dir;
  const std::string images = dir.file("small-images");
  const std::string labels = dir.file("small-labels");
  WriteBytes(images, ImageFile(3, 2, 5, 30));
  WriteBytes(labels, LabelFile(3, 3));
  const auto messages = RunSource({{"images", images}, {"labels", labels}}).messages();
  ASSERT_EQ(messages.size(), 3u);
  const Sample& last = messages[2].as<Sample>();
  EXPECT_EQ(last.image.rows, 2);
  EXPECT_EQ(last.image.cols, 5);
  EXPECT_EQ(last.image.at<uint8_t>(1, 4), static_cast<uint8_t>(29 * 7));
  EXPECT_EQ(last.label, 2);
  EXPECT_EQ(last.source, "small-images#2");
}

TEST(IdxSourceTest, MissingFileNamesTheFile) {
  const std::string missing = kMnistDir + "/no-such-file-idx3-ubyte.gz";
  EXPECT_THAT(ErrorOf({{"images", missing}}), HasSubstr(missing + ": cannot open"));
  EXPECT_THAT(ErrorOf({{"images", kTestImages}, {"labels", missing}}),
              HasSubstr(missing + ": cannot open"));
}

TEST(IdxSourceTest, BadMagicNamesTheFileAndBothNumbers) {
  // The label file given as images, and the other way round.
  EXPECT_THAT(
      ErrorOf({{"images", kTestLabels}}),
      HasSubstr(kTestLabels +
                ": bad magic 0x00000801 (expected 0x00000803 or 0x00000804 for IDX images)"));
  EXPECT_THAT(
      ErrorOf({{"images", kTestImages}, {"labels", kTestImages}}),
      HasSubstr(kTestImages + ": bad magic 0x00000803 (expected 0x00000801 for IDX labels)"));
  TempDir dir;
  const std::string text = dir.file("notes.txt");
  WriteBytes(text, {'h', 'e', 'l', 'l', 'o', '\n'});
  EXPECT_THAT(ErrorOf({{"images", text}}), HasSubstr(text + ": bad magic 0x68656c6c"));
  const std::string tiny = dir.file("tiny");
  WriteBytes(tiny, {0, 0});
  EXPECT_THAT(ErrorOf({{"images", tiny}}), HasSubstr(tiny + ": too short for an IDX file"));
}

TEST(IdxSourceTest, TruncatedFileSaysWhatWasExpectedAndFound) {
  TempDir dir;
  const std::string images = dir.file("cut-images");
  WriteBytes(images, ImageFile(10, 28, 28, 5 * 784 + 100));
  EXPECT_THAT(ErrorOf({{"images", images}}),
              HasSubstr(images + ": truncated: header says 10 images of 28x28 (7840 bytes of "
                                 "pixels), found 4020 bytes (5 whole images)"));
  const std::string header = dir.file("cut-header");
  WriteBytes(header, {0, 0, 8, 3, 0, 0});
  EXPECT_THAT(ErrorOf({{"images", header}}),
              HasSubstr(header + ": truncated header: expected 16 bytes, found 6"));
  const std::string labels = dir.file("cut-labels");
  WriteBytes(images, ImageFile(10, 28, 28, 10 * 784));
  WriteBytes(labels, LabelFile(10, 7));
  EXPECT_THAT(ErrorOf({{"images", images}, {"labels", labels}}),
              HasSubstr(labels + ": truncated: header says 10 labels, found 7"));
}

TEST(IdxSourceTest, AbsurdHeaderIsRefusedBeforeAllocatingForIt) {
  TempDir dir;
  // A terabyte of pixels announced by a file of a few bytes, raw and gzip.
  const std::string raw = dir.file("huge-raw");
  const std::vector<uint8_t> bytes = ImageFile(1000000, 1000, 1000, 10);
  WriteBytes(raw, bytes);
  EXPECT_THAT(ErrorOf({{"images", raw}}),
              HasSubstr(raw + ": truncated: header says 1000000 images of 1000x1000 "
                              "(1000000000000 bytes of pixels), found 10 bytes (0 whole images)"));
  const std::string gzip = dir.file("huge-gzip");
  WriteGzip(gzip, bytes);
  EXPECT_THAT(ErrorOf({{"images", gzip}}),
              HasSubstr(gzip + ": truncated: header says 1000000 images of 1000x1000"));
}

TEST(IdxSourceTest, TrailingBytesAreAnError) {
  TempDir dir;
  const std::string images = dir.file("long-images");
  WriteBytes(images, ImageFile(2, 3, 3, 2 * 9 + 4));
  EXPECT_THAT(ErrorOf({{"images", images}}),
              HasSubstr(images + ": 4 unexpected bytes after the 2 images of 3x3"));
}

TEST(IdxSourceTest, TruncatedGzipNamesTheFile) {
  TempDir dir;
  const std::string cut = dir.file("t10k-images-idx3-ubyte.gz");
  std::vector<uint8_t> bytes = ReadBytes(kTestImages);
  bytes.resize(bytes.size() / 2);
  WriteBytes(cut, bytes);
  const std::string error = ErrorOf({{"images", cut}});
  EXPECT_THAT(error, HasSubstr(cut + ": truncated: header says 10000 images of 28x28"));
  EXPECT_THAT(error, HasSubstr("the gzip stream ends early"));

  // Cut only the 8-byte trailer: every label is there, but the checksum is not.
  const std::string no_trailer = dir.file("labels-without-trailer.gz");
  bytes = ReadBytes(kTestLabels);
  bytes.resize(bytes.size() - 8);
  WriteBytes(no_trailer, bytes);
  EXPECT_THAT(ErrorOf({{"images", kTestImages}, {"labels", no_trailer}}),
              HasSubstr(no_trailer + ": the gzip stream ends before its checksum"));
}

TEST(IdxSourceTest, CorruptGzipNamesTheFile) {
  TempDir dir;
  const std::string corrupt = dir.file("corrupt.gz");
  std::vector<uint8_t> bytes = ReadBytes(kTestLabels);
  // Damage the trailer's CRC: the data decompresses but fails the check at its end.
  bytes[bytes.size() - 6] ^= 0xff;
  WriteBytes(corrupt, bytes);
  EXPECT_THAT(ErrorOf({{"images", kTestImages}, {"labels", corrupt}}),
              HasSubstr(corrupt + ": corrupt gzip data"));
}

TEST(IdxSourceTest, ImageAndLabelCountsMustMatch) {
  TempDir dir;
  const std::string images = dir.file("images");
  const std::string labels = dir.file("labels");
  WriteBytes(images, ImageFile(10, 4, 4, 160));
  WriteBytes(labels, LabelFile(9, 9));
  EXPECT_THAT(ErrorOf({{"images", images}, {"labels", labels}}),
              HasSubstr(labels + ": has 9 labels but " + images + " has 10 images"));
  EXPECT_THAT(
      ErrorOf({{"images", kTestImages}, {"labels", kMnistDir + "/train-labels-idx1-ubyte.gz"}}),
      HasSubstr("has 60000 labels but " + kTestImages + " has 10000 images"));
}

}  // namespace
}  // namespace pipeline
