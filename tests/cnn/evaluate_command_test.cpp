// `pipeline evaluate`'s defaults: the report folder depends on the data evaluated (evaluating the
// training set must not replace the test set's report), and labels are found by MNIST's naming.
#include "app/evaluate_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace pipeline::cnn {
namespace {

using ::testing::HasSubstr;

TEST(EvaluateCommand, ReportFolderIsNamedAfterCheckpointAndData) {
  EXPECT_EQ(DefaultReportFolder("runs/mnist/best.ckpt", "data/mnist/t10k-images-idx3-ubyte.gz"),
            "runs/mnist/best_evaluation_t10k");
  EXPECT_EQ(DefaultReportFolder("runs/mnist/best.ckpt", "data/mnist/train-images-idx3-ubyte.gz"),
            "runs/mnist/best_evaluation_train");
  EXPECT_EQ(DefaultReportFolder("model.ckpt", "my-images-idx3-ubyte.gz"), "model_evaluation_my");
  EXPECT_EQ(DefaultReportFolder("model.ckpt", "/data/digits.idx"), "model_evaluation_digits");
}

TEST(EvaluateCommand, LabelsAreTheFileBesideByMnistNaming) {
  EXPECT_EQ(LabelsBesideImages("data/mnist/train-images-idx3-ubyte.gz"),
            "data/mnist/train-labels-idx1-ubyte.gz");
  EXPECT_EQ(LabelsBesideImages("t10k-images-idx3-ubyte"), "t10k-labels-idx1-ubyte");
  EXPECT_EQ(LabelsBesideImages("digits.idx"), "");
}

TEST(EvaluateCommand, GraphPrintsNoTrainingEpochLine) {
  EvaluationPlan plan;
  plan.checkpoint = "best.ckpt";
  plan.images = "t10k-images-idx3-ubyte.gz";
  plan.labels = "t10k-labels-idx1-ubyte.gz";
  plan.out_dir = "out";
  EXPECT_THAT(EvaluationGraphText(plan), HasSubstr("key: \"epoch_lines\"\n    value: \"false\""));
}

}  // namespace
}  // namespace pipeline::cnn
