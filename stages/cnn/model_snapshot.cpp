#include "stages/cnn/model_snapshot.h"

#include <stdexcept>

namespace pipeline::cnn {

std::unique_ptr<Model> RestoreModel(const ModelSnapshot& snapshot) {
  if (!snapshot.tensors) throw std::invalid_argument("the model snapshot holds no tensors");
  auto model = std::make_unique<Model>(snapshot.spec, snapshot.position.model_seed(),
                                       Model::Weights::kLoadedLater);
  model->load_state_tensors(*snapshot.tensors);
  model->set_step(snapshot.position.global_step());
  return model;
}

}  // namespace pipeline::cnn
