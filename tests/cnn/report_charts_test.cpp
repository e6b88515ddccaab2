// The report's pictures and the figures behind them: tick values, the most confident mistakes
// and the pixels shown for them are checked against values worked out by hand; every chart has
// its documented size, shows the series it should and is not blank.
#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/imgcodecs.hpp>

#include "report_test_util.h"
#include "stages/cnn/classification_metrics.h"
#include "stages/cnn/display_pixels.h"
#include "stages/report/chart_drawing.h"
#include "stages/report/confusion_chart.h"
#include "stages/report/curves_chart.h"
#include "stages/report/mistakes_chart.h"
#include "stages/report/per_class_chart.h"
#include "stages/sources/idx_reader.h"

namespace pipeline::cnn::testing {
namespace {

using report::kTestColour;
using report::kTrainColour;
using report::kValidationColour;

cv::Vec3b Bgr(const cv::Scalar& s) {
  return {static_cast<uchar>(s[0]), static_cast<uchar>(s[1]), static_cast<uchar>(s[2])};
}

TEST(ChartDrawing, NiceAxisPicksRoundTicksCoveringTheRange) {
  const report::Axis loss = report::NiceAxis(0, 0.87, 5);
  EXPECT_DOUBLE_EQ(loss.step, 0.2);
  EXPECT_DOUBLE_EQ(loss.low, 0);
  EXPECT_NEAR(loss.high, 1.0, 1e-12);
  ASSERT_EQ(loss.ticks.size(), 6u);
  EXPECT_NEAR(loss.ticks[3], 0.6, 1e-12);

  const report::Axis accuracy = report::NiceAxis(97.3, 99.4, 5);
  EXPECT_DOUBLE_EQ(accuracy.step, 0.5);
  EXPECT_DOUBLE_EQ(accuracy.low, 97.0);
  EXPECT_DOUBLE_EQ(accuracy.high, 99.5);

  const report::Axis single = report::NiceAxis(3, 3, 5);  // one value still gets a range
  EXPECT_LT(single.low, 3);
  EXPECT_GT(single.high, 3);
  EXPECT_EQ(report::TickLabel(0.6000000001, 0.2), "0.6");
  EXPECT_EQ(report::TickLabel(97.5, 0.5), "97.5");
  EXPECT_EQ(report::TickLabel(20, 5), "20");
}

TEST(MostConfidentMistakes, MatchHandComputedValues) {
  // Three classes. Sample 0 right; 1 wrong (says 2); 2 wrong (says 0); 3 right; 4 wrong (says 1)
  // with the same scores as sample 1 shifted, so the same confidence.
  const std::vector<float> logits = {3, 0, 0, 0, 1, 2, 5, 0, 0, 0, 0, 1, 2, 3, 1};
  const std::vector<int32_t> labels = {0, 0, 2, 2, 0};
  const auto wrong = MostConfidentMistakes(logits.data(), labels.data(), 5, 3, 10);
  ASSERT_EQ(wrong.size(), 3u);
  // softmax max: sample 2: e^5/(e^5+2) ; samples 1 and 4: e^2/(e^0+e^1+e^2).
  const double sure = std::exp(5.0) / (std::exp(5.0) + 2);
  const double less = std::exp(2.0) / (1 + std::exp(1.0) + std::exp(2.0));
  EXPECT_EQ(wrong[0].sample, 2);
  EXPECT_EQ(wrong[0].predicted, 0);
  EXPECT_NEAR(wrong[0].confidence, sure, 1e-6);
  EXPECT_EQ(wrong[1].sample, 1) << "equal confidence keeps sample order";
  EXPECT_EQ(wrong[1].predicted, 2);
  EXPECT_NEAR(wrong[1].confidence, less, 1e-6);
  EXPECT_EQ(wrong[2].sample, 4);
  EXPECT_EQ(wrong[2].predicted, 1);

  EXPECT_EQ(MostConfidentMistakes(logits.data(), labels.data(), 5, 3, 1).size(), 1u);
  EXPECT_TRUE(MostConfidentMistakes(logits.data(), labels.data(), 5, 3, 0).empty());
}

TEST(DisplayPixels, UndoesTheNormalizationOfRealMnistDigits) {
  const IdxImages images =
      ReadIdxImages(std::string(PIPELINE_MNIST_DIR) + "/t10k-images-idx3-ubyte.gz");
  const Normalization normalization{true, 1.0 / 255.0, 0.1307, 0.3081};
  for (const int64_t i : {0, 1, 9999}) {
    const cv::Mat raw = images.image(i);
    cv::Mat normalized;
    raw.convertTo(normalized, CV_32F, normalization.scale / normalization.std,
                  -normalization.mean / normalization.std);
    const cv::Mat shown = DisplayPixels(normalized.ptr<float>(), 28, 28, 1, normalization);
    ASSERT_EQ(shown.type(), CV_8UC1);
    EXPECT_LE(cv::norm(shown, raw, cv::NORM_INF), 1.0) << "image " << i;
  }
  // Without a recorded normalization the values are stretched to 0..255.
  const std::vector<float> values = {-2, 0, 2, 6};
  const cv::Mat stretched = DisplayPixels(values.data(), 2, 2, 1, Normalization{});
  EXPECT_EQ(stretched.at<uchar>(0, 0), 0);
  EXPECT_EQ(stretched.at<uchar>(0, 1), 64);
  EXPECT_EQ(stretched.at<uchar>(1, 1), 255);
}

TEST(ReportCharts, CurvesShowEverySeriesAtTheirSize) {
  const cv::Mat curves = report::DrawCurves(MadeUpEpochs(5));
  EXPECT_EQ(curves.cols, report::kCurvesWidth);
  EXPECT_EQ(curves.rows, report::kCurvesHeight);
  ExpectNotBlank(curves, 20);
  EXPECT_TRUE(HasColourNear(curves, Bgr(kTrainColour)));
  EXPECT_TRUE(HasColourNear(curves, Bgr(kValidationColour)));
  EXPECT_TRUE(HasColourNear(curves, Bgr(kTestColour)));

  // Without validation or test figures only the training series is drawn.
  std::vector<proto::EpochMetrics> train_only = MadeUpEpochs(3);
  for (auto& row : train_only) {
    row.set_has_test(false);
    row.set_has_validation(false);
  }
  const cv::Mat plain = report::DrawCurves(train_only);
  EXPECT_TRUE(HasColourNear(plain, Bgr(kTrainColour)));
  EXPECT_FALSE(HasColourNear(plain, Bgr(kValidationColour)));
  EXPECT_FALSE(HasColourNear(plain, Bgr(kTestColour)));
  // A single epoch and a non-finite loss draw without trouble.
  std::vector<proto::EpochMetrics> broken = MadeUpEpochs(2);
  broken[1].set_train_loss(std::nan(""));
  ExpectNotBlank(report::DrawCurves(broken), 20);
  ExpectNotBlank(report::DrawCurves(MadeUpEpochs(1)), 20);
}

TEST(ReportCharts, ConfusionHasACellPerClassPair) {
  const proto::EpochMetrics row = MadeUpEpochs(1)[0];
  const cv::Mat confusion = report::DrawConfusion(row);
  const int cell = report::ConfusionCellSize(3);
  EXPECT_GE(confusion.cols, 3 * cell);
  EXPECT_GE(confusion.rows, 3 * cell);
  ExpectNotBlank(confusion, 20);
  // Class 0's cell (3 of 4 found) is three quarters of the way to dark blue; the largest
  // mistake count is dark red.
  EXPECT_TRUE(HasColourNear(confusion, {169, 109, 79}));
  EXPECT_TRUE(HasColourNear(confusion, {30, 30, 190}));
  proto::EpochMetrics empty;
  EXPECT_THROW(report::DrawConfusion(empty), std::invalid_argument);
}

TEST(ReportCharts, PerClassBarsAndMistakesGrid) {
  const cv::Mat bars = report::DrawPerClass(MadeUpEpochs(1)[0]);
  EXPECT_EQ(bars.cols, report::PerClassWidth(3));
  EXPECT_EQ(bars.rows, report::kPerClassHeight);
  ExpectNotBlank(bars, 20);
  EXPECT_TRUE(HasColourNear(bars, Bgr(kTestColour)));
  EXPECT_TRUE(HasColourNear(bars, Bgr(kTrainColour)));

  const IdxImages images =
      ReadIdxImages(std::string(PIPELINE_MNIST_DIR) + "/t10k-images-idx3-ubyte.gz");
  std::vector<Mistake> mistakes;
  for (int i = 0; i < 10; ++i)
    mistakes.push_back({images.image(i), i % 10, 3, 0.9f, "#" + std::to_string(i)});
  const cv::Mat grid = report::DrawMistakes(mistakes, 0);
  EXPECT_EQ(grid.rows, report::kMistakesTitleHeight + 2 * report::kMistakeTileHeight + 10);
  EXPECT_EQ(grid.cols, 20 + report::kMistakeColumns * report::kMistakeTileWidth);
  ExpectNotBlank(grid, 20);
  EXPECT_TRUE(HasColourNear(grid, Bgr(report::kWrongColour))) << "the wrong answers in red";
  // The first digit appears enlarged: its brightest pixel is white in the first tile.
  double brightest = 0;
  cv::minMaxLoc(grid(cv::Rect(10, report::kMistakesTitleHeight, report::kMistakeTileWidth, 90)),
                nullptr, &brightest);
  EXPECT_GE(brightest, 250);
  ExpectNotBlank(report::DrawMistakes({}, 3), 2);
}

}  // namespace
}  // namespace pipeline::cnn::testing
