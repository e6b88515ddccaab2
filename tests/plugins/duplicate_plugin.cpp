// A plugin that registers a new stage and then one named like the good plugin's: loaded after
// it, the loader must refuse the whole library, including the new stage.
#include "pipeline/plugin.h"
#include "test_stages.h"

namespace {

void RegisterStages(pipeline::Registry& registry) {
  registry.add(pipeline::test_plugins::PassThroughInfo("test_before_duplicate"));
  registry.add(pipeline::test_plugins::PassThroughInfo("test_negate"));
}

}  // namespace

PIPELINE_PLUGIN("test_duplicate", "0.0.1", RegisterStages)
