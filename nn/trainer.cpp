#include "nn/trainer.h"

namespace pipeline::cnn {

Trainer::Trainer(Model& model, const proto::OptimizerSpec& optimizer,
                 const proto::ScheduleSpec& schedule)
    : model_(model),
      optimizer_(Optimizer::create(optimizer, model.parameters())),
      schedule_(schedule) {}

StepResult Trainer::step(const float* images, const int32_t* labels, int64_t n) {
  return model_.train_step(images, labels, n, *optimizer_, learning_rate());
}

}  // namespace pipeline::cnn
