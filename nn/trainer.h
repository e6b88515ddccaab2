// A model with its optimizer and learning-rate schedule: one call per training batch.
#pragma once

#include <memory>
#include <vector>

#include "nn/gradient_reducer.h"
#include "nn/model.h"
#include "nn/optimizer.h"
#include "nn/schedule.h"

namespace pipeline::cnn {

class Trainer {
 public:
  // The model must outlive the trainer.
  Trainer(Model& model, const proto::OptimizerSpec& optimizer, const proto::ScheduleSpec& schedule);

  // One update at learning_rate(). With a gradient reducer this process's n images are its share
  // of a global batch: the gradients of every share are summed, weighted by their sizes, and the
  // result (loss, correct, count) is the global batch's.
  StepResult step(const float* images, const int32_t* labels, int64_t n);

  // Data-parallel training: gradients go through `reducer` before every update (null: this
  // process alone). The reducer must outlive the trainer.
  void set_gradient_reducer(GradientReducer* reducer) { reducer_ = reducer; }
  bool distributed() const { return reducer_ != nullptr; }
  // Data-parallel only, after this process's last batch of an epoch: ranks may hold one batch
  // fewer than others (an epoch's last positions do not split evenly), so this joins the updates
  // the others still make, with no images, until every rank has reached the end. Returns the
  // global results of the updates it joined (usually none); costs one reduction.
  std::vector<StepResult> finish_epoch();
  // Seconds spent in the reducer (waiting for the slowest rank included), and its calls.
  double reduce_seconds() const { return reduce_seconds_; }
  int64_t reductions() const { return reductions_; }
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

  // One reduction round: this rank's n images (none when n == 0), `active` when it still has
  // data. Returns the global result; applies the update when any rank had images.
  StepResult reduced_step(const float* images, const int32_t* labels, int64_t n, bool active,
                          bool* any_active);

  GradientReducer* reducer_ = nullptr;
  std::vector<float> buffer_;  // every gradient, then the step's counters
  double reduce_seconds_ = 0;
  int64_t reductions_ = 0;
};

}  // namespace pipeline::cnn
