#include "stages/standard_stages.h"

#include "stages/stage_registrations.h"

namespace pipeline {
namespace {

void RegisterStandardStages(Registry& registry) {
  for (const auto& register_stage : StandardStageRegistrations()) register_stage(registry);
}

}  // namespace

const PipelinePluginDescriptor& StandardStagesDescriptor() {
  static const PipelinePluginDescriptor descriptor{
      PIPELINE_PLUGIN_ABI_VERSION, "standard", "0.1.0",
      [](void* registry) { return RegisterCatching(registry, RegisterStandardStages); }};
  return descriptor;
}

}  // namespace pipeline
