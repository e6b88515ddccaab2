// The registration function of each CNN stage, defined beside its stage. Declared here, in the
// CNN stages' own folder, so that this library needs nothing from the other standard stages
// (stages/stage_registrations.h collects every standard stage's function).
#pragma once

#include "pipeline/registry.h"

namespace pipeline {

void RegisterCnnTrain(Registry& registry);
void RegisterEvaluate(Registry& registry);
void RegisterCheckpointSink(Registry& registry);
void RegisterCnnPredict(Registry& registry);
void RegisterCheckpointSource(Registry& registry);

}  // namespace pipeline
