#include "training_chain.h"

#include <google/protobuf/text_format.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace pipeline::bench {
namespace {

// cnn_train's optional held-out data: evaluated after every epoch, no part of training speed.
bool IsValidationInput(const proto::StageSpec& stage, const std::string& input) {
  return stage.plugin() == kTrainerPlugin && input.rfind("validation=", 0) == 0;
}

}  // namespace

proto::GraphSpec ReadGraph(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error(path + ": cannot be read");
  std::stringstream text;
  text << file.rdbuf();
  proto::GraphSpec graph;
  if (!google::protobuf::TextFormat::ParseFromString(text.str(), &graph)) {
    throw std::runtime_error(path + ": not a valid graph file (try `pipeline validate` on it)");
  }
  return graph;
}

std::string StageOf(const std::string& input) {
  const size_t equals = input.find('=');
  const std::string reference = equals == std::string::npos ? input : input.substr(equals + 1);
  return reference.substr(0, reference.find('.'));
}

proto::StageSpec* FindStage(proto::GraphSpec& graph, const std::string& name) {
  for (auto& stage : *graph.mutable_stage()) {
    if (stage.name() == name) return &stage;
  }
  return nullptr;
}

const proto::StageSpec* FindStage(const proto::GraphSpec& graph, const std::string& name) {
  for (const auto& stage : graph.stage()) {
    if (stage.name() == name) return &stage;
  }
  return nullptr;
}

void SetParam(proto::StageSpec& stage, const std::string& key, const std::string& value) {
  for (auto& param : *stage.mutable_param()) {
    if (param.key() == key) {
      param.set_value(value);
      return;
    }
  }
  auto* param = stage.add_param();
  param->set_key(key);
  param->set_value(value);
}

std::string ParamOf(const proto::StageSpec& stage, const std::string& key,
                    const std::string& fallback) {
  for (const auto& param : stage.param()) {
    if (param.key() == key) return param.value();
  }
  return fallback;
}

std::string TrainerName(const proto::GraphSpec& graph) {
  std::vector<std::string> trainers;
  for (const auto& stage : graph.stage()) {
    if (stage.plugin() == kTrainerPlugin) trainers.push_back(stage.name());
  }
  if (trainers.size() != 1) {
    throw std::runtime_error("the graph must have exactly one " + std::string(kTrainerPlugin) +
                             " stage, it has " + std::to_string(trainers.size()));
  }
  return trainers.front();
}

std::vector<std::string> TrainingStages(const proto::GraphSpec& graph) {
  std::vector<std::string> pending{TrainerName(graph)};
  std::set<std::string> keep;
  while (!pending.empty()) {
    const std::string name = pending.back();
    pending.pop_back();
    if (!keep.insert(name).second) continue;
    const auto* stage = FindStage(graph, name);
    if (stage == nullptr) throw std::runtime_error("no stage named \"" + name + "\"");
    for (const std::string& input : stage->input()) {
      if (!IsValidationInput(*stage, input)) pending.push_back(StageOf(input));
    }
  }
  std::vector<std::string> in_file_order;
  for (const auto& stage : graph.stage()) {
    if (keep.count(stage.name()) > 0) in_file_order.push_back(stage.name());
  }
  return in_file_order;
}

proto::GraphSpec TrainingChain(const proto::GraphSpec& graph, int samples) {
  const std::string trainer = TrainerName(graph);
  const std::vector<std::string> keep = TrainingStages(graph);
  proto::GraphSpec chain = graph;
  chain.clear_stage();
  for (const std::string& name : keep) {
    const proto::StageSpec& stage = *FindStage(graph, name);
    auto* kept = chain.add_stage();
    *kept = stage;
    if (stage.input_size() == 0) {
      SetParam(*kept, "limit", std::to_string(samples));
      SetParam(*kept, "epochs", "1");
    }
    if (stage.plugin() == kTrainerPlugin) {
      SetParam(*kept, "epochs", "1");
      SetParam(*kept, "progress", "off");
      // A warm-up of several epochs does not fit in one; the rate does not change the speed.
      SetParam(*kept, "warmup_epochs", "0");
      // Only the batches: a validation input would add an evaluation to the epoch.
      std::vector<std::string> batches;
      for (const std::string& input : stage.input()) {
        if (!IsValidationInput(stage, input)) batches.push_back(input);
      }
      kept->clear_input();
      for (const std::string& input : batches) kept->add_input(input);
    }
  }
  // A graph needs a sink: the models go to a counter.
  auto* sink = chain.add_stage();
  sink->set_name("bench_models");
  sink->set_plugin("count");
  sink->add_input(trainer);
  return chain;
}

}  // namespace pipeline::bench
