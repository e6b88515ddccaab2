// Topological order of the stages, and the cycles that prevent one. Linear in stages + wires
// (plus a log factor for taking ready stages in file order), so that a graph of a million stages
// validates in seconds.
#include <algorithm>
#include <functional>
#include <queue>
#include <string>
#include <unordered_map>

#include "pipeline/engine/graph_check.h"

namespace pipeline::graph_detail {
namespace {

// Kahn's algorithm over per-stage wire lists. A stage is placed once every producer it still
// waits on is placed or set aside (part of a reported cycle).
class StageOrder {
 public:
  StageOrder(int stages, const std::vector<Wire>& wires)
      : wires_(wires),
        outputs_(stages),
        inputs_(stages),
        waiting_on_(stages, 0),
        pending_(stages, true),
        pending_count_(stages) {
    for (size_t i = 0; i < wires.size(); ++i) {
      outputs_[wires[i].edge.from].push_back(i);
      inputs_[wires[i].edge.to].push_back(i);
      ++waiting_on_[wires[i].edge.to];
    }
    for (int stage = 0; stage < stages; ++stage) {
      if (waiting_on_[stage] == 0) ready_.push(stage);
    }
  }

  bool done() const { return pending_count_ == 0; }

  // Places every stage that can be, lowest file index first, so the order is stable.
  void PlaceReady(std::vector<int>& order) {
    while (!ready_.empty()) {
      const int stage = ready_.top();
      ready_.pop();
      if (!pending_[stage]) continue;
      Remove(stage);
      order.push_back(stage);
    }
  }

  // A stage of a reported cycle: no longer waited on, and never placed.
  void SetAside(int stage) {
    if (pending_[stage]) Remove(stage);
  }

  // A cycle among the pending stages, each of which still waits on a pending producer, as the
  // wires that form it in data-flow order, starting with the wire into the stage that comes
  // first in the file.
  std::vector<const Wire*> FindCycle() {
    while (first_pending_ < pending_.size() && !pending_[first_pending_]) ++first_pending_;
    if (first_pending_ == pending_.size()) return {};
    // Walk upstream; in a finite graph the walk must come back to a stage it has seen.
    std::vector<const Wire*> walked;
    std::unordered_map<int, size_t> step_of{{static_cast<int>(first_pending_), 0}};
    int stage = static_cast<int>(first_pending_);
    while (true) {
      const Wire* upstream = nullptr;
      for (const size_t i : inputs_[stage]) {
        const Wire& wire = wires_[i];
        if (pending_[wire.edge.from] &&
            (upstream == nullptr || wire.edge.from < upstream->edge.from)) {
          upstream = &wire;
        }
      }
      if (upstream == nullptr) return {};  // cannot happen: every pending stage has a producer
      walked.push_back(upstream);
      stage = upstream->edge.from;
      const auto [seen, inserted] = step_of.emplace(stage, walked.size());
      if (!inserted) {
        std::vector<const Wire*> cycle(walked.begin() + static_cast<long>(seen->second),
                                       walked.end());
        std::reverse(cycle.begin(), cycle.end());
        // Rotate so that the wire into the earliest stage of the file comes first.
        std::rotate(
            cycle.begin(),
            std::min_element(cycle.begin(), cycle.end(),
                             [](const Wire* a, const Wire* b) { return a->edge.to < b->edge.to; }),
            cycle.end());
        return cycle;
      }
    }
  }

 private:
  void Remove(int stage) {
    pending_[stage] = false;
    --pending_count_;
    for (const size_t i : outputs_[stage]) {
      const int consumer = wires_[i].edge.to;
      if (pending_[consumer] && --waiting_on_[consumer] == 0) ready_.push(consumer);
    }
  }

  const std::vector<Wire>& wires_;
  std::vector<std::vector<size_t>> outputs_, inputs_;  // wire indices, per stage
  std::vector<int> waiting_on_;                        // wires from pending producers
  std::vector<bool> pending_;
  size_t pending_count_;
  size_t first_pending_ = 0;
  std::priority_queue<int, std::vector<int>, std::greater<>> ready_;
};

}  // namespace

std::vector<int> OrderStages(GraphCheck& check, const std::vector<Wire>& wires) {
  std::vector<int> order;
  StageOrder stages(check.spec.stage_size(), wires);
  stages.PlaceReady(order);
  while (!stages.done()) {
    const std::vector<const Wire*> cycle = stages.FindCycle();
    if (cycle.empty()) break;
    // cycle[0] feeds the earliest stage; name the stages from there round to it again.
    const int first = cycle.front()->edge.to;
    std::string path = check.spec.stage(first).name();
    for (size_t i = 1; i < cycle.size(); ++i) {
      path += " -> " + check.spec.stage(cycle[i]->edge.to).name();
    }
    path += " -> " + check.spec.stage(first).name();
    check.error(first, check.where[first].inputs[cycle.front()->input],
                "the stages form a cycle: " + path);
    // Set the cycle aside and go on, to find any other cycle further downstream.
    for (const Wire* wire : cycle) stages.SetAside(wire->edge.to);
    stages.PlaceReady(order);
  }
  return order;
}

}  // namespace pipeline::graph_detail
