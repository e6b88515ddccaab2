// `cnn_predict`: 8-bit MNIST images are normalized with the checkpoint's normalization and give
// the model's own predictions; batches flush at epoch ends; bad samples fail clearly.
#include <gtest/gtest.h>

#include <fstream>

#include "cnn_stage_test_util.h"
#include "pipeline/testing/stage_harness.h"
#include "stages/cnn/checkpoint.h"
#include "stages/sources/idx_reader.h"

namespace pipeline::cnn::testing {
namespace {

class PredictStage : public ::testing::Test {
 protected:
  void SetUp() override {
    snapshot_ = TrainedSnapshot(TinySpec(), 4, &model_);
    checkpoint_ = dir_.file("model.ckpt");
    SaveCheckpoint(*snapshot_, checkpoint_);
    images_ = ReadIdxImages(std::string(PIPELINE_MNIST_DIR) + "/t10k-images-idx3-ubyte.gz");
  }

  std::unique_ptr<StageHarness> Harness(int batch) {
    return std::make_unique<StageHarness>(
        registry_, R"(plugin: "cnn_predict" param { key: "checkpoint" value: ")" + checkpoint_ +
                       R"(" } param { key: "batch" value: ")" + std::to_string(batch) + R"(" })");
  }

  std::shared_ptr<Sample> RawSample(int64_t i) const {
    auto sample = std::make_shared<Sample>();
    sample->image = images_.image(i);
    sample->label = 7;
    sample->source = "t10k#" + std::to_string(i);
    sample->box = cv::Rect(1, 2, 3, 4);
    sample->row = static_cast<int>(i % 3);  // the line of writing the digit came from
    return sample;
  }

  Registry registry_ = StandardRegistry();
  TempDir dir_;
  std::shared_ptr<ModelSnapshot> snapshot_;
  std::unique_ptr<Model> model_;
  std::string checkpoint_;
  IdxImages images_;
};

TEST_F(PredictStage, ClassifiesRawImagesLikeTheTrainedModel) {
  auto harness = Harness(8);
  for (int64_t i = 0; i < 20; ++i) harness->push(0, 0, i, RawSample(i));
  EXPECT_EQ(harness->outputs_of_type<Prediction>().size(), 16u) << "two full batches of 8";
  harness->end_epoch(0, 0);  // flushes the last 4
  const auto predictions = harness->outputs_of_type<Prediction>();
  ASSERT_EQ(predictions.size(), 20u);

  const MnistSamples test = load_mnist("t10k", 20);  // normalized in the test helper
  std::vector<float> expected(20 * 10);
  model_->predict(test.images.data(), 20, expected.data());
  for (int64_t i = 0; i < 20; ++i) {
    SCOPED_TRACE("sample " + std::to_string(i));
    const Prediction& p = *predictions[static_cast<size_t>(i)];
    EXPECT_EQ(harness->outputs()[static_cast<size_t>(i)].index, i);
    EXPECT_EQ(p.source, "t10k#" + std::to_string(i));
    EXPECT_EQ(p.label, 7);
    EXPECT_EQ(p.box, cv::Rect(1, 2, 3, 4));
    EXPECT_EQ(p.row, i % 3);
    EXPECT_TRUE(p.error.empty());
    ASSERT_EQ(p.probabilities.size(), 10u);
    int best = 0;
    for (int c = 0; c < 10; ++c) {
      EXPECT_NEAR(p.probabilities[c], expected[i * 10 + c], 1e-4);
      if (expected[i * 10 + c] > expected[i * 10 + best]) best = c;
    }
    EXPECT_EQ(p.predicted, best);
    EXPECT_FLOAT_EQ(p.confidence, p.probabilities[static_cast<size_t>(best)]);
  }
  harness->close();
}

TEST_F(PredictStage, SamplesThatCannotBeClassifiedGetAnErrorNotACrash) {
  auto harness = Harness(4);
  auto empty = std::make_shared<Sample>();
  empty->source = "blank.png";
  auto small = std::make_shared<Sample>();
  small->image = cv::Mat(20, 20, CV_8UC1, cv::Scalar(0));
  small->source = "small.png";
  harness->push(0, 0, 0, empty);
  harness->push(0, 0, 1, RawSample(0));
  harness->push(0, 0, 2, small);
  harness->close();
  const auto predictions = harness->outputs_of_type<Prediction>();
  ASSERT_EQ(predictions.size(), 3u);
  EXPECT_EQ(predictions[0]->predicted, -1);
  EXPECT_NE(predictions[0]->error.find("no image"), std::string::npos);
  EXPECT_TRUE(predictions[1]->error.empty());
  EXPECT_GE(predictions[1]->predicted, 0);
  EXPECT_NE(predictions[2]->error.find("20x20x1 but the model takes 28x28x1"), std::string::npos)
      << predictions[2]->error;
}

TEST_F(PredictStage, FloatSamplesMustCarryTheCheckpointsNormalization) {
  auto harness = Harness(4);
  const auto raw = RawSample(3);
  cv::Mat normalized;
  raw->image.convertTo(normalized, CV_32F, (1.0 / 255.0) / 0.3081, -0.1307 / 0.3081);
  auto same = raw->with_image(normalized);
  same->normalization = {true, 1.0 / 255.0, 0.1307, 0.3081};
  harness->push(0, 0, 0, same);
  harness->push(0, 0, 1, raw);
  harness->end_epoch(0, 0);
  const auto predictions = harness->outputs_of_type<Prediction>();
  ASSERT_EQ(predictions.size(), 2u);
  for (int c = 0; c < 10; ++c) {
    EXPECT_NEAR(predictions[0]->probabilities[c], predictions[1]->probabilities[c], 1e-6);
  }

  auto other = raw->with_image(normalized);
  other->normalization = {true, 1.0 / 255.0, 0.5, 0.5};
  try {
    harness->push(0, 1, 0, other);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("normalized with mean 0.5"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find(checkpoint_), std::string::npos) << e.what();
  }
}

TEST_F(PredictStage, ABadCheckpointFailsAtOpenNamingTheFile) {
  const std::string bad = dir_.file("bad.ckpt");
  std::ofstream(bad) << "not a checkpoint";
  try {
    StageHarness harness(
        registry_, R"(plugin: "cnn_predict" param { key: "checkpoint" value: ")" + bad + R"(" })");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace pipeline::cnn::testing
