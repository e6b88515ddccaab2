// The report's data files: the RunReport message behind metrics.json and the rows of
// metrics.csv.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "metrics.pb.h"
#include "report.pb.h"
#include "stages/cnn/model_snapshot.h"

namespace pipeline::cnn::report {

// What the report knows about the run beyond the model: the graph that ran and how.
struct RunContext {
  std::string graph_file;
  std::string graph_text;
  uint64_t seed = 0;
  int threads = 0;
  std::string command_line;
  // The graph file as its author wrote it, comments included (ReadGraphSource); empty when
  // unknown, and the report then shows graph_text.
  std::string graph_source;
};

// This process's command line, arguments joined by spaces and quoted where needed ("" when the
// system does not say; read from /proc/self/cmdline on Linux).
std::string ProcessCommandLine();

// The text of the graph file at `path`, if it can be read and is under 1 MiB; else "".
std::string ReadGraphSource(const std::string& path);

// The report of a run after `epochs` (oldest first). `latest` supplies the model, its training
// settings and the mistakes; its snapshot may be null.
proto::RunReport BuildRunReport(const std::vector<proto::EpochMetrics>& epochs,
                                const MetricsPayload& latest, const RunContext& context);

// metrics.json: the report as indented protobuf JSON with proto field names and every field
// present (zeros and false included), so that scripts see a fixed set of keys.
std::string RunReportJson(const proto::RunReport& report);

// metrics.csv: a header, then one row per epoch (epoch 1-based as the console prints it;
// accuracies as fractions; validation and test cells empty when the epoch lacks them).
std::string MetricsCsv(const std::vector<proto::EpochMetrics>& epochs);

}  // namespace pipeline::cnn::report
