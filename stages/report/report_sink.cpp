// `report`: after every evaluated epoch, rewrites the run folder's report — metrics.json,
// metrics.csv, curves.png, confusion.png, per_class.png, mistakes.png and index.html — so that
// a run stopped at any point leaves a complete report of the epochs it finished.
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "pipeline/registry.h"
#include "pipeline/temp_files.h"
#include "stages/cnn/console.h"
#include "stages/cnn/model_snapshot.h"
#include "stages/report/report_registrations.h"
#include "stages/report/report_writer.h"

namespace pipeline {
namespace {

class ReportSink : public Stage {
 public:
  void open(const Params& params) override {
    dir_ = params.get_string("dir");
    if (!world().is_root()) return;  // rank 0 alone writes a distributed run's files
    PrepareOutputFolder(dir_, "report");
    context_.graph_file = env().graph_file;
    context_.graph_text = env().graph_text;
    context_.graph_source = cnn::report::ReadGraphSource(env().graph_file);
    context_.seed = env().graph_seed;
    context_.threads = env().threads;
    context_.command_line = cnn::report::ProcessCommandLine();
  }

  void process(const Message& msg, Emitter& /*out*/) override {
    if (!world().is_root()) return;
    const auto& latest = msg.as<cnn::MetricsPayload>();
    seen_[latest.metrics.epoch()] = latest.metrics;
    // The snapshot's history covers earlier runs that this one resumed; without a snapshot
    // the epochs this stage has seen are all there is.
    std::vector<proto::EpochMetrics> epochs;
    if (latest.model && !latest.model->metrics.empty()) {
      epochs = latest.model->metrics;
    } else {
      for (const auto& [epoch, row] : seen_) epochs.push_back(row);
    }
    try {
      cnn::report::WriteReport(dir_, epochs, latest, context_);
      written_ = true;
      last_error_.clear();
    } catch (const std::exception& e) {
      // Training is worth more than its report: say so once and go on.
      if (!warned_) cnn::ConsoleLine(std::string("report: ") + e.what() + " (training goes on)");
      warned_ = true;
      last_error_ = e.what();
    }
  }

  void close(Emitter& /*out*/) override {
    // A run whose report is missing or stale (a full disk) must not look like a success.
    if (!last_error_.empty()) {
      throw std::runtime_error("the report in " + dir_ + " is " +
                               (written_ ? "out of date" : "missing") +
                               ": the last write failed: " + last_error_);
    }
    if (written_) {
      cnn::ConsoleLine("report: " +
                       (std::filesystem::path(dir_) / cnn::report::kIndexFile).string());
    }
  }

 private:
  std::string dir_;
  cnn::report::RunContext context_;
  std::map<int64_t, proto::EpochMetrics> seen_;  // by epoch
  bool written_ = false;
  bool warned_ = false;
  std::string last_error_;  // of the latest write; empty when it succeeded
};

}  // namespace

void RegisterReportSink(Registry& registry) {
  StageInfo info;
  info.name = "report";
  info.kind = StageKind::kSink;
  info.concurrency = Concurrency::kSerial;
  info.doc =
      "Writes a run's report after every evaluation: metrics.json/.csv, training curves, "
      "confusion matrix, per-class and mistakes pictures, index.html";
  info.inputs = {{"metrics", "metrics", "the figures `evaluate` emits after each epoch"}};
  info.params = {
      StringParam("dir", "runs/mnist", "run folder (created if missing); open DIR/index.html"),
  };
  info.create = [] { return std::make_unique<ReportSink>(); };
  registry.add(std::move(info));
}

}  // namespace pipeline
