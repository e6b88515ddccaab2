#include "pipeline/testing/stage_harness.h"

#include <stdexcept>
#include <utility>

#include "graph.pb.h"
#include "pipeline/engine/graph_validate.h"
#include "pipeline/engine/spelling.h"

namespace pipeline {
namespace {

constexpr const char* kSnippetName = "<stage spec>";

int FindPort(const std::vector<PortSpec>& ports, std::string_view name, const char* what,
             const std::string& stage) {
  for (size_t i = 0; i < ports.size(); ++i) {
    if (ports[i].name == name) return static_cast<int>(i);
  }
  throw std::out_of_range(stage + " has no " + what + " port \"" + std::string(name) + "\"");
}

bool TypeAccepted(const PortSpec& port, std::string_view type) {
  return port.type == kAnyType || port.type == type;
}

}  // namespace

// The Emitter the stage under test writes to: checks each output against the stage's declared
// ports and records it.
class StageHarness::Recorder : public Emitter {
 public:
  explicit Recorder(StageHarness& harness) : harness_(harness) {}

  void emit(std::shared_ptr<const Payload> payload, int64_t epoch, int64_t index,
            int port) override {
    const auto& outputs = harness_.info().outputs;
    if (port < 0 || static_cast<size_t>(port) >= outputs.size()) {
      throw std::out_of_range(harness_.describe() + " emitted on output port " +
                              std::to_string(port) + " but declares " +
                              std::to_string(outputs.size()) + " output port(s)");
    }
    if (payload == nullptr) {
      throw std::invalid_argument(harness_.describe() + " emitted a null payload on port \"" +
                                  outputs[port].name + "\"");
    }
    if (!TypeAccepted(outputs[port], payload->type())) {
      throw std::logic_error(harness_.describe() + " emitted a \"" + std::string(payload->type()) +
                             "\" on output port \"" + outputs[port].name + "\", declared \"" +
                             outputs[port].type + "\"");
    }
    harness_.outputs_.push_back(
        {HarnessOutput::Kind::kData, port, epoch, index, std::move(payload)});
  }

  void end_epoch(int64_t epoch) override {
    if (harness_.info().kind != StageKind::kSource) return;
    harness_.outputs_.push_back({HarnessOutput::Kind::kEndOfEpoch, -1, epoch, 0, nullptr});
  }

 private:
  StageHarness& harness_;
};

StageHarness::StageHarness(const Registry& registry, const std::string& spec_text, uint64_t seed) {
  proto::StageSpec spec;
  StageLocations where;
  std::vector<Diagnostic> errors = ParseStageSpecText(spec_text, kSnippetName, spec, where);
  const Registry::Entry* entry = nullptr;
  if (errors.empty()) {
    entry = registry.find(spec.plugin());
    if (entry == nullptr) {
      std::vector<std::string> known;
      for (const Registry::Entry* registered : registry.all()) {
        known.push_back(registered->info.name);
      }
      const SourcePosition at = where.plugin.line > 0 ? where.plugin : where.block;
      errors.push_back({kSnippetName, at.line, at.column, spec.name(),
                        spec.plugin().empty() ? "the snippet names no plugin (plugin: \"...\")"
                                              : "unknown plugin \"" + spec.plugin() + "\"" +
                                                    DidYouMean(spec.plugin(), known) +
                                                    " in the registry given to the harness"});
    }
  }
  if (entry != nullptr) {
    info_ = &entry->info;
    name_ = spec.name().empty() ? info_->name : spec.name();
    params_ = ResolveStageParams(spec, *info_, name_, kSnippetName, where, errors);
  }
  if (!errors.empty()) {
    throw std::invalid_argument("StageHarness: invalid stage spec:\n" + FormatAll(errors));
  }

  stage_ = info_->create();
  if (stage_ == nullptr) throw std::logic_error(describe() + ": create() returned null");
  recorder_ = std::make_unique<Recorder>(*this);
  StageEnv env;
  env.name = name_;
  env.plugin = info_->name;
  env.graph_seed = seed;
  env.threads = 1;
  env.stop_requested = &stop_requested_;
  stage_->set_env(std::move(env));
  stage_->open(params_);
}

StageHarness::~StageHarness() = default;

std::string StageHarness::describe() const {
  return "stage \"" + name_ + "\" (" + info_->name + ")";
}

int StageHarness::input_port(std::string_view port_name) const {
  return FindPort(info_->inputs, port_name, "input", describe());
}

int StageHarness::output_port(std::string_view port_name) const {
  return FindPort(info_->outputs, port_name, "output", describe());
}

void StageHarness::require_open(std::string_view action) const {
  if (closed_) {
    throw std::logic_error("StageHarness: " + std::string(action) + " after close() on " +
                           describe());
  }
}

void StageHarness::push(int port, int64_t epoch, int64_t index,
                        std::shared_ptr<const Payload> payload) {
  require_open("push()");
  if (info_->kind == StageKind::kSource) {
    throw std::logic_error("StageHarness: " + describe() +
                           " is a source and has no inputs; use run_source()");
  }
  if (port < 0 || static_cast<size_t>(port) >= info_->inputs.size()) {
    throw std::out_of_range("StageHarness: " + describe() + " has no input port " +
                            std::to_string(port));
  }
  const PortSpec& input = info_->inputs[port];
  if (payload == nullptr) {
    throw std::invalid_argument("StageHarness: null payload pushed to " + describe());
  }
  if (!TypeAccepted(input, payload->type())) {
    throw std::invalid_argument("StageHarness: input port \"" + input.name + "\" of " + describe() +
                                " takes \"" + input.type + "\", got \"" +
                                std::string(payload->type()) + "\"");
  }
  Message message;
  message.epoch = epoch;
  message.index = index;
  message.port = port;
  message.payload = std::move(payload);
  stage_->process(message, *recorder_);
}

void StageHarness::end_epoch(int port, int64_t epoch) {
  require_open("end_epoch()");
  if (port < 0 || static_cast<size_t>(port) >= info_->inputs.size()) {
    throw std::out_of_range("StageHarness: " + describe() + " has no input port " +
                            std::to_string(port));
  }
  stage_->end_epoch(port, epoch, *recorder_);
}

size_t StageHarness::run_source(size_t max_messages) {
  require_open("run_source()");
  if (info_->kind != StageKind::kSource) {
    throw std::logic_error("StageHarness: " + describe() + " is not a source; use push()");
  }
  size_t emitted = 0;
  while (!source_finished_ && emitted < max_messages) {
    const size_t before = outputs_.size();
    source_finished_ = !stage_->produce(*recorder_);
    for (size_t i = before; i < outputs_.size(); ++i) {
      if (outputs_[i].kind == HarnessOutput::Kind::kData) ++emitted;
    }
  }
  return emitted;
}

void StageHarness::close() {
  require_open("close()");
  closed_ = true;
  stage_->close(*recorder_);
}

std::vector<int64_t> StageHarness::ended_epochs() const {
  std::vector<int64_t> epochs;
  for (const HarnessOutput& output : outputs_) {
    if (output.kind == HarnessOutput::Kind::kEndOfEpoch) epochs.push_back(output.epoch);
  }
  return epochs;
}

}  // namespace pipeline
