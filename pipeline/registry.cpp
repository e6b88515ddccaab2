#include "pipeline/registry.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "pipeline/engine/spelling.h"

namespace pipeline {
namespace {

void Require(bool condition, const std::string& stage, const std::string& problem) {
  if (!condition) throw std::invalid_argument("stage type \"" + stage + "\": " + problem);
}

void CheckPorts(const StageInfo& info) {
  const bool is_source = info.kind == StageKind::kSource;
  const bool is_sink = info.kind == StageKind::kSink;
  Require(is_source == info.inputs.empty(), info.name,
          is_source ? "a source has no inputs" : "needs at least one input port");
  Require(!is_sink || info.outputs.empty(), info.name, "a sink has no outputs");
  Require(is_sink || !info.outputs.empty(), info.name, "needs at least one output port");
  Require(info.concurrency == Concurrency::kSerial || info.inputs.size() == 1, info.name,
          "only single-input stages may be parallel");
  std::set<std::string> names;
  for (const auto* ports : {&info.inputs, &info.outputs}) {
    for (const auto& port : *ports) {
      Require(!port.name.empty() && !port.type.empty(), info.name,
              "every port needs a name and a type");
      Require(port.name.find_first_of(".=") == std::string::npos, info.name,
              "port name \"" + port.name + "\" may not contain '.' or '='");
    }
  }
  for (const auto& port : info.inputs) {
    Require(names.insert(port.name).second, info.name, "duplicate input \"" + port.name + "\"");
  }
  names.clear();
  for (const auto& port : info.outputs) {
    Require(names.insert(port.name).second, info.name, "duplicate output \"" + port.name + "\"");
  }
}

void CheckParams(const StageInfo& info) {
  std::set<std::string> names;
  for (const auto& spec : info.params) {
    Require(!spec.name.empty(), info.name, "a parameter has no name");
    Require(names.insert(spec.name).second, info.name,
            "duplicate parameter \"" + spec.name + "\"");
    if (!spec.required) {
      const std::string problem = CheckParamValue(spec, spec.default_value);
      Require(problem.empty(), info.name,
              "default of parameter \"" + spec.name + "\" is invalid: " + problem);
    }
  }
}

}  // namespace

void Registry::add(StageInfo info) {
  Require(!info.name.empty(), "(unnamed)", "a stage type needs a name");
  Require(static_cast<bool>(info.create), info.name, "has no create function");
  CheckPorts(info);
  CheckParams(info);
  if (const Entry* existing = find(info.name)) {
    throw std::invalid_argument("stage type \"" + info.name + "\" is already registered by " +
                                existing->origin);
  }
  const std::string name = info.name;
  entries_.emplace(name, Entry{std::move(info), library_, version_, origin_});
  added_by_current_.push_back(name);
}

const Registry::Entry* Registry::find(std::string_view name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<const Registry::Entry*> Registry::all() const {
  std::vector<const Entry*> result;
  for (const auto& [name, entry] : entries_) result.push_back(&entry);
  return result;
}

std::vector<std::string> Registry::closest(std::string_view name, size_t max_results) const {
  std::vector<std::string> names;
  for (const auto& [known, entry] : entries_) names.push_back(known);
  return ClosestNames(name, names, max_results);
}

void Registry::begin_library(std::string library, std::string version, std::string origin) {
  library_ = std::move(library);
  version_ = std::move(version);
  origin_ = std::move(origin);
  added_by_current_.clear();
}

void Registry::end_library(bool keep) {
  if (!keep) {
    for (const auto& name : added_by_current_) entries_.erase(name);
  }
  added_by_current_.clear();
  library_ = "standard";
  version_.clear();
  origin_ = "built-in";
}

}  // namespace pipeline
