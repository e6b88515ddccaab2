// `pipeline run`, `validate` and `dot`.
#include <csignal>
#include <exception>
#include <iostream>
#include <thread>

#include "pipeline/cli/cli_commands.h"
#include "pipeline/cli/cli_common.h"
#include "pipeline/engine/runner.h"

namespace pipeline::cli {
namespace {

std::atomic<bool> g_stop_requested{false};

// First Ctrl-C (or SIGTERM, which service managers and `kill` send): stop the sources and let
// every stage close (a checkpoint sink saves). A second one: the default action, for a user who
// does not want to wait.
void OnInterrupt(int signal_number) {
  g_stop_requested.store(true);
  std::signal(signal_number, SIG_DFL);
}

// --profile: after the run, on stderr (see FormatProfile and StageProfile for the figures).
void PrintProfile(const RunResult& result) { std::cerr << "\n" << FormatProfile(result); }

}  // namespace

int RunCommand(const CliSetup& setup, const std::vector<std::string>& args) {
  PluginOptions plugins;
  GraphOptions graph;
  int threads = 0;
  uint32_t max_in_flight = 0;
  bool profile = false;
  po::options_description options("pipeline run options");
  po::positional_options_description positional;
  graph.add_to(options, positional);
  plugins.add_to(options);
  options.add_options()("threads", po::value(&threads)->default_value(0),
                        "worker threads (0 = all cores)")(
      "max-in-flight", po::value(&max_in_flight)->default_value(0),
      "messages per source alive at once (0 = the graph's setting or 256)")(
      "profile", po::bool_switch(&profile),
      "after the run, print a table per stage and name the stage that bounds the run:\n"
      "  busy s     time inside the stage's own code (summed over threads for a parallel "
      "stage)\n"
      "  busy%      busy s over the time it could have been busy (the dataflow's duration, "
      "times --threads for a parallel stage); the highest is the bottleneck\n"
      "  in-wait s  starved: no call running and no input ready for it\n"
      "  out-wait s blocked (sources): every slot under --max-in-flight was taken, "
      "because downstream was slower\n"
      "  msgs in/out, msgs/s  data messages, and those handled per second of dataflow");
  if (!ParseCommandLine("pipeline run GRAPH [options]", args, options, positional)) return kExitOk;
  graph.require_graph("run");
  if (threads < 0) throw UsageError("--threads must be 0 or more");

  auto loaded = BuildRegistry(setup, plugins, true);
  std::optional<ResolvedGraph> resolved = LoadForCommand(graph, *loaded);
  if (!resolved) return kExitUsage;

  g_stop_requested.store(false);
  auto previous_int = std::signal(SIGINT, OnInterrupt);
  auto previous_term = std::signal(SIGTERM, OnInterrupt);
  RunOptions run_options;
  run_options.threads = threads;
  run_options.max_in_flight = max_in_flight;
  run_options.stop_requested = &g_stop_requested;
  run_options.world = setup.world;
  // The graph runs on a worker thread; this thread serves the stages' main-thread work (a
  // display's window) until it ends.
  MainThreadQueue main_thread;
  run_options.main_thread = &main_thread;
  RunResult result;
  std::exception_ptr failure;
  std::thread runner([&] {
    try {
      result = RunGraph(*resolved, run_options);
    } catch (...) {
      failure = std::current_exception();
    }
    main_thread.finish();
  });
  main_thread.serve();
  runner.join();
  std::signal(SIGINT, previous_int);
  std::signal(SIGTERM, previous_term);
  if (failure) std::rethrow_exception(failure);

  if (profile) PrintProfile(result);
  if (!result.ok) {
    std::cerr << "error: " << result.error << "\n";
    return kExitRunFailed;
  }
  if (result.stopped) {
    std::cerr << "interrupted: sources stopped, every stage closed\n";
    return kExitInterrupted;
  }
  return kExitOk;
}

int ValidateCommand(const CliSetup& setup, const std::vector<std::string>& args) {
  PluginOptions plugins;
  GraphOptions graph;
  po::options_description options("pipeline validate options");
  po::positional_options_description positional;
  graph.add_to(options, positional);
  plugins.add_to(options);
  if (!ParseCommandLine("pipeline validate GRAPH [options]", args, options, positional)) {
    return kExitOk;
  }
  graph.require_graph("validate");
  auto loaded = BuildRegistry(setup, plugins, true);
  std::optional<ResolvedGraph> resolved = LoadForCommand(graph, *loaded);
  if (!resolved) return kExitUsage;
  std::cout << graph.graph_file << ": ok (" << resolved->stages.size() << " stages, "
            << resolved->edges.size() << " connections)\n";
  return kExitOk;
}

int DotCommand(const CliSetup& setup, const std::vector<std::string>& args) {
  PluginOptions plugins;
  GraphOptions graph;
  po::options_description options("pipeline dot options");
  po::positional_options_description positional;
  graph.add_to(options, positional);
  plugins.add_to(options);
  if (!ParseCommandLine("pipeline dot GRAPH [options] | dot -Tpng -o graph.png", args, options,
                        positional)) {
    return kExitOk;
  }
  graph.require_graph("dot");
  auto loaded = BuildRegistry(setup, plugins, true);
  std::optional<ResolvedGraph> resolved = LoadForCommand(graph, *loaded);
  if (!resolved) return kExitUsage;
  std::cout << ToDot(*resolved);
  return kExitOk;
}

}  // namespace pipeline::cli
