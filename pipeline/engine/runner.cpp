#include "pipeline/engine/runner.h"

#include <google/protobuf/text_format.h>
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/task_arena.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>

#include "pipeline/engine/stage_executor.h"

namespace pipeline {
namespace {

namespace flow = oneapi::tbb::flow;
using StageNode = flow::function_node<BundlePtr, BundlePtr>;
using Sender = flow::sender<BundlePtr>;

// Measures a source's back-pressure for --profile. It counts the source's live tickets (one per
// produced bundle, as the limiter counts them). When a produce() call ends with every slot taken,
// the source cannot go on until downstream gives a slot back: it is blocked from then until its
// next produce() starts (whether oneTBB parks the bundle at the limiter or pulls the next one
// only once a slot frees).
class BackPressureMeter {
 public:
  BackPressureMeter(size_t limit, std::atomic<int64_t>& blocked_ns)
      : limit_(limit), blocked_ns_(blocked_ns) {}

  // At the start of every produce().
  void ticket_issued() {
    std::lock_guard lock(mutex_);
    ++live_;
    if (blocked_since_) {
      blocked_ns_.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::steady_clock::now() - *blocked_since_)
                                .count(),
                            std::memory_order_relaxed);
      blocked_since_.reset();
    }
  }
  void bundle_produced() {
    std::lock_guard lock(mutex_);
    if (live_ >= limit_) blocked_since_ = std::chrono::steady_clock::now();
  }
  void ticket_released() {
    std::lock_guard lock(mutex_);
    --live_;
  }

 private:
  std::mutex mutex_;
  size_t live_ = 0;
  const size_t limit_;
  std::optional<std::chrono::steady_clock::time_point> blocked_since_;
  std::atomic<int64_t>& blocked_ns_;
};

// The oneTBB graph for one run. Per source: input_node → limiter_node (back-pressure: a slot per
// source bundle, given back by its ticket). Per input port of other stages: a function_node
// running the executor — serial ones behind a sequencer_node, which restores the producer's
// order after parallel stages.
class FlowGraph {
 public:
  FlowGraph(const ResolvedGraph& graph, std::vector<std::unique_ptr<StageExecutor>>& executors,
            size_t max_in_flight, const std::atomic<bool>* stop_requested, int threads)
      : outputs_(graph.stages.size()) {
    for (size_t i = 0; i < graph.stages.size(); ++i) {
      StageExecutor& executor = *executors[i];
      if (graph.stages[i].entry->info.kind == StageKind::kSource) {
        add_source(i, executor, max_in_flight, stop_requested);
      } else {
        add_consumer(graph, i, executor, threads);
      }
    }
  }

  ~FlowGraph() {
    // Tickets can outlive the graph only after a failure; they must not reach freed limiters.
    for (auto& gate : gates_) gate->close();
  }

  void run(std::vector<std::unique_ptr<StageExecutor>>& executors) {
    const auto start = std::chrono::steady_clock::now();
    for (auto& executor : executors) executor->start_clock(start);
    for (auto& input : inputs_) input->activate();
    graph_.wait_for_all();
  }

 private:
  void add_source(size_t index, StageExecutor& executor, size_t max_in_flight,
                  const std::atomic<bool>* stop_requested) {
    auto limiter = std::make_unique<flow::limiter_node<BundlePtr>>(graph_, max_in_flight);
    auto* decrement = &limiter->decrementer();
    auto meter =
        std::make_shared<BackPressureMeter>(max_in_flight, executor.stats().output_wait_ns);
    auto gate = std::make_shared<TicketGate>([decrement, meter] {
      meter->ticket_released();
      decrement->try_put(flow::continue_msg());
    });
    auto make_ticket = [gate, meter] {
      meter->ticket_issued();
      return std::make_shared<Ticket>([gate] { gate->release(); });
    };
    auto input = std::make_unique<flow::input_node<BundlePtr>>(
        graph_,
        [&executor, make_ticket, meter, stop_requested](oneapi::tbb::flow_control& control) {
          const bool stop = stop_requested != nullptr && stop_requested->load();
          BundlePtr bundle = executor.produce(make_ticket, stop);
          if (!bundle) {
            control.stop();
          } else {
            meter->bundle_produced();
          }
          return bundle;
        });
    flow::make_edge(*input, *limiter);
    outputs_[index].push_back(limiter.get());
    gates_.push_back(std::move(gate));
    inputs_.push_back(std::move(input));
    limiters_.push_back(std::move(limiter));
  }

  void add_consumer(const ResolvedGraph& graph, size_t index, StageExecutor& executor,
                    int threads) {
    const bool parallel = executor.is_parallel();
    for (const Edge& edge : graph.edges) {
      if (edge.to != static_cast<int>(index)) continue;
      const int port = edge.to_port;
      const int producer_port = edge.from_port;
      auto node = std::make_unique<StageNode>(
          graph_, parallel ? static_cast<size_t>(threads) : static_cast<size_t>(flow::serial),
          [&executor, port, producer_port](const BundlePtr& bundle) {
            return executor.consume(*bundle, port, producer_port);
          });
      flow::receiver<BundlePtr>* entry = node.get();
      if (!parallel) {
        auto sequencer = std::make_unique<flow::sequencer_node<BundlePtr>>(
            graph_, [](const BundlePtr& bundle) { return bundle->seq; });
        flow::make_edge(*sequencer, *node);
        entry = sequencer.get();
        sequencers_.push_back(std::move(sequencer));
      }
      for (Sender* producer : outputs_[edge.from]) flow::make_edge(*producer, *entry);
      outputs_[index].push_back(node.get());
      nodes_.push_back(std::move(node));
    }
  }

