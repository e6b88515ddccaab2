// `cnn_train`'s entry in the registry: its ports, parameters and documentation.
#include "pipeline/registry.h"
#include "stages/cnn/cnn_registrations.h"
#include "stages/cnn/cnn_train.h"
#include "stages/cnn/train_config.h"

namespace pipeline {

void RegisterCnnTrain(Registry& registry) {
  StageInfo info;
  info.name = "cnn_train";
  info.kind = StageKind::kTransform;
  info.concurrency = Concurrency::kSerial;
  info.doc =
      "Trains a CNN (oneDNN, fp32 or bf16) on labelled batches; emits a model snapshot "
      "after every epoch";
  info.inputs = {
      {"batches", "batch", "labelled training batches, normalized (CV_32F)"},
      {"validation", "batch",
       "optional held-out labelled batches (e.g. idx_source split validation), streamed once "
       "and kept: measured after every epoch, for the callbacks and the metrics",
       /*optional=*/true},
  };
  info.outputs = {{"model", "model",
                   "the model after each epoch: weights, optimizer state, position, metrics"}};
  info.params = cnn::TrainParams();
  info.create = CreateCnnTrain;
  registry.add(std::move(info));
}

}  // namespace pipeline
