// Training progress on stderr: epoch, step, images/s, running loss and ETA of the planned epochs.
// Redrawn in place (at most 5 times a second) on a terminal; a plain line per 10% of an epoch
// otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace pipeline::cnn {

class TrainingProgress {
 public:
  // early_stopping: training may end before the planned epochs; the ETA (still for all of them)
  // then says so.
  explicit TrainingProgress(bool enabled, bool early_stopping = false)
      : enabled_(enabled), early_stopping_(early_stopping) {}

  // steps_per_epoch is 0 when the epoch size is unknown.
  void start_epoch(int64_t epoch, int64_t planned_epochs, int64_t steps_per_epoch);
  // After each step: steps and images of this epoch so far, running mean loss.
  void update(int64_t steps, int64_t images, double mean_loss);

 private:
  std::string status(int64_t steps, int64_t images, double mean_loss, double elapsed) const;

  bool enabled_;
  bool early_stopping_;
  int64_t epoch_ = 0, planned_epochs_ = 0, steps_per_epoch_ = 0;
  int next_tenth_ = 1;
  std::chrono::steady_clock::time_point epoch_start_, last_draw_;
};

}  // namespace pipeline::cnn
