// The C entry point a plugin library exports. Include this in exactly one source file of a
// plugin and use PIPELINE_PLUGIN at namespace scope.
#pragma once

#include <cstdint>
#include <exception>
#include <string>

#include "pipeline/registry.h"

// Bumped whenever the stage API or the descriptor changes incompatibly; the loader refuses a
// library built for another version before running any of its code beyond the entry point.
#define PIPELINE_PLUGIN_ABI_VERSION 1u
#define PIPELINE_PLUGIN_ENTRY_SYMBOL "pipeline_plugin_v1"

extern "C" {
struct PipelinePluginDescriptor {
  uint32_t abi_version;
  const char* name;
  const char* version;
  // Registers the library's stages into the pipeline::Registry behind `registry`.
  // Returns nullptr on success, else a message valid until the next call.
  const char* (*register_stages)(void* registry);
};
typedef const PipelinePluginDescriptor* (*PipelinePluginEntry)(void);
}

namespace pipeline {
// Runs `fn(registry)` and turns any exception into the descriptor's error string, so that no
// exception crosses the library boundary.
template <typename Fn>
const char* RegisterCatching(void* registry, Fn fn) {
  static thread_local std::string error;
  try {
    fn(*static_cast<Registry*>(registry));
    return nullptr;
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "unknown exception during registration";
  }
  return error.c_str();
}
}  // namespace pipeline

// Defines the library's entry point. REGISTER_FN is `void(pipeline::Registry&)`.
#define PIPELINE_PLUGIN(NAME, VERSION, REGISTER_FN)                                        \
  extern "C" __attribute__((visibility("default"))) const PipelinePluginDescriptor*        \
  pipeline_plugin_v1() {                                                                   \
    static const PipelinePluginDescriptor descriptor{                                      \
        PIPELINE_PLUGIN_ABI_VERSION, NAME, VERSION,                                        \
        [](void* registry) { return ::pipeline::RegisterCatching(registry, REGISTER_FN); }}; \
    return &descriptor;                                                                    \
  }
