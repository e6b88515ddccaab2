// One training epoch's running figures in `cnn_train`: steps, images, correct answers and loss,
// and the row of metrics they make at its end. In a data-parallel run each step's figures are the
// global batch's, so the images/s are the whole job's.
#pragma once

#include <chrono>
#include <cstdint>

#include "metrics.pb.h"
#include "nn/loss.h"

namespace pipeline::cnn {

class TrainingEpoch {
 public:
  explicit TrainingEpoch(int64_t epoch) : epoch_(epoch), start_(std::chrono::steady_clock::now()) {}

  // `step_seconds`: how long the step took (its share of the epoch spent training).
  void add(const StepResult& step, double step_seconds) {
    ++steps_;
    step_seconds_ += step_seconds;
    samples_ += step.count;
    correct_ += step.correct;
    loss_sum_ += step.loss * static_cast<double>(step.count);
  }

  int64_t epoch() const { return epoch_; }
  int64_t steps() const { return steps_; }
  int64_t samples() const { return samples_; }
  double mean_loss() const { return samples_ > 0 ? loss_sum_ / static_cast<double>(samples_) : 0; }
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

  // The epoch's row of metrics, training figures only.
  proto::EpochMetrics figures(uint64_t global_step, double learning_rate) const;

 private:
  int64_t epoch_;
  std::chrono::steady_clock::time_point start_;
  int64_t steps_ = 0, samples_ = 0, correct_ = 0;
  double loss_sum_ = 0;
  double step_seconds_ = 0;
};

}  // namespace pipeline::cnn
