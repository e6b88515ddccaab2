// `pipeline plugins [NAME]`: every stage type with its ports and parameters, like gst-inspect.
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "pipeline/cli/cli_commands.h"
#include "pipeline/cli/cli_common.h"
#include "pipeline/engine/spelling.h"

namespace pipeline::cli {
namespace {

std::string Origin(const Registry::Entry& entry) {
  std::string text = entry.library;
  if (!entry.library_version.empty()) text += " " + entry.library_version;
  return text + " (" + entry.origin + ")";
}

std::string ParamConstraint(const ParamSpec& spec) {
  std::ostringstream text;
  if (spec.type == ParamType::kInt || spec.type == ParamType::kFloat) {
    const bool has_min = std::isfinite(spec.min), has_max = std::isfinite(spec.max);
    if (has_min && has_max) {
      text << "range [" << spec.min << ", " << spec.max << "]";
    } else if (has_min) {
      text << ">= " << spec.min;
    } else if (has_max) {
      text << "<= " << spec.max;
    }
    for (const auto& word : spec.choices) text << ", or " << word;
  } else if (spec.type == ParamType::kChoice) {
    text << "one of";
    for (const auto& choice : spec.choices) text << " " << choice;
  }
  return text.str();
}

void PrintPorts(const char* title, const std::vector<PortSpec>& ports) {
  if (ports.empty()) return;
  std::cout << title << ":\n";
  for (const auto& port : ports) {
    std::cout << "  " << std::left << std::setw(14) << port.name << std::setw(10) << port.type
              << port.doc << (port.optional ? " (optional)" : "") << "\n";
  }
}

void Describe(const Registry::Entry& entry) {
  const StageInfo& info = entry.info;
  std::cout << "Stage type \"" << info.name << "\"\n"
            << "  " << info.doc << "\n\n"
            << "  library      " << Origin(entry) << "\n"
            << "  kind         " << to_string(info.kind) << "\n"
            << "  concurrency  " << to_string(info.concurrency) << "\n\n";
  PrintPorts("Inputs", info.inputs);
  PrintPorts("Outputs", info.outputs);
  std::cout << "Parameters:\n";
  if (info.params.empty()) std::cout << "  (none)\n";
  // As wide as the longest name, so that long names keep the type column aligned.
  size_t name_width = 20;
  for (const auto& spec : info.params) name_width = std::max(name_width, spec.name.size() + 2);
  const int width = static_cast<int>(name_width);
  for (const auto& spec : info.params) {
    std::cout << "  " << std::left << std::setw(width) << spec.name << std::setw(8)
              << to_string(spec.type)
              << (spec.required ? "required" : "default \"" + spec.default_value + "\"");
    const std::string constraint = ParamConstraint(spec);
    if (!constraint.empty()) std::cout << "  " << constraint;
    std::cout << "\n  " << std::setw(width) << "" << spec.doc << "\n";
  }
}

void List(const LoadedRegistry& loaded) {
  for (const Registry::Entry* entry : loaded.registry.all()) {
    std::cout << std::left << std::setw(18) << entry->info.name << std::setw(10)
              << to_string(entry->info.kind) << entry->info.doc << "\n"
              << std::setw(28) << ""
              << "from " << Origin(*entry) << "\n";
  }
  std::cout << "\nplugin folders searched:";
  if (loaded.report.searched_dirs.empty()) std::cout << " (none)";
  for (const auto& dir : loaded.report.searched_dirs) std::cout << "\n  " << dir;
  std::cout << "\n";
  if (!loaded.report.failures.empty()) {
    std::cout << "\nrefused libraries:\n";
    for (const auto& failure : loaded.report.failures) std::cout << "  " << failure << "\n";
  }
}

}  // namespace

int PluginsCommand(const CliSetup& setup, const std::vector<std::string>& args) {
  PluginOptions plugins;
  std::string name;
  po::options_description options("pipeline plugins options");
  po::positional_options_description positional;
  options.add_options()("name", po::value(&name), "stage type to describe");
  positional.add("name", 1);
  plugins.add_to(options);
  if (!ParseCommandLine("pipeline plugins [NAME] [--plugin-path DIR]...", args, options,
                        positional)) {
    return kExitOk;
  }
  auto loaded = BuildRegistry(setup, plugins, false);
  if (name.empty()) {
    List(*loaded);
    return kExitOk;
  }
  if (const Registry::Entry* entry = loaded->registry.find(name)) {
    Describe(*entry);
    return kExitOk;
  }
  std::string message = "no stage type \"" + name + "\"";
  const auto closest = loaded->registry.closest(name);
  if (!closest.empty()) message += DidYouMean(name, closest);
  message += "; searched built-in stages and";
  if (loaded->report.searched_dirs.empty()) message += " no plugin folders";
  for (const auto& dir : loaded->report.searched_dirs) message += " " + dir;
  std::cerr << "pipeline plugins: " << message << "\n";
  for (const auto& failure : loaded->report.failures) {
    std::cerr << "  (refused: " << failure << ")\n";
  }
  return kExitUsage;
}

}  // namespace pipeline::cli
