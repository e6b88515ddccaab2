#include "stages/cnn/training_epoch.h"

namespace pipeline::cnn {

proto::EpochMetrics TrainingEpoch::figures(uint64_t global_step, double learning_rate) const {
  const double elapsed = seconds();
  proto::EpochMetrics row;
  row.set_epoch(epoch_);
  row.set_global_step(global_step);
  row.set_train_samples(samples_);
  if (samples_ > 0) {
    row.set_train_loss(mean_loss());
    row.set_train_accuracy(static_cast<double>(correct_) / static_cast<double>(samples_));
  }
  row.set_train_seconds(elapsed);
  row.set_images_per_second(elapsed > 0 ? static_cast<double>(samples_) / elapsed : 0);
  row.set_step_seconds(step_seconds_);
  row.set_learning_rate(learning_rate);
  return row;
}

}  // namespace pipeline::cnn
