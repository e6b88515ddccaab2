// What `cnn_train` emits after each epoch: the model's tensors (refused when not finite) packed
// with its optimizer state, position and history into a ModelSnapshot.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/trainer.h"
#include "stages/cnn/model_snapshot.h"

namespace pipeline::cnn {

// The model's tensors, refused (std::runtime_error) when any value is NaN or infinite: the loss
// alone can miss a divergence, since ReLU turns NaN activations into zeros (a NaN pixel leaves the
// loss finite but makes the first layer's weights NaN). No snapshot, so no checkpoint, ever holds
// NaNs.
std::vector<Tensor> FiniteStateTensors(const Model& model, int64_t epoch);

// Everything but the tensors, the position and the history comes from the trainer.
struct SnapshotParts {
  std::vector<Tensor> tensors;
  proto::TrainingPosition position;
  Normalization normalization;
  std::vector<proto::EpochMetrics> metrics;
  std::string graph_text;
  std::string graph_file;
  std::shared_ptr<const DatasetInfo> dataset;  // what the training data said it is; may be null
  std::string precision_choice;                // TrainConfig::precision_note
};

std::shared_ptr<const ModelSnapshot> MakeTrainingSnapshot(Trainer& trainer, SnapshotParts parts);

}  // namespace pipeline::cnn
