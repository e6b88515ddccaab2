// `evaluate` and the figures behind it: metrics checked against values worked out by hand on a
// tiny fixture, and the stage checked against the model's own evaluation on real MNIST.
#include <gtest/gtest.h>

#include <cmath>

#include "cnn_stage_test_util.h"
#include "pipeline/testing/stage_harness.h"
#include "stages/cnn/classification_metrics.h"

namespace pipeline::cnn::testing {
namespace {

// Mean of -log softmax(row)[label], written out for the fixture below.
double CrossEntropy(const std::vector<std::vector<float>>& rows, const std::vector<int>& labels) {
  double sum = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    double denominator = 0;
    for (float v : rows[i]) denominator += std::exp(double{v});
    sum += -std::log(std::exp(double{rows[i][labels[i]]}) / denominator);
  }
  return sum / static_cast<double>(rows.size());
}

TEST(ClassificationMetrics, MatchHandComputedValues) {
  // Four classes; class 3 is never the answer and never predicted. Predictions: 0, 1, 0, 2, 1.
  const std::vector<std::vector<float>> rows = {
      {2, 1, 0, -9}, {0, 3, 0, -9}, {1, 0, 0, -9}, {0, 0, 5, -9}, {0, 2, 1, -9}};
  const std::vector<int> labels = {0, 1, 2, 2, 0};
  std::vector<float> logits;
  for (const auto& row : rows) logits.insert(logits.end(), row.begin(), row.end());
  const std::vector<int32_t> label32(labels.begin(), labels.end());
  proto::EpochMetrics metrics;
  metrics.set_train_loss(0.25);  // untouched
  FillTestMetrics(logits.data(), label32.data(), 5, 4, &metrics);

  EXPECT_TRUE(metrics.has_test());
  EXPECT_EQ(metrics.train_loss(), 0.25);
  EXPECT_EQ(metrics.test_samples(), 5);
  EXPECT_EQ(metrics.classes(), 4);
  EXPECT_DOUBLE_EQ(metrics.test_accuracy(), 0.6);
  EXPECT_NEAR(metrics.test_loss(), CrossEntropy(rows, labels), 1e-12);
  // Rows are true classes, columns predictions.
  const std::vector<int64_t> confusion = {1, 1, 0, 0,   // true 0: predicted 0 and 1
                                          0, 1, 0, 0,   // true 1
                                          1, 0, 1, 0,   // true 2: predicted 0 and 2
                                          0, 0, 0, 0};  // true 3: no samples
  EXPECT_EQ(std::vector<int64_t>(metrics.confusion().begin(), metrics.confusion().end()),
            confusion);
  ASSERT_EQ(metrics.per_class_size(), 4);
  const double expected[4][4] = {// precision, recall, f1, support
                                 {0.5, 0.5, 0.5, 2},
                                 {0.5, 1.0, 2.0 / 3.0, 1},
                                 {1.0, 0.5, 2.0 / 3.0, 2},
                                 {0.0, 0.0, 0.0, 0}};
  for (int c = 0; c < 4; ++c) {
    SCOPED_TRACE("class " + std::to_string(c));
    EXPECT_DOUBLE_EQ(metrics.per_class(c).precision(), expected[c][0]);
    EXPECT_DOUBLE_EQ(metrics.per_class(c).recall(), expected[c][1]);
    EXPECT_DOUBLE_EQ(metrics.per_class(c).f1(), expected[c][2]);
    EXPECT_EQ(metrics.per_class(c).support(), static_cast<int64_t>(expected[c][3]));
  }
}

TEST(ClassificationMetrics, RejectsALabelOutsideTheClasses) {
  const std::vector<float> logits = {1, 0, 0, 1};
  const std::vector<int32_t> labels = {0, 2};
  proto::EpochMetrics metrics;
  try {
    FillTestMetrics(logits.data(), labels.data(), 2, 2, &metrics);
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("test sample 1 has label 2"), std::string::npos)
        << e.what();
  }
}

