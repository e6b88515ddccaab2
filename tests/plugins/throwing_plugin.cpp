// A plugin whose registration fails after it registered one stage: the loader must report the
// error and roll that stage back.
#include <stdexcept>

#include "pipeline/plugin.h"
#include "test_stages.h"

namespace {

void RegisterStages(pipeline::Registry& registry) {
  registry.add(pipeline::test_plugins::PassThroughInfo("test_partial"));
  throw std::runtime_error("test plugin refuses to register");
}

}  // namespace

PIPELINE_PLUGIN("test_throwing", "0.0.1", RegisterStages)
