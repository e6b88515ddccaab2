// count: totals per epoch, the order fingerprint, the JSON report and expect_samples.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "pipeline/payloads.h"
#include "tests/unit/stage_test_util.h"

namespace pipeline {
namespace {

using stage_test::DrainSource;
using stage_test::Feed;
using stage_test::OpenStage;
using stage_test::StandardRegistry;
using stage_test::TempDir;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

Message SampleAt(int64_t epoch, int64_t index, int label) {
  auto sample = std::make_shared<Sample>();
  sample->image = cv::Mat(1, 1, CV_8UC1, cv::Scalar(0));
  sample->label = label;
  return Message{epoch, index, 0, std::move(sample)};
}

Message BatchAt(int64_t epoch, int64_t index, std::vector<int64_t> indices,
                std::vector<int32_t> labels) {
  auto batch = std::make_shared<Batch>();
  batch->indices = std::move(indices);
  batch->labels = std::move(labels);
  return Message{epoch, index, 0, std::move(batch)};
}

// Runs a count sink over `epochs` and returns the line it printed.
std::string SummaryOf(const std::vector<std::vector<Message>>& epochs,
                      const std::map<std::string, std::string>& overrides = {},
                      const std::string& name = "count") {
  const Registry registry = StandardRegistry();
  auto count = OpenStage(registry, "count", overrides, name);
  ::testing::internal::CaptureStdout();
  try {
    Feed(*count, epochs);
  } catch (...) {
    ::testing::internal::GetCapturedStdout();
    throw;
  }
  return ::testing::internal::GetCapturedStdout();
}

std::string FingerprintOf(const std::vector<std::vector<Message>>& epochs) {
  const std::string line = SummaryOf(epochs);
  return line.substr(line.find("fingerprint ") + 12, 16);
}

std::vector<Message> Samples(int64_t epoch, std::vector<int> labels) {
  std::vector<Message> messages;
  for (size_t i = 0; i < labels.size(); ++i) {
    messages.push_back(SampleAt(epoch, static_cast<int64_t>(i), labels[i]));
  }
  return messages;
}

TEST(CountSinkTest, CountsSamplesAndBatchesOverEpochs) {
  const std::string line =
      SummaryOf({Samples(0, {1, 2, 3}),
                 {BatchAt(1, 0, {0, 1, 2, 3}, {5, 6, 7, 8}), BatchAt(1, 1, {4, 5}, {9, 0})}});
  EXPECT_THAT(line, MatchesRegex("count: 9 samples in 5 messages over 2 epoch\\(s\\), order "
                                 "fingerprint [0-9a-f]{16}\n"));
  EXPECT_THAT(SummaryOf({Samples(0, {1})}, {}, "val_count"), HasSubstr("(stage \"val_count\")"));
}

TEST(CountSinkTest, FingerprintFollowsOrderAndContent) {
  const auto in_order = Samples(0, {4, 5, 6});
  auto swapped = in_order;
  std::swap(swapped[0], swapped[1]);
  auto relabelled = in_order;
  relabelled[2] = SampleAt(0, 2, 7);

  const std::string reference = FingerprintOf({in_order});
  EXPECT_EQ(FingerprintOf({Samples(0, {4, 5, 6})}), reference);
  EXPECT_NE(FingerprintOf({swapped}), reference);
  EXPECT_NE(FingerprintOf({relabelled}), reference);
  EXPECT_NE(FingerprintOf({Samples(1, {4, 5, 6})}), reference);

  const std::string batches = FingerprintOf({{BatchAt(0, 0, {0, 1}, {3, 4})}});
  EXPECT_NE(FingerprintOf({{BatchAt(0, 0, {1, 0}, {4, 3})}}), batches);
}

TEST(CountSinkTest, WritesJsonAtomically) {
  TempDir dir;
  const std::string path = dir.file("counts.json");
  const std::string line =
      SummaryOf({Samples(0, {1, 2}), Samples(1, {3, 4, 5})}, {{"output", path}}, "counter");
  std::ifstream file(path);
  std::stringstream json;
  json << file.rdbuf();
  EXPECT_THAT(json.str(), HasSubstr("\"stage\": \"counter\""));
  EXPECT_THAT(json.str(), HasSubstr("\"samples\": 5,"));
  EXPECT_THAT(json.str(), HasSubstr("\"messages\": 5,"));
  EXPECT_THAT(json.str(), HasSubstr("\"epochs\": 2,"));
  EXPECT_THAT(json.str(), HasSubstr("{\"epoch\": 1, \"samples\": 3, \"messages\": 3}"));
  const std::string fingerprint = line.substr(line.find("fingerprint ") + 12, 16);
  EXPECT_THAT(json.str(), HasSubstr("\"fingerprint\": \"" + fingerprint + "\""));
  // Written under a temporary name and renamed: none is left.
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
  }
}

TEST(CountSinkTest, ExpectSamplesFailsOnAMismatch) {
  EXPECT_NO_THROW(SummaryOf({Samples(0, {1, 2, 3})}, {{"expect_samples", "3"}}));
  try {
    SummaryOf({Samples(0, {1, 2, 3})}, {{"expect_samples", "4"}});
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("expected 4 samples, got 3"));
  }
}

TEST(CountSinkTest, CountsTheMnistTestSetAndSeesShuffles) {
  const Registry registry = StandardRegistry();
  const std::string images = std::string(PIPELINE_MNIST_DIR) + "/t10k-images-idx3-ubyte.gz";
  const std::string labels = std::string(PIPELINE_MNIST_DIR) + "/t10k-labels-idx1-ubyte.gz";
  auto summary = [&](const std::string& shuffle, uint64_t seed) {
    auto source =
        OpenStage(registry, "idx_source",
                  {{"images", images}, {"labels", labels}, {"shuffle", shuffle}}, "source", seed);
    return SummaryOf({DrainSource(*source).messages()}, {{"expect_samples", "10000"}});
  };
  const std::string plain = summary("false", 1);
  EXPECT_THAT(plain, HasSubstr("count: 10000 samples in 10000 messages over 1 epoch(s)"));
  EXPECT_EQ(summary("false", 2), plain);  // no shuffle: the seed does not matter
  const std::string shuffled = summary("true", 1);
  EXPECT_NE(shuffled, plain);
  EXPECT_EQ(summary("true", 1), shuffled);
}

}  // namespace
}  // namespace pipeline
