// `checkpoint_source`: emits the model of one checkpoint file as a single "model" snapshot, so a
// graph can evaluate (or report on) a trained model without training it (`pipeline evaluate`).
#include <memory>
#include <string>

#include "pipeline/registry.h"
#include "stages/cnn/checkpoint.h"
#include "stages/cnn/cnn_registrations.h"
#include "stages/cnn/model_snapshot.h"

namespace pipeline {
namespace {

class CheckpointSource : public Stage {
 public:
  // Loading here, before anything runs, fails the run at once with the file's name.
  void open(const Params& params) override {
    snapshot_ = cnn::LoadCheckpoint(params.get_string("path"));
  }

  bool produce(Emitter& out) override {
    if (!snapshot_) return false;
    out.emit(std::move(snapshot_), 0, 0);
    out.end_epoch(0);
    return true;
  }

 private:
  std::shared_ptr<const cnn::ModelSnapshot> snapshot_;
};

}  // namespace

void RegisterCheckpointSource(Registry& registry) {
  StageInfo info;
  info.name = "checkpoint_source";
  info.kind = StageKind::kSource;
  info.concurrency = Concurrency::kSerial;
  info.doc = "Emits the model of a checkpoint file once (checked completely when the run opens)";
  info.outputs = {{"model", "model", "the checkpoint's snapshot, with its metrics history"}};
  info.params = {
      InputFile(RequiredStringParam("path", "checkpoint file (pipeline inspect describes one)"))};
  info.create = [] { return std::make_unique<CheckpointSource>(); };
  registry.add(std::move(info));
}

}  // namespace pipeline
