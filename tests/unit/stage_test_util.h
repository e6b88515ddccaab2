// Helpers for driving one stage directly, without a graph or the engine: build its Params the way
// the engine would (defaults plus overrides, validated), and record what it emits.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "pipeline/registry.h"
#include "pipeline/stage.h"
#include "stages/stage_registrations.h"

namespace pipeline::stage_test {

// A registry holding the standard stages.
inline Registry StandardRegistry() {
  Registry registry;
  for (const auto& register_stage : StandardStageRegistrations()) register_stage(registry);
  return registry;
}

// Every declared parameter's default, replaced by `overrides`; like the engine, refuses unknown
// names, invalid values and missing required parameters.
inline Params MakeParams(const StageInfo& info,
                         const std::map<std::string, std::string>& overrides = {}) {
  std::map<std::string, std::string, std::less<>> values;
  std::map<std::string, bool, std::less<>> set;
  for (const auto& spec : info.params) values[spec.name] = spec.default_value;
  for (const auto& [name, value] : overrides) {
    const ParamSpec* spec = info.find_param(name);
    if (spec == nullptr) throw std::invalid_argument(info.name + " has no parameter " + name);
    const std::string problem = CheckParamValue(*spec, value);
    if (!problem.empty()) throw std::invalid_argument(info.name + "." + name + ": " + problem);
    values[name] = value;
    set[name] = true;
  }
  for (const auto& spec : info.params) {
    if (spec.required && !set.count(spec.name)) {
      throw std::invalid_argument(info.name + "." + spec.name + " is required");
    }
  }
  return Params(std::move(values), std::move(set));
}

// Creates the stage `plugin` as graph stage `name`, with its environment set and opened.
inline std::unique_ptr<Stage> OpenStage(const Registry& registry, const std::string& plugin,
                                        const std::map<std::string, std::string>& overrides = {},
                                        const std::string& name = "", uint64_t graph_seed = 1) {
  const Registry::Entry* entry = registry.find(plugin);
  if (entry == nullptr) throw std::invalid_argument("no stage type " + plugin);
  std::unique_ptr<Stage> stage = entry->info.create();
  StageEnv env;
  env.name = name.empty() ? plugin : name;
  env.plugin = plugin;
  env.graph_seed = graph_seed;
  stage->set_env(env);
  stage->open(MakeParams(entry->info, overrides));
  return stage;
}

// Records everything a stage emits, in order; an epoch end is recorded as an event without payload.
class RecordingEmitter : public Emitter {
 public:
  struct Event {
    std::shared_ptr<const Payload> payload;  // null for an end of epoch
    int64_t epoch = 0;
    int64_t index = 0;
    int port = 0;
    bool is_end_epoch() const { return payload == nullptr; }
  };

  void emit(std::shared_ptr<const Payload> payload, int64_t epoch, int64_t index,
            int port = 0) override {
    if (!payload) throw std::logic_error("a stage emitted a null payload");
    events.push_back({std::move(payload), epoch, index, port});
  }
  void end_epoch(int64_t epoch) override { events.push_back({nullptr, epoch, 0, 0}); }

  // The data events only, each as a Message (port = the output port).
  std::vector<Message> messages() const {
    std::vector<Message> result;
    for (const auto& event : events) {
      if (!event.is_end_epoch())
        result.push_back({event.epoch, event.index, event.port, event.payload});
    }
    return result;
  }

  std::vector<Event> events;
};

// Runs a source to the end (or `max_calls` produce() calls) and returns what it emitted.
inline RecordingEmitter DrainSource(Stage& source, int64_t max_calls = -1) {
  RecordingEmitter out;
  for (int64_t calls = 0; max_calls < 0 || calls < max_calls; ++calls) {
    if (!source.produce(out)) break;
  }
  return out;
}

// Feeds `inputs` to a transform or sink as one epoch each (end_epoch after each group), then
// closes it, recording the output.
inline RecordingEmitter Feed(Stage& stage, const std::vector<std::vector<Message>>& epochs) {
  RecordingEmitter out;
  for (const auto& epoch : epochs) {
    for (const auto& msg : epoch) stage.process(msg, out);
    if (!epoch.empty()) stage.end_epoch(0, epoch.front().epoch, out);
  }
  stage.close(out);
  return out;
}

// A fresh directory under the system temp folder, removed with everything in it at the end.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("pipeline-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace pipeline::stage_test
