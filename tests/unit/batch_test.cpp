// batch: stacking layout, epoch boundaries, drop_last, and the errors for bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "pipeline/payloads.h"
#include "tests/unit/stage_test_util.h"

namespace pipeline {
namespace {

using stage_test::DrainSource;
using stage_test::Feed;
using stage_test::OpenStage;
using stage_test::RecordingEmitter;
using stage_test::StandardRegistry;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A rows x cols float sample whose every pixel is `value`, labelled `label`.
Message FloatSample(int64_t epoch, int64_t index, float value, int rows = 2, int cols = 3,
                    int channels = 1) {
  auto sample = std::make_shared<Sample>();
  sample->image = cv::Mat(rows, cols, CV_32FC(channels), cv::Scalar::all(value));
  sample->label = static_cast<int>(index % 10);
  sample->source = "s" + std::to_string(epoch) + "_" + std::to_string(index);
  return Message{epoch, index, 0, std::move(sample)};
}

std::vector<Message> Epoch(int64_t epoch, int64_t count) {
  std::vector<Message> messages;
  for (int64_t i = 0; i < count; ++i) {
    messages.push_back(FloatSample(epoch, i, static_cast<float>(100 * epoch + i)));
  }
  return messages;
}

std::vector<int64_t> BatchSizes(const RecordingEmitter& out) {
  std::vector<int64_t> sizes;
  for (const auto& msg : out.messages()) sizes.push_back(msg.as<Batch>().size());
  return sizes;
}

TEST(BatchTest, StacksSamplesInOrderAsNhwc) {
  const Registry registry = StandardRegistry();
  auto batch = OpenStage(registry, "batch", {{"size", "4"}});
  EXPECT_EQ(batch->held_inputs(), 4);
  const RecordingEmitter out = Feed(*batch, {Epoch(0, 10)});
  EXPECT_THAT(BatchSizes(out), ElementsAre(4, 4, 2));

  const auto messages = out.messages();
  for (size_t b = 0; b < messages.size(); ++b) {
    EXPECT_EQ(messages[b].epoch, 0);
    EXPECT_EQ(messages[b].index, static_cast<int64_t>(b));
  }
  const Batch& second = messages[1].as<Batch>();
  EXPECT_EQ(second.rows, 2);
  EXPECT_EQ(second.cols, 3);
  EXPECT_EQ(second.channels, 1);
  EXPECT_EQ(second.sample_elements(), 6);
  ASSERT_EQ(second.data.size(), 24u);
  for (int n = 0; n < 4; ++n) {
    for (int e = 0; e < 6; ++e) EXPECT_EQ(second.data[static_cast<size_t>(n * 6 + e)], 4 + n);
  }
  EXPECT_THAT(second.indices, ElementsAre(4, 5, 6, 7));
  EXPECT_THAT(second.labels, ElementsAre(4, 5, 6, 7));
  EXPECT_THAT(second.sources, ElementsAre("s0_4", "s0_5", "s0_6", "s0_7"));
  EXPECT_THAT(messages[2].as<Batch>().indices, ElementsAre(8, 9));
}

TEST(BatchTest, InterleavesChannelsAndReadsNonContiguousImages) {
  cv::Mat big(4, 4, CV_32FC2);
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 4; ++c) big.at<cv::Vec2f>(r, c) = cv::Vec2f(10.0f * r + c, -1.0f);
  }
  auto sample = std::make_shared<Sample>();
  sample->image = big(cv::Rect(1, 1, 2, 2));  // a view with row padding
  ASSERT_FALSE(sample->image.isContinuous());
  const Registry registry = StandardRegistry();
  auto batch = OpenStage(registry, "batch", {{"size", "1"}});
  const RecordingEmitter out = Feed(*batch, {{Message{0, 0, 0, sample}}});
  const Batch& result = out.messages().at(0).as<Batch>();
  EXPECT_EQ(result.channels, 2);
  EXPECT_THAT(result.data, ElementsAre(11, -1, 12, -1, 21, -1, 22, -1));
}

