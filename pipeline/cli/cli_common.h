// Pieces every graph command shares: plugin options, the registry, loading a graph.
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/cli/cli.h"
#include "pipeline/engine/graph.h"
#include "pipeline/engine/plugin_loader.h"
#include "pipeline/registry.h"

namespace pipeline::cli {

namespace po = boost::program_options;

// Thrown for a bad command line; RunCli prints it with a hint and exits with kExitUsage.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct PluginOptions {
  std::vector<std::string> plugin_paths;
  void add_to(po::options_description& description);
};

// Every command takes --plugin-path; a folder named there that does not exist is a typo, not an
// empty search path, so it is refused (UsageError) even by commands that load no plugin.
void CheckPluginFolders(const std::vector<std::string>& dirs);

struct GraphOptions {
  std::string graph_file;
  std::vector<std::string> overrides;
  std::optional<uint64_t> seed;
  void add_to(po::options_description& description, po::positional_options_description& positional);
  // After parsing: a UsageError that says what to give, for a command line without a graph
  // (boost's "the option '--graph' is required" names an option the user never types).
  void require_graph(const std::string& command) const;
};

// Registers the builtins and loads plugins, warning on stderr about refused libraries.
struct LoadedRegistry {
  Registry registry;
  PluginLoadReport report;
};
std::unique_ptr<LoadedRegistry> BuildRegistry(const CliSetup& setup, const PluginOptions& plugins,
                                              bool warn_about_failures);

// Parses `args` for a command; prints help and returns false when --help was given.
bool ParseCommandLine(const std::string& usage, const std::vector<std::string>& args,
                      po::options_description& options,
                      const po::positional_options_description& positional);

// Loads and validates; prints every diagnostic to stderr. nullopt when invalid.
std::optional<ResolvedGraph> LoadForCommand(const GraphOptions& graph,
                                            const LoadedRegistry& loaded);

}  // namespace pipeline::cli
