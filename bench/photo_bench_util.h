// Shared by the photo benchmarks: run a graph given as text with the standard stages, read the
// rows `predictions` wrote, medians.
#pragma once

#include <string>
#include <vector>

#include "pipeline/engine/runner.h"
#include "pipeline/registry.h"

namespace pipeline::bench {

// Loads `graph_text` with the standard stages (and those `extra` registers) and runs it on
// `threads` threads; throws std::runtime_error with the engine's message when loading or
// running fails.
RunResult RunGraphText(const std::string& graph_text, int threads,
                       void (*extra)(Registry&) = nullptr, uint32_t max_in_flight = 0);

// Per-stage busy time from a run, one line per stage.
std::string ProfileLines(const RunResult& result);

struct PredictionCsvRow {
  std::string file, digits, confidence, top3, boxes, rows, label, error;
};

// The rows of a CSV written by the `predictions` stage (header skipped).
std::vector<PredictionCsvRow> ReadPredictionsCsv(const std::string& path);

double Median(std::vector<double> values);

// Registers "cnn_predict_fields": cnn_predict, plus what its predictions must carry from their
// samples and, at the time of writing, do not (error, part, parts, origin). A stand-in until
// cnn_predict copies them itself; it adds only a copy per prediction.
void RegisterCnnPredictWithFields(Registry& registry);

// CPU time (user + system) this process has used so far, all threads.
double ProcessCpuSeconds();

// A fresh folder under the system temp folder; removed at exit unless `keep`.
std::string MakeTempDir(const std::string& prefix);

}  // namespace pipeline::bench
