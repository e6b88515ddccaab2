#include "stages/report/report_html.h"

#include <cstdio>
#include <sstream>

namespace pipeline::cnn::report {
namespace {

constexpr const char* kStyle = R"(
body { font-family: sans-serif; margin: 24px; color: #282828; max-width: 1100px; }
h1 { font-size: 1.5em; margin-bottom: 4px; }
h2 { font-size: 1.2em; margin-top: 32px; border-bottom: 1px solid #ddd; }
.summary { color: #555; }
figure { margin: 16px 0; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { color: #555; font-size: 0.9em; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f4f4f4; }
td.text, th.text { text-align: left; }
pre { background: #f7f7f7; border: 1px solid #ddd; padding: 8px; overflow-x: auto;
      font-size: 0.85em; }
)";

std::string Fixed(double value, int decimals) {
  char text[48];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

std::string Percent(double fraction) { return Fixed(100 * fraction, 2) + "%"; }

// Three significant digits: a one-cycle schedule ends near 1e-8, which fixed decimals show as 0.
std::string Significant(double value) {
  char text[48];
  std::snprintf(text, sizeof(text), "%.3g", value);
  return text;
}

std::string ClassName(const proto::RunReport& report, int label) {
  if (label >= 0 && label < report.class_names_size()) return report.class_names(label);
  return std::to_string(label);
}

// "train_fashion.graph: Fashion-MNIST, seed" — the page's title and heading.
std::string Title(const proto::RunReport& report) {
  std::string title = report.graph_file().empty() ? std::string("run report") : report.graph_file();
  std::string about = report.dataset();
  if (!report.model_name().empty()) about += (about.empty() ? "" : ", ") + report.model_name();
  return about.empty() ? title : title + ": " + about;
}

bool AnyValidation(const proto::RunReport& report) {
  for (const proto::EpochMetrics& row : report.epochs()) {
    if (row.has_validation()) return true;
  }
  return false;
}

void SettingRow(std::ostream& html, const std::string& name, const std::string& value) {
  if (value.empty()) return;
  html << "<tr><th class=\"text\">" << EscapeHtml(name) << "</th><td class=\"text\">"
       << EscapeHtml(value) << "</td></tr>\n";
}

void Summary(std::ostream& html, const proto::RunReport& report) {
  html << "<h1>" << EscapeHtml(Title(report)) << "</h1>\n<p class=\"summary\">";
  if (report.epochs_size() > 0) {
    const proto::EpochMetrics& last = report.epochs(report.epochs_size() - 1);
    html << "after epoch " << last.epoch() + 1;
    if (report.planned_epochs() > 0) html << " of " << report.planned_epochs();
    if (last.has_test()) {
      html << ": test accuracy <b>" << Percent(last.test_accuracy()) << "</b> ("
           << last.test_samples() << " samples), test loss " << Fixed(last.test_loss(), 4);
    }
    if (!last.stop_reason().empty()) html << "; stopped: " << EscapeHtml(last.stop_reason());
    html << ". ";
  }
  html << "Written " << EscapeHtml(report.written_at())
       << "; data: <a href=\"metrics.json\">metrics.json</a>, "
          "<a href=\"metrics.csv\">metrics.csv</a>.</p>\n";
}

void EpochTable(std::ostream& html, const proto::RunReport& report) {
  // Validation columns only for runs that have a validation input.
  const bool validation = AnyValidation(report);
  html << "<h2>Epochs</h2>\n<table>\n<tr><th>epoch</th><th>learning rate</th><th>train loss</th>"
          "<th>train acc</th>"
       << (validation ? "<th>validation loss</th><th>validation acc</th>" : "")
       << "<th>test loss</th><th>test acc</th><th>images/s</th><th>train s</th><th>test s</th>"
          "</tr>\n";
  for (const proto::EpochMetrics& row : report.epochs()) {
    html << "<tr><td>" << row.epoch() + 1 << "</td><td>" << Significant(row.learning_rate())
         << "</td><td>" << Fixed(row.train_loss(), 4) << "</td><td>"
         << Percent(row.train_accuracy()) << "</td>";
    if (row.has_validation()) {
      html << "<td>" << Fixed(row.validation_loss(), 4) << "</td><td>"
           << Percent(row.validation_accuracy()) << "</td>";
    } else if (validation) {
      html << "<td>-</td><td>-</td>";
    }
    if (row.has_test()) {
      html << "<td>" << Fixed(row.test_loss(), 4) << "</td><td>" << Percent(row.test_accuracy())
           << "</td>";
    } else {
      html << "<td>-</td><td>-</td>";
    }
    html << "<td>" << Fixed(row.images_per_second(), 0) << "</td><td>"
         << Fixed(row.train_seconds(), 1) << "</td><td>" << Fixed(row.test_seconds(), 1)
         << "</td></tr>\n";
  }
  html << "</table>\n";
}

void PerClassTable(std::ostream& html, const proto::RunReport& report) {
  const proto::EpochMetrics* tested = nullptr;
  for (const proto::EpochMetrics& row : report.epochs()) {
    if (row.has_test() && row.per_class_size() > 0) tested = &row;
  }
  if (tested == nullptr) return;
  html << "<h2>Per class (epoch " << tested->epoch() + 1
       << ")</h2>\n<table>\n<tr><th>class</th>"
          "<th>precision</th><th>recall</th><th>F1</th><th>samples</th></tr>\n";
  for (int c = 0; c < tested->per_class_size(); ++c) {
    const proto::ClassMetrics& row = tested->per_class(c);
    html << "<tr><td class=\"text\">" << c
         << (c < report.class_names_size() ? " " + EscapeHtml(report.class_names(c)) : "")
         << "</td><td>" << Percent(row.precision()) << "</td><td>" << Percent(row.recall())
         << "</td><td>" << Fixed(row.f1(), 4) << "</td><td>" << row.support() << "</td></tr>\n";
  }
  html << "</table>\n";
}

void MistakeTable(std::ostream& html, const proto::RunReport& report) {
  if (report.mistakes_size() == 0) return;
  html << "<h2>Most confident mistakes</h2>\n<table>\n<tr><th>#</th><th class=\"text\">sample"
          "</th><th>true</th><th>predicted</th><th>confidence</th></tr>\n";
  int number = 0;
  for (const proto::ReportedMistake& row : report.mistakes()) {
    html << "<tr><td>" << ++number << "</td><td class=\"text\">" << EscapeHtml(row.source())
         << "</td><td>" << EscapeHtml(ClassName(report, row.label())) << "</td><td>"
         << EscapeHtml(ClassName(report, row.predicted())) << "</td><td>"
         << Percent(row.confidence()) << "</td></tr>\n";
  }
  html << "</table>\n";
}

void Settings(std::ostream& html, const proto::RunReport& report) {
  html << "<h2>Settings</h2>\n<table>\n";
  SettingRow(html, "graph file", report.graph_file());
  SettingRow(html, "dataset", report.dataset());
  std::string classes;
  for (const std::string& name : report.class_names())
    classes += (classes.empty() ? "" : ", ") + name;
  SettingRow(html, "classes", classes);
  SettingRow(html, "seed", std::to_string(report.seed()));
  if (report.threads() > 0) SettingRow(html, "threads", std::to_string(report.threads()));
  SettingRow(html, "command line", report.command_line());
  SettingRow(html, "model", report.model_name());
  SettingRow(html, "precision", report.precision());
  if (report.planned_epochs() > 0) {
    SettingRow(html, "epochs",
               std::to_string(report.epochs_finished()) + " of " +
                   std::to_string(report.planned_epochs()) + " planned");
  }
  if (report.batch_size() > 0) SettingRow(html, "batch size", std::to_string(report.batch_size()));
  SettingRow(html, "optimizer", report.optimizer());
  SettingRow(html, "schedule", report.schedule());
  SettingRow(html, "normalization", report.normalization());
  html << "</table>\n";
}

void GraphText(std::ostream& html, const std::string& heading, const std::string& file,
               const std::string& text) {
  if (text.empty()) return;
  html << "<h2>" << EscapeHtml(heading) << (file.empty() ? "" : ": " + EscapeHtml(file))
       << "</h2>\n<pre>" << EscapeHtml(text) << "</pre>\n";
}

}  // namespace

std::string EscapeHtml(const std::string& text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      case '\'':
        escaped += "&#39;";
        break;
      default:
        escaped += c;
    }
  }
  return escaped;
}

std::string IndexHtml(const proto::RunReport& report, const std::vector<Figure>& figures) {
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>"
       << EscapeHtml(Title(report)) << " (report)</title>\n<style>" << kStyle
       << "</style>\n</head>\n<body>\n";
  Summary(html, report);
  for (const Figure& figure : figures) {
    html << "<figure><img src=\"" << EscapeHtml(figure.file) << "\" alt=\""
         << EscapeHtml(figure.caption) << "\"><figcaption>" << EscapeHtml(figure.caption)
         << "</figcaption></figure>\n";
  }
  EpochTable(html, report);
  PerClassTable(html, report);
  MistakeTable(html, report);
  Settings(html, report);
  // The user's own file, comments and all, when it could be read; else the graph as parsed.
  GraphText(html, "Graph", report.graph_file(),
            report.graph_source().empty() ? report.graph_text() : report.graph_source());
  GraphText(html, "Graph the model was trained with", report.training_graph_file(),
            report.training_graph_text());
  html << "</body>\n</html>\n";
  return html.str();
}

}  // namespace pipeline::cnn::report
