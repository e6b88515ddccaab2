// `count`: counts what reaches it and fingerprints the order it arrived in — the sink that graph
// tests and determinism checks use.
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include "pipeline/payloads.h"
#include "pipeline/registry.h"
#include "pipeline/temp_files.h"
#include "pipeline/text_fields.h"
#include "stages/stage_registrations.h"

namespace pipeline {
namespace {

// 64-bit FNV-1a over values fed as 8 little-endian bytes each, so the fingerprint is the same on
// every machine.
class OrderFingerprint {
 public:
  void add(int64_t value) {
    auto bits = static_cast<uint64_t>(value);
    for (int byte = 0; byte < 8; ++byte) {
      hash_ = (hash_ ^ ((bits >> (8 * byte)) & 0xff)) * 0x100000001b3ULL;
    }
  }
  std::string hex() const {
    char text[17];
    std::snprintf(text, sizeof(text), "%016" PRIx64, hash_);
    return text;
  }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

class CountSink : public Stage {
 public:
  void open(const Params& params) override {
    output_ = params.get_string("output");
    expect_samples_ = params.get_int("expect_samples");
  }

  void process(const Message& msg, Emitter& /*out*/) override {
    Counts& epoch = per_epoch_[msg.epoch];
    ++epoch.messages;
    fingerprint_.add(msg.epoch);
    fingerprint_.add(msg.index);
    if (const Batch* batch = payload_cast<Batch>(msg.payload.get())) {
      epoch.samples += batch->size();
      for (int64_t index : batch->indices) fingerprint_.add(index);
      for (int32_t label : batch->labels) fingerprint_.add(label);
    } else if (const Sample* sample = payload_cast<Sample>(msg.payload.get())) {
      epoch.samples += 1;
      fingerprint_.add(sample->label);
    }
    // Other payload types count as messages only.
  }

  // An epoch that ends without data still counts as an epoch.
  void end_epoch(int /*port*/, int64_t epoch, Emitter& /*out*/) override { per_epoch_[epoch]; }

  void close(Emitter& /*out*/) override {
    Counts total;
    for (const auto& [epoch, counts] : per_epoch_) {
      total.messages += counts.messages;
      total.samples += counts.samples;
    }
    std::ostringstream line;
    line << "count: " << total.samples << " samples in " << total.messages << " messages over "
         << per_epoch_.size() << " epoch(s), order fingerprint " << fingerprint_.hex();
    if (!env().name.empty() && env().name != "count") line << " (stage \"" << env().name << "\")";
    std::cout << line.str() << std::endl;
    if (!output_.empty()) WriteJson(total);
    if (expect_samples_ > 0 && total.samples != expect_samples_) {
      throw std::runtime_error("expected " + std::to_string(expect_samples_) + " samples, got " +
                               std::to_string(total.samples));
    }
  }

 private:
  struct Counts {
    int64_t messages = 0;
    int64_t samples = 0;
  };

  // Written to a temporary file and renamed, so a reader never sees half a file.
  void WriteJson(const Counts& total) const {
    const std::string temporary = CreateTempFileFor(output_);  // unique: runs never share it
    {
      std::ofstream file(temporary, std::ios::trunc);
      if (!file) throw std::runtime_error(output_ + ": cannot write " + temporary);
      file << "{\n  \"stage\": " << JsonString(env().name) << ",\n  \"samples\": " << total.samples
           << ",\n  \"messages\": " << total.messages << ",\n  \"epochs\": " << per_epoch_.size()
           << ",\n  \"fingerprint\": \"" << fingerprint_.hex() << "\",\n  \"per_epoch\": [";
      const char* separator = "\n";
      for (const auto& [epoch, counts] : per_epoch_) {
        file << separator << "    {\"epoch\": " << epoch << ", \"samples\": " << counts.samples
             << ", \"messages\": " << counts.messages << "}";
        separator = ",\n";
      }
      file << "\n  ]\n}\n";
      file.flush();
      if (!file) throw std::runtime_error(output_ + ": write to " + temporary + " failed");
    }
    std::error_code error;
    std::filesystem::rename(temporary, output_, error);
    if (error)
      throw std::runtime_error(output_ + ": cannot rename " + temporary + ": " + error.message());
  }

  std::string output_;
  int64_t expect_samples_ = 0;
  std::map<int64_t, Counts> per_epoch_;
  OrderFingerprint fingerprint_;
};

}  // namespace

void RegisterCountSink(Registry& registry) {
  StageInfo info;
  info.name = "count";
  info.kind = StageKind::kSink;
  info.concurrency = Concurrency::kSerial;
  info.doc = "Counts messages and samples per epoch and fingerprints their order";
  info.inputs = {{"in", kAnyType, "anything; a batch counts its size, a sample counts one"}};
  info.params = {
      StringParam("output", "", "also write the counts as JSON to this file (empty: don't)"),
      IntParam("expect_samples", 0, 0, 1e15,
               "fail at the end unless exactly this many samples arrived (0: no check)"),
  };
  info.create = [] { return std::make_unique<CountSink>(); };
  registry.add(std::move(info));
}

}  // namespace pipeline
