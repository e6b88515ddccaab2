// Wiring: resolving each `input` string to a connection between two ports, and checking it.
#include <cctype>
#include <optional>
#include <string>
#include <string_view>

#include "pipeline/engine/graph_check.h"
#include "pipeline/engine/spelling.h"

namespace pipeline::graph_detail {
namespace {

// One `input` string: "stage", "stage.port", "port=stage" or "port=stage.port".
struct InputRef {
  std::string port;  // the consumer's input port; empty when not named
  std::string stage;
  std::string stage_port;  // the producer's output port; empty when not named
};

bool IsNamePart(std::string_view part) {
  if (part.empty()) return false;
  for (const char c : part) {
    if (c == '.' || c == '=' || std::isspace(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::optional<InputRef> ParseInputRef(std::string_view text) {
  InputRef ref;
  const size_t equals = text.find('=');
  if (equals != std::string_view::npos) {
    ref.port = std::string(text.substr(0, equals));
    if (!IsNamePart(ref.port)) return std::nullopt;
    text.remove_prefix(equals + 1);
  }
  const size_t dot = text.find('.');
  ref.stage = std::string(text.substr(0, dot));
  if (!IsNamePart(ref.stage)) return std::nullopt;
  if (dot != std::string_view::npos) {
    ref.stage_port = std::string(text.substr(dot + 1));
    if (!IsNamePart(ref.stage_port)) return std::nullopt;
  }
  return ref;
}

std::vector<std::string> PortNames(const std::vector<PortSpec>& ports) {
  std::vector<std::string> names;
  for (const auto& port : ports) names.push_back(port.name);
  return names;
}

std::string PortList(const std::vector<PortSpec>& ports) {
  std::string text;
  for (const auto& port : ports)
    text += (text.empty() ? "" : ", ") + port.name + " (" + port.type + ")";
  return text;
}

// The index of the only port that is not optional; -1 when there are none or several.
int OnlyRequiredPort(const std::vector<PortSpec>& ports) {
  int found = -1;
  for (size_t i = 0; i < ports.size(); ++i) {
    if (ports[i].optional) continue;
    if (found >= 0) return -1;
    found = static_cast<int>(i);
  }
  return found;
}

int FindPort(const std::vector<PortSpec>& ports, const std::string& name) {
  for (size_t i = 0; i < ports.size(); ++i) {
    if (ports[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::string MalformedInputMessage(const std::string& text) {
  return "malformed input \"" + text +
         "\" (expected \"stage\", \"stage.port\" or \"port=stage[.port]\")";
}

std::string UnknownProducerMessage(const GraphCheck& check, const std::string& text,
                                   const std::string& stage) {
  return "input \"" + text + "\" names no stage: there is no stage \"" + stage + "\"" +
         DidYouMean(stage, check.stage_names());
}

// Resolves the inputs of one consumer stage.
class StageWiring {
 public:
  StageWiring(GraphCheck& check, int consumer, std::vector<Wire>& wires)
      : check_(check),
        consumer_(consumer),
        stage_(check.spec.stage(consumer)),
        info_(check.entries[consumer]->info),
        wires_(wires),
        fed_by_(info_.inputs.size(), -1) {}

  void resolve() {
    if (info_.kind == StageKind::kSource) {
      if (stage_.input_size() > 0) {
        error(0, "plugin \"" + info_.name + "\" is a source and takes no input, but input \"" +
                     stage_.input(0) + "\" was given");
      }
      return;
    }
    bool every_port_known = true;
    for (int i = 0; i < stage_.input_size(); ++i) every_port_known &= resolve_input(i);
    // With an input we could not place, "not connected" might only repeat that error.
    if (!every_port_known) return;
    for (size_t port = 0; port < fed_by_.size(); ++port) {
      const PortSpec& spec = info_.inputs[port];
      if (fed_by_[port] >= 0 || spec.optional) continue;
      check_.error(consumer_, check_.where[consumer_].block,
                   "input port \"" + spec.name + "\" (" + spec.type + ") is not connected" +
                       (info_.inputs.size() > 1 ? " (add input: \"" + spec.name + "=STAGE\")"
                                                : " (add input: \"STAGE\")"));
    }
  }

 private:
  void error(int input, std::string message) {
    check_.error(consumer_, check_.where[consumer_].inputs[input], std::move(message));
  }

  // Returns false when the input's consumer port could not be determined.
  bool resolve_input(int input) {
    const std::string& text = stage_.input(input);
    const std::optional<InputRef> ref = ParseInputRef(text);
    if (!ref) {
      error(input, MalformedInputMessage(text));
      return false;
    }
    const int to_port = consumer_port(input, *ref);
    const std::optional<std::pair<int, int>> from = producer(input, *ref);
    if (to_port < 0) return false;

    if (fed_by_[to_port] >= 0) {
      const int first_line = check_.where[consumer_].inputs[fed_by_[to_port]].line;
      error(input, "input port \"" + info_.inputs[to_port].name + "\" is fed twice (first by \"" +
                       stage_.input(fed_by_[to_port]) + "\"" +
                       (first_line > 0 ? " on line " + std::to_string(first_line) : "") + ")");
      return true;
    }
    fed_by_[to_port] = input;
    if (!from) return true;

    const auto [producer_index, from_port] = *from;
    const PortSpec& out = check_.entries[producer_index]->info.outputs[from_port];
    const PortSpec& in = info_.inputs[to_port];
    if (in.type != kAnyType && in.type != out.type) {
      error(input, "port type mismatch: \"" + ref->stage + "." + out.name + "\" produces \"" +
                       out.type + "\" but input port \"" + in.name + "\" of plugin \"" +
                       info_.name + "\" takes \"" + in.type + "\"");
      return true;
    }
    wires_.push_back({{producer_index, from_port, consumer_, to_port}, input});
    return true;
  }

  // The consumer's input port the reference feeds, or -1 after reporting why there is none.
  int consumer_port(int input, const InputRef& ref) {
    if (ref.port.empty()) {
      if (info_.inputs.size() == 1) return 0;
      // Optional inputs are extras (a validation stream): an unnamed input feeds the one
      // required port, so graphs written before a stage grew an optional input stay valid.
      if (const int required = OnlyRequiredPort(info_.inputs); required >= 0) return required;
      error(input, "plugin \"" + info_.name + "\" has " + std::to_string(info_.inputs.size()) +
                       " input ports (" + PortList(info_.inputs) +
                       "); name the one this feeds, as in \"" + info_.inputs[0].name + "=" +
                       stage_.input(input) + "\"");
      return -1;
    }
    const int port = FindPort(info_.inputs, ref.port);
    if (port < 0) {
      const std::string suggestion = DidYouMean(ref.port, PortNames(info_.inputs));
      error(input, "plugin \"" + info_.name + "\" has no input port \"" + ref.port + "\"" +
                       (suggestion.empty() ? " (its inputs: " + PortList(info_.inputs) + ")"
                                           : suggestion));
    }
    return port;
  }

  // The producing stage and output port, or nothing after reporting why (or when the producer's
  // plugin is unknown, which is reported already).
  std::optional<std::pair<int, int>> producer(int input, const InputRef& ref) {
    const auto found = check_.index_by_name.find(ref.stage);
    if (found == check_.index_by_name.end()) {
      error(input, UnknownProducerMessage(check_, stage_.input(input), ref.stage));
      return std::nullopt;
    }
    const int producer_index = found->second;
    const Registry::Entry* entry = check_.entries[producer_index];
    if (entry == nullptr) return std::nullopt;
    const StageInfo& info = entry->info;
    if (info.kind == StageKind::kSink) {
      error(input, "stage \"" + ref.stage + "\" cannot feed an input: plugin \"" + info.name +
                       "\" is a sink and has no outputs");
      return std::nullopt;
    }
    if (ref.stage_port.empty()) return std::pair(producer_index, 0);
    const int port = FindPort(info.outputs, ref.stage_port);
    if (port < 0) {
      const std::string suggestion = DidYouMean(ref.stage_port, PortNames(info.outputs));
      error(input, "stage \"" + ref.stage + "\" (plugin \"" + info.name +
                       "\") has no output port \"" + ref.stage_port + "\"" +
                       (suggestion.empty() ? " (its outputs: " + PortList(info.outputs) + ")"
                                           : suggestion));
      return std::nullopt;
    }
    return std::pair(producer_index, port);
  }

  GraphCheck& check_;
  const int consumer_;
  const proto::StageSpec& stage_;
  const StageInfo& info_;
  std::vector<Wire>& wires_;
  std::vector<int> fed_by_;  // per input port: the input that feeds it, or -1
};

// For a stage whose plugin is unknown, the ports cannot be checked, but the stages its inputs
// name can.
void CheckProducerNames(GraphCheck& check, int consumer) {
  const proto::StageSpec& stage = check.spec.stage(consumer);
  for (int i = 0; i < stage.input_size(); ++i) {
    const SourcePosition at = check.where[consumer].inputs[i];
    const std::optional<InputRef> ref = ParseInputRef(stage.input(i));
    if (!ref) {
      check.error(consumer, at, MalformedInputMessage(stage.input(i)));
    } else if (check.index_by_name.count(ref->stage) == 0) {
      check.error(consumer, at, UnknownProducerMessage(check, stage.input(i), ref->stage));
    }
  }
}

}  // namespace

std::vector<Wire> ResolveWiring(GraphCheck& check) {
  std::vector<Wire> wires;
  for (int i = 0; i < check.spec.stage_size(); ++i) {
    if (check.entries[i] == nullptr) {
      CheckProducerNames(check, i);
    } else {
      StageWiring(check, i, wires).resolve();
    }
  }
  return wires;
}

}  // namespace pipeline::graph_detail
