// Finds plugin libraries and registers their stages.
#pragma once

#include <string>
#include <vector>

#include "pipeline/plugin.h"
#include "pipeline/registry.h"

namespace pipeline {

struct PluginLoadReport {
  std::vector<std::string> searched_dirs;
  std::vector<std::string> loaded;    // files whose stages were registered
  std::vector<std::string> failures;  // "file: why", one per refused library
};

// Registers a descriptor compiled into the binary (the standard stages) the same way a
// library's is: same ABI check, same registration path.
void RegisterBuiltin(const PipelinePluginDescriptor& descriptor, Registry& registry);

// Loads every lib*.so in each folder (in order; later duplicates are refused). A library with
// no entry point, the wrong ABI version, or a failing registration is skipped and reported;
// the others keep working.
PluginLoadReport LoadPlugins(const std::vector<std::string>& dirs, Registry& registry);

// --plugin-path entries, then PIPELINE_PLUGIN_PATH (colon-separated), then the install's
// plugin folder, de-duplicated, keeping only folders that exist.
std::vector<std::string> PluginSearchPath(const std::vector<std::string>& cli_paths);

}  // namespace pipeline
