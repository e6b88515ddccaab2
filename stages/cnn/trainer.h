// A model with its optimizer and learning-rate schedule: one call per training batch.
#pragma once

#include <memory>

#include "stages/cnn/model.h"
#include "stages/cnn/optimizer.h"
#include "stages/cnn/schedule.h"

namespace pipeline::cnn {

class Trainer {
 public:
  // The model must outlive the trainer.
  Trainer(Model& model, const proto::OptimizerSpec& optimizer, const proto::ScheduleSpec& schedule);

  // One update at the schedule's rate for optimizer().steps().
  StepResult step(const float* images, const int32_t* labels, int64_t n);
  // The rate the next step() will use.
  double learning_rate() const { return schedule_.learning_rate(optimizer_->steps()); }

  Model& model() { return model_; }
  Optimizer& optimizer() { return *optimizer_; }
  const Schedule& schedule() const { return schedule_; }

 private:
  Model& model_;
  std::unique_ptr<Optimizer> optimizer_;
  Schedule schedule_;
};

}  // namespace pipeline::cnn
