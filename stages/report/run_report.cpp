#include "stages/report/run_report.h"

#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "pipeline/text_fields.h"

namespace pipeline::cnn::report {
namespace {

std::string Number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.6g", value);
  return text;
}

std::string LocalTimeNow() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[40];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S%z", &local);
  return text;
}

std::string NormalizationWords(const Normalization& n) {
  if (!n.applied) return "none recorded";
  char text[128];
  std::snprintf(text, sizeof(text), "(pixel * %.8g - %.6g) / %.6g", n.scale, n.mean, n.std);
  return text;
}

}  // namespace

std::string ReadGraphSource(const std::string& path) {
  if (path.empty()) return "";
  std::ifstream file(path, std::ios::binary);
  if (!file) return "";
  std::string text(1 << 20, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (!file.eof()) return "";  // over 1 MiB: no graph a person wrote
  text.resize(static_cast<size_t>(file.gcount()));
  return text;
}

std::string ProcessCommandLine() {
  std::ifstream file("/proc/self/cmdline", std::ios::binary);
  if (!file) return "";
  std::string line;
  for (std::string arg; std::getline(file, arg, '\0');) {
    if (!line.empty()) line += ' ';
    if (arg.empty() || arg.find_first_of(" \t\"'\\$") != std::string::npos) {
      std::string quoted = "'";
      for (const char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
      line += quoted + "'";
    } else {
      line += arg;
    }
  }
  return line;
}

proto::RunReport BuildRunReport(const std::vector<proto::EpochMetrics>& epochs,
                                const MetricsPayload& latest, const RunContext& context) {
  proto::RunReport report;
  report.set_graph_file(context.graph_file);
  report.set_graph_text(context.graph_text);
  report.set_seed(context.seed);
  report.set_threads(context.threads);
  report.set_command_line(context.command_line);
  report.set_written_at(LocalTimeNow());
  report.set_graph_source(context.graph_source);
  if (const ModelSnapshot* model = latest.model.get()) {
    report.set_model_name(model->spec.name());
    report.set_precision(!model->precision_choice.empty() ? model->precision_choice
                         : model->spec.precision() == proto::PRECISION_BF16 ? "bf16"
                                                                            : "fp32");
    report.set_epochs_finished(model->position.epochs_finished());
    report.set_planned_epochs(model->position.planned_epochs());
    report.set_batch_size(model->position.batch_size());
    report.set_optimizer(model->optimizer.ShortDebugString());
    report.set_schedule(model->schedule.ShortDebugString());
    report.set_normalization(NormalizationWords(model->normalization));
    report.set_dataset(model->dataset_name);
    for (const std::string& name : model->class_names) report.add_class_names(name);
    // A model trained elsewhere (pipeline evaluate): keep the graph that trained it.
    if (model->graph_text != context.graph_text) {
      report.set_training_graph_file(model->graph_file);
      report.set_training_graph_text(model->graph_text);
    }
  }
  for (const proto::EpochMetrics& row : epochs) *report.add_epochs() = row;
  for (const Mistake& mistake : latest.mistakes) {
    proto::ReportedMistake* row = report.add_mistakes();
    row->set_source(mistake.source);
    row->set_label(mistake.label);
    row->set_predicted(mistake.predicted);
    row->set_confidence(mistake.confidence);
  }
  return report;
}

std::string RunReportJson(const proto::RunReport& report) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(report, &json, options);
  if (!status.ok()) {
    throw std::runtime_error("cannot convert the report to JSON: " + status.ToString());
  }
  return json;
}

std::string MetricsCsv(const std::vector<proto::EpochMetrics>& epochs) {
  std::ostringstream csv;
  csv << "epoch,train_loss,train_accuracy,validation_loss,validation_accuracy,test_loss,"
         "test_accuracy,learning_rate,images_per_second,train_seconds,test_seconds,"
         "stop_reason\n";
  for (const proto::EpochMetrics& row : epochs) {
    csv << row.epoch() + 1 << ',' << Number(row.train_loss()) << ',' << Number(row.train_accuracy())
        << ',';
    if (row.has_validation()) {
      csv << Number(row.validation_loss()) << ',' << Number(row.validation_accuracy()) << ',';
    } else {
      csv << ",,";
    }
    if (row.has_test()) {
      csv << Number(row.test_loss()) << ',' << Number(row.test_accuracy()) << ',';
    } else {
      csv << ",,";
    }
    csv << Number(row.learning_rate()) << ',' << Number(row.images_per_second()) << ','
        << Number(row.train_seconds()) << ',' << Number(row.test_seconds()) << ','
        << CsvField(row.stop_reason()) << '\n';
  }
  return csv.str();
}

}  // namespace pipeline::cnn::report
