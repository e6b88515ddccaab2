// The report's files: metrics.json parses back into what was written, metrics.csv has a row per
// epoch with the right cells, index.html names every picture, the pictures on disk have their
// sizes — written directly, by the `report` stage, and by `evaluate` feeding it mistakes.
#include "stages/report/report_writer.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "cnn_stage_test_util.h"
#include "pipeline/testing/stage_harness.h"
#include "report_test_util.h"
#include "stages/report/curves_chart.h"
#include "stages/report/per_class_chart.h"
#include "stages/sources/idx_reader.h"

namespace pipeline::cnn::testing {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

MetricsPayload LatestOf(const std::vector<proto::EpochMetrics>& epochs) {
  MetricsPayload latest;
  latest.metrics = epochs.back();
  const IdxImages images =
      ReadIdxImages(std::string(PIPELINE_MNIST_DIR) + "/t10k-images-idx3-ubyte.gz");
  latest.mistakes.push_back({images.image(8), 5, 6, 0.75f, "t10k#8"});
  latest.mistakes.push_back({images.image(9), 9, 4, 0.5f, "t10k, \"quoted\" <b>#9</b>"});
  return latest;
}

TEST(ReportWriter, WritesEveryFileConsistently) {
  TempDir dir;
  const std::vector<proto::EpochMetrics> epochs = MadeUpEpochs(4);
  const MetricsPayload latest = LatestOf(epochs);
  report::RunContext context{"train.graph", "name: \"t\"\nstage { name: \"a<b>\" }\n", 42, 2,
                             "pipeline run train.graph"};
  const auto figures = report::WriteReport(dir.path().string(), epochs, latest, context);
  ASSERT_EQ(figures.size(), 4u);

  // metrics.json parses back into the message that was written.
  proto::RunReport parsed;
  const std::string json = ReadAll(dir.file(report::kJsonFile));
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok()) << json;
  proto::RunReport expected = report::BuildRunReport(epochs, latest, context);
  expected.set_written_at(parsed.written_at());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, expected))
      << parsed.DebugString();
  ASSERT_EQ(parsed.epochs_size(), 4);
  EXPECT_EQ(parsed.epochs(3).confusion(1), 1);
  EXPECT_EQ(parsed.seed(), 42u);
  ASSERT_EQ(parsed.mistakes_size(), 2);
  EXPECT_EQ(parsed.mistakes(0).predicted(), 6);
  EXPECT_NE(json.find("\"has_validation\": false"), std::string::npos)
      << "every field is present, with proto field names";

  // metrics.csv: header + one row per epoch; validation cells empty where absent.
  const std::vector<std::string> csv = Lines(ReadAll(dir.file(report::kCsvFile)));
  ASSERT_EQ(csv.size(), 5u);
  EXPECT_EQ(csv[0].rfind("epoch,train_loss,train_accuracy,validation_loss,", 0), 0u) << csv[0];
  EXPECT_EQ(csv[1], "1,1,0.8,,,0.8,0.7,0.01,240,2.5,0.5,");
  EXPECT_EQ(csv[2], "2,0.5,0.84,0.45,0.86,0.4,0.7,0.005,240,2.5,0.5,");

  // index.html names every picture, escapes the graph and links only local files.
  const std::string html = ReadAll(dir.file(report::kIndexFile));
  for (const char* png : {report::kCurvesFile, report::kConfusionFile, report::kPerClassFile,
                          report::kMistakesFile}) {
    EXPECT_NE(html.find(std::string("src=\"") + png + "\""), std::string::npos) << png;
    const cv::Mat image = cv::imread(dir.file(png));
    ASSERT_FALSE(image.empty()) << png;
    ExpectNotBlank(image, 10);
  }
  EXPECT_EQ(cv::imread(dir.file(report::kCurvesFile)).cols, report::kCurvesWidth);
  EXPECT_EQ(cv::imread(dir.file(report::kCurvesFile)).rows, report::kCurvesHeight);
  EXPECT_EQ(cv::imread(dir.file(report::kPerClassFile)).rows, report::kPerClassHeight);
  EXPECT_NE(html.find("stage { name: &quot;a&lt;b&gt;&quot; }"), std::string::npos);
  EXPECT_NE(html.find("<th>validation loss</th>"), std::string::npos)
      << "epoch 2 has validation figures: the table has their columns";
  EXPECT_NE(html.find("&lt;b&gt;#9&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(html.find("pipeline run train.graph"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos) << "the page must open offline";
  EXPECT_EQ(html.find("<script"), std::string::npos);
  // Nothing temporary is left behind.
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
  }
}

