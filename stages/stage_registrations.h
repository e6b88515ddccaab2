// One registration function per standard stage, each defined beside its stage.
#pragma once

#include <vector>

#include "pipeline/registry.h"
#include "stages/cnn/cnn_registrations.h"
#include "stages/report/report_registrations.h"

namespace pipeline {

using RegisterFn = void (*)(Registry&);

void RegisterIdxSource(Registry& registry);
void RegisterNormalize(Registry& registry);
void RegisterBatch(Registry& registry);
void RegisterCountSink(Registry& registry);
void RegisterImageGrid(Registry& registry);
// The CNN stages (stages/cnn/cnn_registrations.h) and the report sink
// (stages/report/report_registrations.h) are declared in their own libraries.
// Custom images: photos, camera frames, digit extraction, predictions out.
void RegisterImageSource(Registry& registry);
void RegisterDigitExtract(Registry& registry);
void RegisterCameraSource(Registry& registry);
void RegisterPredictionsSink(Registry& registry);
void RegisterAnnotate(Registry& registry);
void RegisterDisplay(Registry& registry);
void RegisterVideoWriter(Registry& registry);
void RegisterImageWriter(Registry& registry);

inline std::vector<RegisterFn> StandardStageRegistrations() {
  return {&RegisterIdxSource,       &RegisterNormalize,      &RegisterBatch,
          &RegisterCountSink,       &RegisterImageGrid,      &RegisterCnnTrain,
          &RegisterEvaluate,        &RegisterCheckpointSink, &RegisterCnnPredict,
          &RegisterImageSource,     &RegisterDigitExtract,   &RegisterCameraSource,
          &RegisterPredictionsSink, &RegisterAnnotate,       &RegisterDisplay,
          &RegisterVideoWriter,     &RegisterImageWriter,    &RegisterCheckpointSource,
          &RegisterReportSink};
}

}  // namespace pipeline
