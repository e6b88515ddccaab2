// Resuming `cnn_train` from a checkpoint: what the checkpoint must agree with, and restoring it
// into a fresh model and trainer. Any number of ranks may resume a checkpoint that any number
// wrote: it holds the global batch's position, and every rank loads the same file.
#pragma once

#include <memory>
#include <string>

#include "nn/trainer.h"
#include "stages/cnn/model_snapshot.h"
#include "stages/cnn/train_config.h"

namespace pipeline::cnn {

// Empty when equal, else the differences in protobuf's own words.
std::string Differences(const google::protobuf::Message& a, const google::protobuf::Message& b);

// Loads config.resume and checks that it trains the configured model with the configured
// optimizer (std::runtime_error naming the file otherwise). When the data decides the input shape,
// config.model takes the checkpoint's. Prints a note when the graph seed or stage name differ.
std::shared_ptr<const ModelSnapshot> LoadResumeCheckpoint(TrainConfig& config, uint64_t graph_seed,
                                                          const std::string& stage_name);

// Puts the checkpoint's weights, optimizer state and step into `model` and `trainer`; refuses
// training data normalized differently from the checkpoint's.
void RestoreResume(const ModelSnapshot& from, const TrainConfig& config,
                   const proto::ScheduleSpec& schedule, const Normalization& normalization,
                   Model& model, Trainer& trainer);

}  // namespace pipeline::cnn