TEST(ReportWriter, WithoutTestFiguresOnlyTheCurvesAreDrawn) {
  TempDir dir;
  std::vector<proto::EpochMetrics> epochs = MadeUpEpochs(2);
  for (auto& row : epochs) row = proto::EpochMetrics(row), row.set_has_test(false);
  MetricsPayload latest;
  latest.metrics = epochs.back();
  const auto figures = report::WriteReport(dir.path().string(), epochs, latest, {});
  ASSERT_EQ(figures.size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(dir.file(report::kConfusionFile)));
  const std::string html = ReadAll(dir.file(report::kIndexFile));
  EXPECT_EQ(html.find(report::kConfusionFile), std::string::npos);
  EXPECT_EQ(Lines(ReadAll(dir.file(report::kCsvFile)))[1], "1,1,0.8,,,,,0.01,240,2.5,0.5,");
}

TEST(ReportSink, RewritesTheReportAfterEveryEpoch) {
  TempDir dir;
  const Registry registry = StandardRegistry();
  StageHarness harness(
      registry, "plugin: \"report\" param { key: \"dir\" value: \"" + dir.file("run") + "\" }");
  const std::vector<proto::EpochMetrics> epochs = MadeUpEpochs(3);
  for (size_t e = 0; e < epochs.size(); ++e) {
    // A snapshot with the history up to this epoch, as `evaluate` sends it.
    auto snapshot = std::make_shared<ModelSnapshot>();
    snapshot->metrics.assign(epochs.begin(), epochs.begin() + static_cast<long>(e) + 1);
    snapshot->graph_text = "name: \"training\"\n";
    auto payload = std::make_shared<MetricsPayload>(LatestOf(snapshot->metrics));
    payload->model = snapshot;
    harness.push(0, static_cast<int64_t>(e), 0, payload);
    EXPECT_EQ(Lines(ReadAll(dir.file("run/metrics.csv"))).size(), e + 2) << "epoch " << e;
  }
  harness.close();
  proto::RunReport parsed;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(ReadAll(dir.file("run/metrics.json")), &parsed)
          .ok());
  EXPECT_EQ(parsed.epochs_size(), 3);
  EXPECT_EQ(parsed.training_graph_text(), "name: \"training\"\n")
      << "a model from another graph keeps its training graph";
}

TEST(ReportSink, RefusesAFolderItCannotCreate) {
  TempDir dir;
  std::ofstream(dir.file("file")) << "x";
  const Registry registry = StandardRegistry();
  try {
    StageHarness harness(registry, "plugin: \"report\" param { key: \"dir\" value: \"" +
                                       dir.file("file/run") + "\" }");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("file/run"), std::string::npos) << e.what();
  }
}

// `evaluate` passes on its most confident mistakes, with the pixels of the real test digits.
TEST(EvaluateStage, PassesOnTheMostConfidentMistakesWithTheirPictures) {
  const Registry registry = StandardRegistry();
  StageHarness harness(registry, R"(plugin: "evaluate" param { key: "mistakes" value: "5" })");
  const auto snapshot = TrainedSnapshot(TinySpec(), 10);
  const MnistSamples test = load_mnist("t10k", 300);
  auto batch = std::make_shared<Batch>();
  batch->rows = batch->cols = 28;
  batch->channels = 1;
  batch->data = test.images;
  batch->labels = test.labels;
  for (int64_t i = 0; i < 300; ++i) {
    batch->indices.push_back(i);
    batch->sources.push_back("t10k#" + std::to_string(i));
  }
  batch->normalization = {true, 1.0 / 255.0, 0.1307, 0.3081};
  harness.push(1, 0, 0, batch);
  harness.end_epoch(1, 0);
  harness.push(0, 0, 0, snapshot);
  const auto metrics = harness.outputs_of_type<MetricsPayload>(1);
  ASSERT_EQ(metrics.size(), 1u);
  const MetricsPayload& out = *metrics[0];
  ASSERT_TRUE(out.model);
  EXPECT_TRUE(out.model->metrics.back().has_test());
  ASSERT_LT(out.metrics.test_accuracy(), 0.99) << "10 steps leave mistakes to show";
  ASSERT_EQ(out.mistakes.size(), 5u);
  const IdxImages images =
      ReadIdxImages(std::string(PIPELINE_MNIST_DIR) + "/t10k-images-idx3-ubyte.gz");
  for (size_t i = 0; i < out.mistakes.size(); ++i) {
    const Mistake& m = out.mistakes[i];
    SCOPED_TRACE(m.source);
    EXPECT_NE(m.label, m.predicted);
    if (i > 0) {
      EXPECT_LE(m.confidence, out.mistakes[i - 1].confidence);
    }
    const int64_t index = std::stoll(m.source.substr(m.source.find('#') + 1));
    EXPECT_EQ(m.label, test.labels[static_cast<size_t>(index)]);
    EXPECT_LE(cv::norm(m.image, images.image(index), cv::NORM_INF), 1.0);
  }
  harness.close();
}

}  // namespace
}  // namespace pipeline::cnn::testing
