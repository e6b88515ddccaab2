// Writes a run's whole report into its folder: the pictures, metrics.csv, metrics.json and
// index.html, each replaced atomically (the page last, so it never names a missing picture).
#pragma once

#include <string>
#include <vector>

#include "metrics.pb.h"
#include "stages/cnn/model_snapshot.h"
#include "stages/report/report_html.h"
#include "stages/report/run_report.h"

namespace pipeline::cnn::report {

inline constexpr const char* kCurvesFile = "curves.png";
inline constexpr const char* kConfusionFile = "confusion.png";
inline constexpr const char* kPerClassFile = "per_class.png";
inline constexpr const char* kMistakesFile = "mistakes.png";
inline constexpr const char* kJsonFile = "metrics.json";
inline constexpr const char* kCsvFile = "metrics.csv";
inline constexpr const char* kIndexFile = "index.html";

// Writes the report of `epochs` (oldest first) into `dir`, which must exist. The confusion,
// per-class and mistakes pictures need test figures in `latest.metrics` and are left out (and
// unmentioned in the page) without them. Returns the pictures written. Throws
// std::runtime_error naming the file that could not be written.
std::vector<Figure> WriteReport(const std::string& dir,
                                const std::vector<proto::EpochMetrics>& epochs,
                                const MetricsPayload& latest, const RunContext& context);

}  // namespace pipeline::cnn::report
