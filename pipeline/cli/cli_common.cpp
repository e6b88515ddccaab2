#include "pipeline/cli/cli_common.h"

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <iostream>

namespace pipeline::cli {
namespace {

// As the graph file's `seed` (a uint64) takes it: decimal digits only, so that "-1" is refused
// here too rather than wrapped round to 2^64 - 1.
uint64_t ParseSeed(const std::string& text) {
  const bool digits_only =
      !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  errno = 0;
  const unsigned long long value = digits_only ? std::strtoull(text.c_str(), nullptr, 10) : 0;
  if (!digits_only || errno == ERANGE) {
    throw UsageError("--seed \"" + text +
                     "\": expected a whole number from 0 to 18446744073709551615");
  }
  return value;
}

}  // namespace

void PluginOptions::add_to(po::options_description& description) {
  description.add_options()("plugin-path", po::value(&plugin_paths)->composing(),
                            "folder of plugin libraries (repeatable; searched before "
                            "PIPELINE_PLUGIN_PATH and the installed plugin folder)");
}

void GraphOptions::add_to(po::options_description& description,
                          po::positional_options_description& positional) {
  description.add_options()("graph", po::value(&graph_file), "graph file")(
      "set", po::value(&overrides)->composing(),
      "override a parameter: STAGE.PARAM=VALUE (repeatable)")(
      "seed", po::value<std::string>()->notifier([this](const std::string& text) {
        seed = ParseSeed(text);
      }),
      "seed for every random choice (overrides the graph's): 0 to 18446744073709551615");
  positional.add("graph", 1);
}

void GraphOptions::require_graph(const std::string& command) const {
  if (!graph_file.empty()) return;
  throw UsageError("give a graph file, e.g. pipeline " + command +
                   " train.graph\nusage: pipeline " + command + " GRAPH [options] (pipeline " +
                   command + " --help for more)");
}

void CheckPluginFolders(const std::vector<std::string>& dirs) {
  for (const std::string& dir : dirs) {
    std::error_code error;
    if (!std::filesystem::is_directory(dir, error)) {
      throw UsageError("--plugin-path " + dir + ": " +
                       (std::filesystem::exists(dir, error) ? "not a folder" : "no such folder"));
    }
  }
}

std::unique_ptr<LoadedRegistry> BuildRegistry(const CliSetup& setup, const PluginOptions& plugins,
                                              bool warn_about_failures) {
  auto loaded = std::make_unique<LoadedRegistry>();
  for (const PipelinePluginDescriptor* builtin : setup.builtins) {
    RegisterBuiltin(*builtin, loaded->registry);
  }
  CheckPluginFolders(plugins.plugin_paths);
  loaded->report = LoadPlugins(PluginSearchPath(plugins.plugin_paths), loaded->registry);
  if (warn_about_failures) {
    for (const auto& failure : loaded->report.failures) {
      std::cerr << "warning: plugin refused: " << failure << "\n";
    }
  }
  return loaded;
}

bool ParseCommandLine(const std::string& usage, const std::vector<std::string>& args,
                      po::options_description& options,
                      const po::positional_options_description& positional) {
  bool help = false;
  options.add_options()("help,h", po::bool_switch(&help), "show this help");
  po::variables_map values;
  try {
    po::store(po::command_line_parser(args).options(options).positional(positional).run(), values);
    if (values.count("help") && values["help"].as<bool>()) {
      std::cout << "usage: " << usage << "\n\n" << options;
      return false;
    }
    po::notify(values);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + "\nusage: " + usage);
  }
  return true;
}

std::optional<ResolvedGraph> LoadForCommand(const GraphOptions& graph,
                                            const LoadedRegistry& loaded) {
  LoadOptions options;
  options.overrides = graph.overrides;
  options.seed = graph.seed;
  options.plugin_dirs = loaded.report.searched_dirs;
  LoadResult result = LoadGraphFile(graph.graph_file, loaded.registry, options);
  if (!result.errors.empty()) {
    std::cerr << FormatAll(result.errors);
    std::cerr << result.errors.size() << " error(s); nothing was run.\n";
    return std::nullopt;
  }
  return std::move(result.graph);
}

}  // namespace pipeline::cli
