// Test-only stages for training graphs run through the real engine:
//   cut_after_epochs  passes samples of the first `epochs` epochs, then asks its sources to end
//                     (request_finish) and drops the rest: a run "interrupted" exactly at an
//                     epoch boundary, while the source still announces all its planned epochs.
//   poison_batches    from epoch `from_epoch` on, puts a NaN into the first pixel of every batch.
#pragma once

#include <cmath>
#include <memory>

#include "pipeline/payloads.h"
#include "pipeline/registry.h"
#include "pipeline/stage.h"

namespace pipeline::cnn::testing {

class CutAfterEpochs : public Stage {
 public:
  void open(const Params& params) override { epochs_ = params.get_int("epochs"); }
  void process(const Message& msg, Emitter& out) override {
    if (epochs_ > 0 && msg.epoch >= epochs_) {
      if (!requested_) request_finish();
      requested_ = true;
      return;
    }
    out.emit_like(msg, msg.payload);
  }

 private:
  int64_t epochs_ = 0;
  bool requested_ = false;
};

class PoisonBatches : public Stage {
 public:
  void open(const Params& params) override { from_epoch_ = params.get_int("from_epoch"); }
  void process(const Message& msg, Emitter& out) override {
    if (from_epoch_ < 0 || msg.epoch < from_epoch_) {
      out.emit_like(msg, msg.payload);
      return;
    }
    auto poisoned = std::make_shared<Batch>(msg.as<Batch>());
    poisoned->data[0] = std::nanf("");
    out.emit_like(msg, std::move(poisoned));
  }

 private:
  int64_t from_epoch_ = -1;
};

inline void RegisterTrainingTestStages(Registry& registry) {
  StageInfo cut;
  cut.name = "cut_after_epochs";
  cut.kind = StageKind::kTransform;
  cut.doc = "test: ends the stream after N epochs";
  cut.inputs = {{"in", "sample", ""}};
  cut.outputs = {{"out", "sample", ""}};
  cut.params = {IntParam("epochs", 0, 0, 1e6, "0 = pass everything")};
  cut.create = [] { return std::make_unique<CutAfterEpochs>(); };
  registry.add(std::move(cut));

  StageInfo poison;
  poison.name = "poison_batches";
  poison.kind = StageKind::kTransform;
  poison.doc = "test: NaN pixels from an epoch on";
  poison.inputs = {{"in", "batch", ""}};
  poison.outputs = {{"out", "batch", ""}};
  poison.params = {IntParam("from_epoch", -1, -1, 1e6, "-1 = never")};
  poison.create = [] { return std::make_unique<PoisonBatches>(); };
  registry.add(std::move(poison));
}

}  // namespace pipeline::cnn::testing
