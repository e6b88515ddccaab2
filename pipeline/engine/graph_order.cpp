// Topological order of the stages, and the cycles that prevent one.
#include <algorithm>
#include <set>
#include <string>

#include "pipeline/engine/graph_check.h"

namespace pipeline::graph_detail {
namespace {

// Removes from `pending` (in file order) every stage whose producers are all placed, appending
// them to `order`. Ready stages are taken lowest file index first, so the order is stable.
void PlaceReadyStages(const std::vector<Wire>& wires, std::set<int>& pending,
                      std::vector<int>& order) {
  std::vector<int> waiting_on(*std::max_element(pending.begin(), pending.end()) + 1, 0);
  for (const Wire& wire : wires) {
    if (pending.count(wire.edge.from) && pending.count(wire.edge.to)) ++waiting_on[wire.edge.to];
  }
  std::set<int> ready;
  for (int stage : pending) {
    if (waiting_on[stage] == 0) ready.insert(stage);
  }
  while (!ready.empty()) {
    const int stage = *ready.begin();
    ready.erase(ready.begin());
    pending.erase(stage);
    order.push_back(stage);
    for (const Wire& wire : wires) {
      if (wire.edge.from == stage && pending.count(wire.edge.to) &&
          --waiting_on[wire.edge.to] == 0) {
        ready.insert(wire.edge.to);
      }
    }
  }
}

// A cycle among the `pending` stages, each of which still waits on a pending producer, as the
// wires that form it in data-flow order, starting at the stage that comes first in the file.
std::vector<const Wire*> FindCycle(const std::vector<Wire>& wires, const std::set<int>& pending) {
  // Walk upstream from any pending stage; in a finite graph the walk must come back to a stage.
  std::vector<const Wire*> walked;
  std::vector<int> visited{*pending.begin()};
  while (true) {
    const Wire* upstream = nullptr;
    for (const Wire& wire : wires) {
      if (wire.edge.to == visited.back() && pending.count(wire.edge.from) &&
          (upstream == nullptr || wire.edge.from < upstream->edge.from)) {
        upstream = &wire;
      }
    }
    if (upstream == nullptr) return {};  // cannot happen: every pending stage has a producer
    walked.push_back(upstream);
    const auto seen = std::find(visited.begin(), visited.end(), upstream->edge.from);
    if (seen != visited.end()) {
      std::vector<const Wire*> cycle(walked.begin() + (seen - visited.begin()), walked.end());
      std::reverse(cycle.begin(), cycle.end());
      // Rotate so that the wire into the earliest stage of the file comes first.
      std::rotate(
          cycle.begin(),
          std::min_element(cycle.begin(), cycle.end(),
                           [](const Wire* a, const Wire* b) { return a->edge.to < b->edge.to; }),
          cycle.end());
      return cycle;
    }
    visited.push_back(upstream->edge.from);
  }
}

}  // namespace

std::vector<int> OrderStages(GraphCheck& check, const std::vector<Wire>& wires) {
  std::vector<int> order;
  std::set<int> pending;
  for (int i = 0; i < check.spec.stage_size(); ++i) pending.insert(i);
  if (pending.empty()) return order;

  PlaceReadyStages(wires, pending, order);
  while (!pending.empty()) {
    const std::vector<const Wire*> cycle = FindCycle(wires, pending);
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
    for (const Wire* wire : cycle) pending.erase(wire->edge.to);
    if (!pending.empty()) PlaceReadyStages(wires, pending, order);
  }
  return order;
}

}  // namespace pipeline::graph_detail
