// A plugin whose entry point returns no descriptor.
#include "pipeline/plugin.h"

extern "C" __attribute__((visibility("default"))) const PipelinePluginDescriptor*
pipeline_plugin_v1() {
  return nullptr;
}
