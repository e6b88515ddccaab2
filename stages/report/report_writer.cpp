#include "stages/report/report_writer.h"

#include <filesystem>

#include "stages/report/confusion_chart.h"
#include "stages/report/curves_chart.h"
#include "stages/report/mistakes_chart.h"
#include "stages/report/per_class_chart.h"
#include "stages/report/report_files.h"

namespace pipeline::cnn::report {

std::vector<Figure> WriteReport(const std::string& dir,
                                const std::vector<proto::EpochMetrics>& epochs,
                                const MetricsPayload& latest, const RunContext& context) {
  const auto in_dir = [&](const char* name) {
    return (std::filesystem::path(dir) / name).string();
  };
  std::vector<Figure> figures;
  WritePngAtomically(in_dir(kCurvesFile), DrawCurves(epochs));
  bool validation = false;
  for (const proto::EpochMetrics& row : epochs) validation = validation || row.has_validation();
  figures.push_back(
      {kCurvesFile, std::string("Loss and accuracy per epoch (train, ") +
                        (validation ? "validation, " : "") +
                        "test). The train loss is the mean over each epoch's batches while the "
                        "weights were changing; the other losses are measured once, after the "
                        "epoch, on the finished model."});
  const proto::EpochMetrics& tested = latest.metrics;
  static const std::vector<std::string> kNoNames;
  const std::vector<std::string>& class_names = latest.model ? latest.model->class_names : kNoNames;
  if (tested.has_test() && tested.classes() > 0 &&
      tested.confusion_size() == tested.classes() * tested.classes()) {
    WritePngAtomically(in_dir(kConfusionFile), DrawConfusion(tested, class_names));
    figures.push_back({kConfusionFile,
                       "Confusion matrix of the latest evaluation: rows are true classes, "
                       "columns predictions"});
  }
  if (tested.has_test() && tested.per_class_size() > 0) {
    WritePngAtomically(in_dir(kPerClassFile), DrawPerClass(tested, class_names));
    figures.push_back({kPerClassFile, "Per-class recall (accuracy on the class) and precision"});
  }
  if (tested.has_test()) {
    WritePngAtomically(in_dir(kMistakesFile),
                       DrawMistakes(latest.mistakes, tested.epoch(), class_names));
    figures.push_back(
        {kMistakesFile, "The test samples the model got wrong with the highest confidence"});
  }
  const proto::RunReport run = BuildRunReport(epochs, latest, context);
  WriteFileAtomically(in_dir(kCsvFile), MetricsCsv(epochs));
  WriteFileAtomically(in_dir(kJsonFile), RunReportJson(run));
  WriteFileAtomically(in_dir(kIndexFile), IndexHtml(run, figures));
  return figures;
}

}  // namespace pipeline::cnn::report
