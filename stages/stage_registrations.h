// One registration function per standard stage, each defined beside its stage.
#pragma once

#include <vector>

#include "pipeline/registry.h"

namespace pipeline {

using RegisterFn = void (*)(Registry&);

void RegisterIdxSource(Registry& registry);
void RegisterNormalize(Registry& registry);
void RegisterBatch(Registry& registry);
void RegisterCountSink(Registry& registry);
void RegisterImageGrid(Registry& registry);

inline std::vector<RegisterFn> StandardStageRegistrations() {
  return {&RegisterIdxSource, &RegisterNormalize, &RegisterBatch, &RegisterCountSink,
          &RegisterImageGrid};
}

}  // namespace pipeline
