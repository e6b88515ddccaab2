#include "stages/cnn/train_snapshot.h"

#include <cmath>
#include <stdexcept>

namespace pipeline::cnn {

std::vector<Tensor> FiniteStateTensors(const Model& model, int64_t epoch) {
  std::vector<Tensor> tensors = model.state_tensors();
  for (const Tensor& tensor : tensors) {
    for (float value : tensor.values) {
      if (std::isfinite(value)) continue;
      throw std::runtime_error(
          "training stopped: after epoch " + std::to_string(epoch + 1) + " the weights of " +
          tensor.name + " are " + (std::isnan(value) ? "NaN" : "infinite") +
          " (the loss stayed finite; ReLU hides NaN activations); nothing of this epoch is "
          "kept and checkpoints of earlier epochs stay as they were. Look for NaN or Inf "
          "values in the input, or lower lr");
    }
  }
  return tensors;
}

std::shared_ptr<const ModelSnapshot> MakeTrainingSnapshot(Trainer& trainer, SnapshotParts parts) {
  auto snapshot = std::make_shared<ModelSnapshot>();
  snapshot->spec = trainer.model().spec();
  snapshot->tensors = std::make_shared<const std::vector<Tensor>>(std::move(parts.tensors));
  snapshot->optimizer = trainer.optimizer().spec();
  snapshot->schedule = trainer.schedule().spec();
  snapshot->optimizer_state = std::make_shared<const OptimizerState>(trainer.optimizer().state());
  snapshot->position = std::move(parts.position);
  snapshot->normalization = parts.normalization;
  snapshot->metrics = std::move(parts.metrics);
  snapshot->graph_text = std::move(parts.graph_text);
  snapshot->graph_file = std::move(parts.graph_file);
  snapshot->precision_choice = std::move(parts.precision_choice);
  if (parts.dataset) {
    snapshot->dataset_name = parts.dataset->name;
    snapshot->class_names = parts.dataset->class_names;
  }
  return snapshot;
}

}  // namespace pipeline::cnn
