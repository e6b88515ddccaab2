// `predictions`: one row per photo (or frame, or MNIST sample) — the digits read, each digit's
// confidence, top 3 and box, and the error when the file could not be read — as CSV or JSON
// lines. A file is written whole or not at all (temporary file, renamed at the end); "-" streams
// the rows to stdout as they come. A run with unreadable files ends with exit code 1 unless
// fail_on_error is false, after everything was written.
//
// Under mpirun (image_source shards the files) every rank keeps its rows with their positions in
// the input, and at the end rank 0 gathers them all and writes one file in input order, the file
// a single process writes.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/payloads.h"
#include "pipeline/registry.h"
#include "pipeline/temp_files.h"
#include "stages/sinks/prediction_rows.h"
#include "stages/stage_registrations.h"
#include "stages/transforms/prediction_groups.h"

namespace pipeline {
namespace {

class PredictionsSink : public Stage {
 public:
  ~PredictionsSink() override {
    // A run that failed never closes its sinks: leave no half-written temporary file behind.
    if (file_.is_open()) {
      file_.close();
      std::error_code ignored;
      std::filesystem::remove(temporary_, ignored);
    }
  }

  void open(const Params& params) override {
    output_ = params.get_string("output");
    jsonl_ = params.get_string("format") == "jsonl";
    fail_on_error_ = params.get_bool("fail_on_error");
    uncertain_below_ = static_cast<float>(params.get_float("uncertain_below"));
    stdout_ = output_ == "-";
    gathered_ = world().distributed();
    if (gathered_ && !world().is_root()) return;  // rank 0 alone writes
    if (!stdout_) {
      // A unique name: two runs writing the same output never share a temporary file.
      temporary_ = CreateTempFileFor(output_);
      file_.open(temporary_, std::ios::trunc);
      if (!file_) {
        throw std::runtime_error(output_ + ": cannot write " + temporary_ + ": " +
                                 std::strerror(errno));
      }
    }
    if (!jsonl_) Write(CsvHeader());
  }

  void process(const Message& msg, Emitter& /*out*/) override {
    for (const PredictionGroup& group : grouper_.add(msg)) WriteRow(group);
  }

  void end_epoch(int /*port*/, int64_t /*epoch*/, Emitter& /*out*/) override { Flush(); }

  void close(Emitter& /*out*/) override {
    Flush();
    if (gathered_) {
      WriteGathered();
      if (!world().is_root()) return;
    }
    if (!stdout_) {
      file_.flush();
      if (!file_) {
        throw std::runtime_error(output_ + ": write to " + temporary_ +
                                 " failed: " + std::strerror(errno));
      }
      file_.close();
      std::error_code error;
      std::filesystem::rename(temporary_, output_, error);
      if (error) {
        throw std::runtime_error(output_ + ": cannot rename " + temporary_ + ": " +
                                 error.message());
      }
    }
    (stdout_ ? std::cerr : std::cout) << Summary() << std::endl;
    if (failed_ > 0 && fail_on_error_) {
      throw std::runtime_error(std::to_string(failed_) + " of " + std::to_string(rows_) +
                               " files could not be read (see the error column" +
                               (stdout_ ? std::string(")") : " of " + output_ + ")") +
                               "; fail_on_error=false makes this exit 0");
    }
  }

 private:
  void Flush() {
    if (auto group = grouper_.flush()) WriteRow(*group);
  }

  void WriteRow(const PredictionGroup& group) {
    const PredictionRow row = MakeRow(group, 3, uncertain_below_);
    ++rows_;
    if (!row.error.empty()) ++failed_;
    if (!row.label.empty()) {
      ++labelled_;
      if (row.correct()) ++correct_;
    }
    std::string text = jsonl_ ? JsonLine(row) : CsvLine(row);
    if (gathered_) {
      kept_.emplace_back(group.index, std::move(text));
    } else {
      Write(text);
    }
  }

  // Every rank's rows to rank 0, which writes them in input order and counts them all. A row
  // travels as "position<TAB>length<TAB>text"; the counts as the first line of each rank's part.
  void WriteGathered() {
    std::string mine = std::to_string(rows_) + " " + std::to_string(failed_) + " " +
                       std::to_string(labelled_) + " " + std::to_string(correct_) + "\n";
    for (const auto& [index, text] : kept_) {
      mine += std::to_string(index) + "\t" + std::to_string(text.size()) + "\t" + text;
    }
    kept_.clear();
    const std::vector<std::string> parts = world().gather_to_root(mine);
    if (!world().is_root()) return;
    std::vector<std::pair<int64_t, std::string>> all;
    rows_ = failed_ = labelled_ = correct_ = 0;
    for (const std::string& part : parts) {
      std::istringstream in(part);
      int64_t rows = 0, failed = 0, labelled = 0, correct = 0;
      in >> rows >> failed >> labelled >> correct;
      in.get();  // the newline
      rows_ += rows;
      failed_ += failed;
      labelled_ += labelled;
      correct_ += correct;
      int64_t index = 0;
      size_t length = 0;
      while (in >> index) {
        in.get();
        in >> length;
        in.get();
        std::string text(length, '\0');
        in.read(text.data(), static_cast<std::streamsize>(length));
        all.emplace_back(index, std::move(text));
      }
    }
    std::stable_sort(all.begin(), all.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [index, text] : all) Write(text);
  }

  void Write(const std::string& text) {
    if (stdout_) {
      std::cout << text << std::flush;
    } else {
      file_ << text;
    }
  }

  std::string Summary() const {
    std::ostringstream line;
    line << "predictions: " << rows_ << " files, " << failed_ << " failed";
    if (labelled_ > 0) {
      char percent[32];
      std::snprintf(percent, sizeof(percent), "%.2f", 100.0 * correct_ / labelled_);
      line << ", " << correct_ << " of " << labelled_ << " labelled correct (" << percent << "%)";
    }
    if (!stdout_) line << " -> " << output_;
    return line.str();
  }

  std::string output_, temporary_;
  bool jsonl_ = false, fail_on_error_ = true, stdout_ = false;
  float uncertain_below_ = 0.5f;
  std::ofstream file_;
  PredictionGrouper grouper_{/*trust_parts=*/false};
  int64_t rows_ = 0, failed_ = 0, labelled_ = 0, correct_ = 0;
  // A distributed run: this rank's rows with their input positions, written by rank 0 at the end.
  bool gathered_ = false;
  std::vector<std::pair<int64_t, std::string>> kept_;
};

}  // namespace

void RegisterPredictionsSink(Registry& registry) {
  StageInfo info;
  info.name = "predictions";
  info.kind = StageKind::kSink;
  info.concurrency = Concurrency::kSerial;
  info.doc =
      "Writes one row per file (digits read, confidence, top 3 and box per digit, error) "
      "as CSV or JSON lines; exit code 1 when files failed";
  info.inputs = {{"predictions", "prediction",
                  "a classifier's predictions; consecutive ones of one source message form a row"}};
  info.params = {
      StringParam("output", "predictions.csv",
                  "file to write (atomically, at the end), or - to stream rows to stdout"),
      ChoiceParam("format", "csv", {"csv", "jsonl"}, "csv (with a header) or jsonl"),
      FloatParam("uncertain_below", 0.5, 0, 1,
                 "a digit read with a lower confidence is written as \"?\" in digits (its "
                 "guess stays in top3); 0: never"),
      BoolParam("fail_on_error", true,
                "end the run with an error (exit code 1) when any file could not be read or "
                "held no digit, after writing every row"),
  };
  info.create = [] { return std::make_unique<PredictionsSink>(); };
  registry.add(std::move(info));
}

}  // namespace pipeline
