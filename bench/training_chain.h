// Graph surgery the training benchmarks share: reading a graph file, finding the stages that feed
// `cnn_train`, and cutting a graph down to its training chain with fewer samples and epochs.
#pragma once

#include <string>

#include "graph.pb.h"

namespace pipeline::bench {

inline constexpr const char* kTrainerPlugin = "cnn_train";

// Throws std::runtime_error naming the file when it cannot be read or parsed.
proto::GraphSpec ReadGraph(const std::string& path);

// The stage an input reference names: "stage", "stage.port", "port=stage" or "port=stage.port".
std::string StageOf(const std::string& input);

// Null when the graph has no stage of that name.
proto::StageSpec* FindStage(proto::GraphSpec& graph, const std::string& name);
const proto::StageSpec* FindStage(const proto::GraphSpec& graph, const std::string& name);

// Sets (or adds) `key` on the stage.
void SetParam(proto::StageSpec& stage, const std::string& key, const std::string& value);
// The stage's value for `key`, or `fallback` when the graph leaves it at its default.
std::string ParamOf(const proto::StageSpec& stage, const std::string& key,
                    const std::string& fallback);

// The one cnn_train stage's name; throws unless there is exactly one.
std::string TrainerName(const proto::GraphSpec& graph);

// The trainer and every stage upstream of its training batches (its validation input excluded),
// by name.
std::vector<std::string> TrainingStages(const proto::GraphSpec& graph);

// cnn_train and every stage upstream of it, in file order; the sources cut to `samples` samples
// and one epoch, cnn_train to one epoch without progress output or warm-up; a `count` sink takes
// the models.
proto::GraphSpec TrainingChain(const proto::GraphSpec& graph, int samples);

}  // namespace pipeline::bench
