#include "bench/photo_bench_util.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>

#include "pipeline/engine/graph.h"
#include "pipeline/payloads.h"
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

// Predictions come out of cnn_predict in the order their samples went in.
class FieldCopier : public Emitter {
 public:
  FieldCopier(Emitter& out, std::deque<std::shared_ptr<const Sample>>& waiting)
      : out_(out), waiting_(waiting) {}
  void emit(std::shared_ptr<const Payload> payload, int64_t epoch, int64_t index,
            int port) override {
    const std::shared_ptr<const Sample> sample = waiting_.front();
    waiting_.pop_front();
    auto prediction = std::make_shared<Prediction>(payload_as<Prediction>(payload.get()));
    if (!sample->error.empty()) prediction->error = sample->error;
    prediction->part = sample->part;
    prediction->parts = sample->parts;
    prediction->row = sample->row;
    prediction->origin = sample->origin;
    out_.emit(std::move(prediction), epoch, index, port);
  }
  void end_epoch(int64_t epoch) override { out_.end_epoch(epoch); }

 private:
  Emitter& out_;
  std::deque<std::shared_ptr<const Sample>>& waiting_;
};

class CnnPredictWithFields : public Stage {
 public:
  explicit CnnPredictWithFields(const StageInfo& inner) : inner_(inner.create()) {}
  void open(const Params& params) override {
    inner_->set_env(env());
    inner_->open(params);
  }
  int held_inputs() const override { return inner_->held_inputs(); }
  void process(const Message& msg, Emitter& out) override {
    waiting_.push_back(std::static_pointer_cast<const Sample>(msg.payload));
    FieldCopier copier(out, waiting_);
    inner_->process(msg, copier);
  }
  void end_epoch(int port, int64_t epoch, Emitter& out) override {
    FieldCopier copier(out, waiting_);
    inner_->end_epoch(port, epoch, copier);
  }
  void close(Emitter& out) override {
    FieldCopier copier(out, waiting_);
    inner_->close(copier);
  }

 private:
  std::unique_ptr<Stage> inner_;
  std::deque<std::shared_ptr<const Sample>> waiting_;
};

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

void RegisterCnnPredictWithFields(Registry& registry) {
  static StageInfo inner;
  inner = registry.find("cnn_predict")->info;
  StageInfo info = inner;
  info.name = "cnn_predict_fields";
  info.doc = "cnn_predict, passing each sample's error, part, parts and origin on";
  info.create = [] { return std::make_unique<CnnPredictWithFields>(inner); };
  registry.add(std::move(info));
}

std::vector<PredictionCsvRow> ReadPredictionsCsv(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error(path + ": cannot read");
  std::string line;
  std::getline(file, line);  // header
  std::vector<PredictionCsvRow> rows;
  while (std::getline(file, line)) {
    const std::vector<std::string> f = SplitCsvLine(line);
    if (f.size() != 8)
      throw std::runtime_error(path + ": row with " + std::to_string(f.size()) +
                               " fields: " + line);
    rows.push_back({f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]});
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
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / (prefix + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
  return path.string();
}

}  // namespace pipeline::bench