  flow::graph graph_;
  std::vector<std::vector<Sender*>> outputs_;  // per stage: what its consumers connect to
  std::vector<std::shared_ptr<TicketGate>> gates_;
  std::vector<std::unique_ptr<flow::input_node<BundlePtr>>> inputs_;
  std::vector<std::unique_ptr<flow::limiter_node<BundlePtr>>> limiters_;
  std::vector<std::unique_ptr<flow::sequencer_node<BundlePtr>>> sequencers_;
  std::vector<std::unique_ptr<StageNode>> nodes_;
};

// Which inputs of stage `index` the graph feeds.
std::vector<bool> ConnectedInputs(const ResolvedGraph& graph, size_t index) {
  std::vector<bool> connected(graph.stages[index].entry->info.inputs.size(), false);
  for (const Edge& edge : graph.edges) {
    if (edge.to == static_cast<int>(index)) connected[edge.to_port] = true;
  }
  return connected;
}

// The sources stage `index` depends on (stages are in topological order).
std::vector<size_t> UpstreamSources(const ResolvedGraph& graph, size_t index) {
  std::vector<bool> upstream(graph.stages.size(), false);
  upstream[index] = true;
  for (size_t i = graph.stages.size(); i-- > 0;) {
    if (!upstream[i]) continue;
    for (const Edge& edge : graph.edges) {
      if (edge.to == static_cast<int>(i)) upstream[edge.from] = true;
    }
  }
  std::vector<size_t> sources;
  for (size_t i = 0; i < graph.stages.size(); ++i) {
    if (upstream[i] && graph.stages[i].entry->info.kind == StageKind::kSource) sources.push_back(i);
  }
  return sources;
}

std::vector<StageProfile> CollectProfile(
    const std::vector<std::unique_ptr<StageExecutor>>& executors) {
  std::vector<StageProfile> profile;
  for (const auto& executor : executors) {
    const StageStats& stats = executor->stats();
    const StageInfo& info = executor->instance().entry->info;
    StageProfile stage;
    stage.name = executor->instance().name;
    stage.plugin = info.name;
    stage.source = info.kind == StageKind::kSource;
    stage.parallel = executor->is_parallel();
    stage.calls = stats.calls.load();
    stage.messages_in = stats.messages_in.load();
    stage.messages_out = stats.messages_out.load();
    stage.busy_seconds = static_cast<double>(stats.busy_ns.load()) * 1e-9;
    stage.input_wait_seconds = static_cast<double>(stats.input_wait_ns.load()) * 1e-9;
    stage.output_wait_seconds = static_cast<double>(stats.output_wait_ns.load()) * 1e-9;
    profile.push_back(std::move(stage));
  }
  return profile;
}

}  // namespace

RunResult RunGraph(const ResolvedGraph& graph, const RunOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const int threads =
      options.threads > 0 ? options.threads : oneapi::tbb::info::default_concurrency();
  RunStatus status;
  if (options.world != nullptr && options.world->distributed()) status.set_world(options.world);
  RunResult result;
  std::vector<std::unique_ptr<StageExecutor>> executors;
  std::string graph_text;
  google::protobuf::TextFormat::PrintToString(graph.spec, &graph_text);
  for (size_t i = 0; i < graph.stages.size(); ++i) {
    const StageInstance& instance = graph.stages[i];
    executors.push_back(std::make_unique<StageExecutor>(instance, instance.entry->info.create(),
                                                        status, ConnectedInputs(graph, i)));
  }
  bool opened = true;
  for (size_t i = 0; i < graph.stages.size(); ++i) {
    const StageInstance& instance = graph.stages[i];
    StageEnv env;
    env.name = instance.name;
    env.plugin = instance.entry->info.name;
    env.graph_seed = graph.seed;
    env.threads = threads;
    env.graph_text = graph_text;
    env.graph_file = graph.file;
    env.stop_requested = options.stop_requested;
    env.connected_inputs = ConnectedInputs(graph, i);
    env.world = options.world;
    env.main_thread = options.main_thread;
    env.finish_upstream = [&executors, sources = UpstreamSources(graph, i)] {
      for (size_t source : sources) executors[source]->request_finish();
    };
    if (!executors[i]->open(env)) {
      opened = false;
      break;
    }
  }
  if (opened) {
    size_t max_in_flight = options.max_in_flight > 0 ? options.max_in_flight
                           : graph.max_in_flight > 0 ? graph.max_in_flight
                                                     : kDefaultMaxInFlight;
    for (const auto& executor : executors) max_in_flight += executor->held_inputs();
    oneapi::tbb::task_arena arena(threads);
    const auto flow_start = std::chrono::steady_clock::now();
    arena.execute([&] {
      FlowGraph flow_graph(graph, executors, max_in_flight, options.stop_requested, threads);
      flow_graph.run(executors);
    });
    result.flow_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - flow_start).count();
    for (const auto& executor : executors) {
      if (executor->is_parallel()) executor->close_parallel();
    }
  }
  result.ok = !status.failed();
  result.error = status.error();
  result.stopped = options.stop_requested != nullptr && options.stop_requested->load();
  result.threads = threads;
  result.profile = CollectProfile(executors);
  result.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace pipeline