// MNIST test images [first, first + n) as one batch, normalized like TrainedSnapshot's data.
std::shared_ptr<Batch> TestBatch(const MnistSamples& data, int64_t first, int64_t n) {
  auto batch = std::make_shared<Batch>();
  batch->rows = 28;
  batch->cols = 28;
  batch->channels = 1;
  batch->data.assign(data.images.begin() + first * 784, data.images.begin() + (first + n) * 784);
  batch->labels.assign(data.labels.begin() + first, data.labels.begin() + first + n);
  for (int64_t i = first; i < first + n; ++i) {
    batch->indices.push_back(i);
    batch->sources.push_back("t10k#" + std::to_string(i));
  }
  batch->epoch_size = data.count;
  batch->normalization = {true, 1.0 / 255.0, 0.1307, 0.3081};
  return batch;
}

TEST(EvaluateStage, WaitsForTheTestSetThenMatchesTheModelsOwnEvaluation) {
  const Registry registry = StandardRegistry();
  StageHarness harness(registry, R"(plugin: "evaluate")");
  const auto snapshot = TrainedSnapshot(TinySpec(), 30);
  const MnistSamples test = load_mnist("t10k", 250);

  harness.push(0, 0, 0, snapshot);  // the model arrives before the test data
  harness.push(1, 0, 0, TestBatch(test, 0, 200));
  harness.push(1, 0, 1, TestBatch(test, 200, 50));
  EXPECT_TRUE(harness.outputs().empty()) << "evaluated before the test set ended";
  harness.end_epoch(1, 0);

  const auto models = harness.outputs_of_type<ModelSnapshot>(0);
  const auto metrics = harness.outputs_of_type<MetricsPayload>(1);
  ASSERT_EQ(models.size(), 1u);
  ASSERT_EQ(metrics.size(), 1u);
  const proto::EpochMetrics& row = metrics[0]->metrics;
  std::unique_ptr<Model> model = RestoreModel(*snapshot);
  const StepResult direct = model->evaluate(test.images.data(), test.labels.data(), 250);
  EXPECT_EQ(row.test_samples(), 250);
  EXPECT_DOUBLE_EQ(row.test_accuracy(), static_cast<double>(direct.correct) / 250.0);
  EXPECT_NEAR(row.test_loss(), direct.loss, 1e-5);
  EXPECT_GT(row.test_accuracy(), 0.5) << "30 Adam steps should beat chance by far";
  int64_t total = 0;
  for (int64_t count : row.confusion()) total += count;
  EXPECT_EQ(total, 250);
  EXPECT_EQ(row.train_loss(), 0.5) << "the training figures are kept";

  // The emitted snapshot is a new object sharing the weights; the input is unchanged.
  EXPECT_NE(models[0].get(), snapshot.get());
  EXPECT_EQ(models[0]->tensors, snapshot->tensors);
  EXPECT_TRUE(models[0]->metrics.back().has_test());
  EXPECT_FALSE(snapshot->metrics.back().has_test());
  EXPECT_EQ(models[0]->metrics.back().test_accuracy(), row.test_accuracy());

  // A model arriving after the test set ended is evaluated at once, and the test figures of
  // earlier epochs, missing from the trainer's history, are filled in.
  harness.clear_outputs();
  auto next = std::make_shared<ModelSnapshot>(*snapshot);
  proto::EpochMetrics second;
  second.set_epoch(1);
  next->metrics.push_back(second);
  harness.push(0, 1, 0, next);
  const auto later = harness.outputs_of_type<ModelSnapshot>(0);
  ASSERT_EQ(later.size(), 1u);
  ASSERT_EQ(later[0]->metrics.size(), 2u);
  EXPECT_TRUE(later[0]->metrics[1].has_test());
  EXPECT_TRUE(later[0]->metrics[0].has_test());
  EXPECT_EQ(later[0]->metrics[0].test_accuracy(), row.test_accuracy());
  harness.close();
}

TEST(EvaluateStage, RefusesTestDataNormalizedDifferentlyFromTraining) {
  const Registry registry = StandardRegistry();
  StageHarness harness(registry, R"(plugin: "evaluate")");
  const MnistSamples test = load_mnist("t10k", 10);
  auto batch = TestBatch(test, 0, 10);
  batch->normalization.mean = 0.5;
  harness.push(1, 0, 0, batch);
  harness.end_epoch(1, 0);
  try {
    harness.push(0, 0, 0, TrainedSnapshot(TinySpec(), 1));
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("normalized differently"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace pipeline::cnn::testing
