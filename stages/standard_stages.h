// The descriptor of the stages compiled into the binary; registered through the same path as a
// plugin library's.
#pragma once

#include "pipeline/plugin.h"

namespace pipeline {

const PipelinePluginDescriptor& StandardStagesDescriptor();

}  // namespace pipeline
