// A model with its optimizer and learning-rate schedule: one call per training batch.
#pragma once

#include <memory>

#include "nn/model.h"
#include "nn/optimizer.h"
#include "nn/schedule.h"

namespace pipeline::cnn {

class Trainer {
 public:
  // The model must outlive the trainer.
  Trainer(Model& model, const proto::OptimizerSpec& optimizer, const proto::ScheduleSpec& schedule);

  // One update at learning_rate().
  StepResult step(const float* images, const int32_t* labels, int64_t n);
  // The rate the next step() will use: the schedule's rate for optimizer().steps(), times
  // lr_scale().
  double learning_rate() const { return schedule_rate() * lr_scale_; }
  // The schedule's own rate for the next step.
  double schedule_rate() const { return schedule_.learning_rate(optimizer_->steps()); }
  // A multiplier of the schedule's rate (reduce-LR-on-plateau lowers it); 1 by default.
  void set_lr_scale(double scale) { lr_scale_ = scale; }
  double lr_scale() const { return lr_scale_; }

  Model& model() { return model_; }
  Optimizer& optimizer() { return *optimizer_; }
  const Schedule& schedule() const { return schedule_; }

 private:
  Model& model_;
  std::unique_ptr<Optimizer> optimizer_;
  Schedule schedule_;
  double lr_scale_ = 1;
};

}  // namespace pipeline::cnn
