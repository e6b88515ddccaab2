// The registration function of the report sink, defined beside it (report_sink.cpp). Declared
// here so that the report library needs nothing from the other standard stages.
#pragma once

#include "pipeline/registry.h"

namespace pipeline {

void RegisterReportSink(Registry& registry);

}  // namespace pipeline