TEST(BatchTest, NeverSpansEpochsAndRestartsBatchNumbers) {
  const Registry registry = StandardRegistry();
  auto batch = OpenStage(registry, "batch", {{"size", "4"}});
  const RecordingEmitter out = Feed(*batch, {Epoch(0, 6), Epoch(1, 6)});
  const auto messages = out.messages();
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_THAT(BatchSizes(out), ElementsAre(4, 2, 4, 2));
  const std::vector<std::pair<int64_t, int64_t>> positions = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
  for (size_t b = 0; b < messages.size(); ++b) {
    EXPECT_EQ(messages[b].epoch, positions[b].first);
    EXPECT_EQ(messages[b].index, positions[b].second);
  }
  EXPECT_THAT(messages[1].as<Batch>().indices, ElementsAre(4, 5));
  EXPECT_THAT(messages[2].as<Batch>().sources, ElementsAre("s1_0", "s1_1", "s1_2", "s1_3"));
}

TEST(BatchTest, DropLastDropsEachEpochsPartialBatch) {
  const Registry registry = StandardRegistry();
  auto batch = OpenStage(registry, "batch", {{"size", "4"}, {"drop_last", "true"}});
  const RecordingEmitter out = Feed(*batch, {Epoch(0, 6), Epoch(1, 8)});
  EXPECT_THAT(BatchSizes(out), ElementsAre(4, 4, 4));
  EXPECT_EQ(out.messages()[1].epoch, 1);
}

TEST(BatchTest, ShapeMismatchNamesBothSamplesAndShapes) {
  const Registry registry = StandardRegistry();
  auto batch = OpenStage(registry, "batch", {{"size", "4"}});
  RecordingEmitter out;
  batch->process(FloatSample(0, 0, 1.0f, 28, 28), out);
  try {
    batch->process(FloatSample(0, 1, 1.0f, 32, 28), out);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("sample s0_1 is 32x28x1 but the batch started with 28x28x1 "
                                    "(sample s0_0)"));
  }
}

TEST(BatchTest, RefusesEightBitSamplesPointingAtNormalize) {
  auto sample = std::make_shared<Sample>();
  sample->image = cv::Mat(28, 28, CV_8UC1, cv::Scalar(0));
  sample->source = "t10k-images-idx3-ubyte.gz#0";
  const Registry registry = StandardRegistry();
  auto batch = OpenStage(registry, "batch");
  RecordingEmitter out;
  try {
    batch->process(Message{0, 0, 0, sample}, out);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("sample t10k-images-idx3-ubyte.gz#0 has CV_8U pixels"));
    EXPECT_THAT(e.what(), HasSubstr("put a `normalize` stage before `batch`"));
  }
}

TEST(BatchTest, BatchesTheMnistTestSet) {
  const Registry registry = StandardRegistry();
  for (const bool drop_last : {false, true}) {
    auto source =
        OpenStage(registry, "idx_source",
                  {{"images", std::string(PIPELINE_MNIST_DIR) + "/t10k-images-idx3-ubyte.gz"},
                   {"labels", std::string(PIPELINE_MNIST_DIR) + "/t10k-labels-idx1-ubyte.gz"}});
    auto normalize = OpenStage(registry, "normalize");
    auto batch = OpenStage(registry, "batch", {{"drop_last", drop_last ? "true" : "false"}});
    RecordingEmitter normalized;
    for (const auto& msg : DrainSource(*source).messages()) normalize->process(msg, normalized);
    const RecordingEmitter out = Feed(*batch, {normalized.messages()});
    const auto messages = out.messages();
    // 10000 = 78 * 128 + 16.
    ASSERT_EQ(messages.size(), drop_last ? 78u : 79u);
    EXPECT_EQ(messages.front().as<Batch>().size(), 128);
    EXPECT_EQ(messages.back().as<Batch>().size(), drop_last ? 128 : 16);
    const Batch& first = messages.front().as<Batch>();
    EXPECT_EQ(first.labels.front(), 7);
    EXPECT_EQ(first.data.size(), 128u * 28 * 28);
    EXPECT_EQ(first.rows, 28);
    EXPECT_EQ(first.epoch_size, 10000);
    if (!drop_last) {
      EXPECT_EQ(messages.back().as<Batch>().indices.back(), 9999);
    }
  }
}

}  // namespace
}  // namespace pipeline
