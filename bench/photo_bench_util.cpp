#include "bench/photo_bench_util.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "pipeline/engine/graph.h"
#include "stages/stage_registrations.h"

namespace pipeline::bench {

RunResult RunGraphText(const std::string& graph_text, int threads, void (*extra)(Registry&),
                       uint32_t max_in_flight) {
  Registry registry;
  for (const auto& register_stage : StandardStageRegistrations()) register_stage(registry);
  if (extra != nullptr) extra(registry);
  LoadResult loaded = LoadGraphText(graph_text, "<bench graph>", registry, LoadOptions{});
  if (!loaded.graph) {
    throw std::runtime_error("graph does not load:\n" + FormatAll(loaded.errors));
  }
  RunOptions options;
  options.threads = threads;
  options.max_in_flight = max_in_flight;
  RunResult result = RunGraph(*loaded.graph, options);
  if (!result.ok) throw std::runtime_error("run failed: " + result.error);
  return result;
}

std::string ProfileLines(const RunResult& result) {
  std::string lines;
  for (const StageProfile& stage : result.profile) {
    char line[160];
    std::snprintf(line, sizeof(line), "  %-10s %-14s busy %7.3f s  %8lld in  %8lld out\n",
                  stage.name.c_str(), stage.plugin.c_str(), stage.busy_seconds,
                  static_cast<long long>(stage.messages_in),
                  static_cast<long long>(stage.messages_out));
    lines += line;
  }
  return lines;
}

namespace {

std::vector<std::string> SplitCsvLine(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

}  // namespace

std::vector<PredictionCsvRow> ReadPredictionsCsv(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error(path + ": cannot read");
  std::string line;
  std::getline(file, line);  // header
  std::vector<PredictionCsvRow> rows;
  while (std::getline(file, line)) {
    const std::vector<std::string> f = SplitCsvLine(line);
    if (f.size() != 7) throw std::runtime_error(path + ": row with " + std::to_string(f.size()) + " fields: " + line);
    rows.push_back({f[0], f[1], f[2], f[3], f[4], f[5], f[6]});
  }
  return rows;
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

double ProcessCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

std::string MakeTempDir(const std::string& prefix) {
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     (prefix + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
  return path.string();
}

}  // namespace pipeline::bench
