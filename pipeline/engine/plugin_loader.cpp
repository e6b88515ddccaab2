#include "pipeline/engine/plugin_loader.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <stdexcept>
#include <string_view>
#include <system_error>

// Set by pipeline/CMakeLists.txt to the install's plugin folder relative to bin/; this default
// only serves builds outside CMake.
#ifndef PIPELINE_PLUGIN_RELATIVE_DIR
#define PIPELINE_PLUGIN_RELATIVE_DIR "../lib/pipeline/plugins"
#endif

namespace pipeline {
namespace {

namespace fs = std::filesystem;

// Where the build tree puts plugins relative to bin/. It differs from the install's folder when
// the install's library folder is multiarch (lib/x86_64-linux-gnu), so it is tried second.
constexpr const char* kBuildTreePluginDir = "../lib/pipeline/plugins";

// Checks the descriptor and runs its registration inside begin_library/end_library, so that a
// failure leaves the registry as it was. Returns why it was refused, or nullopt on success.
// The returned text is a copy: the library may be unloaded once this returns.
std::optional<std::string> RegisterDescriptor(const PipelinePluginDescriptor* descriptor,
                                              Registry& registry, const std::string& origin) {
  if (descriptor == nullptr) return "the entry point returned no descriptor";
  if (descriptor->abi_version != PIPELINE_PLUGIN_ABI_VERSION) {
    return "built for plugin ABI version " + std::to_string(descriptor->abi_version) +
           ", this pipeline needs version " + std::to_string(PIPELINE_PLUGIN_ABI_VERSION) +
           " (rebuild it against this pipeline's headers)";
  }
  if (descriptor->register_stages == nullptr) return "the descriptor has no register function";

  const std::string name = descriptor->name != nullptr ? descriptor->name : "(unnamed)";
  const std::string version = descriptor->version != nullptr ? descriptor->version : "";
  registry.begin_library(name, version, origin);
  std::optional<std::string> error;
  // PIPELINE_PLUGIN catches everything, but a hand-written descriptor may not.
  try {
    if (const char* message = descriptor->register_stages(&registry)) {
      error = "registration failed: " + std::string(message);
    }
  } catch (const std::exception& e) {
    error = "registration threw: " + std::string(e.what());
  } catch (...) {
    error = "registration threw an unknown exception";
  }
  registry.end_library(!error.has_value());
  return error;
}

// Loads one library file; on failure the returned text says why and the library is unloaded.
std::optional<std::string> LoadLibrary(const std::string& file, Registry& registry) {
  dlerror();  // clear any stale error
  void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return "cannot load: " + std::string(why != nullptr ? why : "unknown dlopen error");
  }
  auto entry = reinterpret_cast<PipelinePluginEntry>(dlsym(handle, PIPELINE_PLUGIN_ENTRY_SYMBOL));
  std::optional<std::string> error;
  if (entry == nullptr) {
    error = std::string("no entry point \"") + PIPELINE_PLUGIN_ENTRY_SYMBOL +
            "\" (not a pipeline plugin? define one with PIPELINE_PLUGIN from pipeline/plugin.h)";
  } else {
    const PipelinePluginDescriptor* descriptor = nullptr;
    try {
      descriptor = entry();
    } catch (...) {
      error = "the entry point threw";
    }
    if (!error) error = RegisterDescriptor(descriptor, registry, file);
  }
  // Registered stages' factories live in the library, so only a refused one is unloaded.
  if (error) dlclose(handle);
  return error;
}

// lib*.so files directly in `dir`, sorted by name so that the load order is deterministic.
std::vector<std::string> PluginFiles(const std::string& dir, std::string& error) {
  std::vector<std::string> files;
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string file_name = it->path().filename().string();
    const bool named_like_plugin =
        file_name.size() > 6 && file_name.starts_with("lib") && file_name.ends_with(".so");
    std::error_code type_ec;
    if (named_like_plugin && it->is_regular_file(type_ec)) files.push_back(it->path().string());
  }
  if (ec) error = dir + ": cannot list plugin folder: " + ec.message();
  std::sort(files.begin(), files.end());
  return files;
}

std::optional<fs::path> RunningBinaryDir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return std::nullopt;
  return exe.parent_path();
}

// The install's plugin folder, found relative to the running binary so that a relocated install
// still finds its own plugins.
std::optional<fs::path> InstalledPluginDir() {
  const auto bin_dir = RunningBinaryDir();
  if (!bin_dir) return std::nullopt;
  for (const char* relative : {PIPELINE_PLUGIN_RELATIVE_DIR, kBuildTreePluginDir}) {
    std::error_code ec;
    const fs::path dir = *bin_dir / relative;
    if (fs::is_directory(dir, ec)) return dir;
  }
  return std::nullopt;
}

std::vector<std::string> SplitPathList(std::string_view list) {
  std::vector<std::string> parts;
  while (!list.empty()) {
    const size_t colon = list.find(':');
    const std::string_view part = list.substr(0, colon);
    if (!part.empty()) parts.emplace_back(part);
    if (colon == std::string_view::npos) break;
    list.remove_prefix(colon + 1);
  }
  return parts;
}

}  // namespace

void RegisterBuiltin(const PipelinePluginDescriptor& descriptor, Registry& registry) {
  const std::string name = descriptor.name != nullptr ? descriptor.name : "(unnamed)";
  if (auto error = RegisterDescriptor(&descriptor, registry, "built-in")) {
    throw std::runtime_error("built-in stages \"" + name + "\": " + *error);
  }
}

PluginLoadReport LoadPlugins(const std::vector<std::string>& dirs, Registry& registry) {
  PluginLoadReport report;
  for (const auto& dir : dirs) {
    report.searched_dirs.push_back(dir);
    std::string list_error;
    for (const auto& file : PluginFiles(dir, list_error)) {
      if (auto error = LoadLibrary(file, registry)) {
        report.failures.push_back(file + ": " + *error);
      } else {
        report.loaded.push_back(file);
      }
    }
    if (!list_error.empty()) report.failures.push_back(list_error);
  }
  return report;
}

std::vector<std::string> PluginSearchPath(const std::vector<std::string>& cli_paths) {
  std::vector<std::string> candidates = cli_paths;
  if (const char* env = std::getenv("PIPELINE_PLUGIN_PATH")) {
    for (auto& dir : SplitPathList(env)) candidates.push_back(std::move(dir));
  }
  if (const auto installed = InstalledPluginDir()) candidates.push_back(installed->string());

  std::vector<std::string> dirs;
  std::set<std::string> seen;
  for (const auto& candidate : candidates) {
    std::error_code ec;
    const fs::path canonical = fs::canonical(candidate, ec);
    if (ec || !fs::is_directory(canonical, ec)) continue;
    if (seen.insert(canonical.string()).second) dirs.push_back(canonical.string());
  }
  return dirs;
}

}  // namespace pipeline
