// A plugin built for a future ABI version: the loader must refuse it without calling its
// register function (which would abort the process if it ran).
#include <cstdlib>

#include "pipeline/plugin.h"

namespace {

const char* MustNeverRun(void*) { std::abort(); }

const PipelinePluginDescriptor kDescriptor{PIPELINE_PLUGIN_ABI_VERSION + 1, "test_wrong_abi",
                                           "9.9.9", &MustNeverRun};

}  // namespace

extern "C" __attribute__((visibility("default"))) const PipelinePluginDescriptor*
pipeline_plugin_v1() {
  return &kDescriptor;
}
