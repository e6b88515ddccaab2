// Training callbacks as pure decisions, apart from the stage that acts on them: early stopping and
// reduce-LR-on-plateau watch the validation loss epoch by epoch; a non-finite batch loss stops
// training at once. Their state is part of the checkpoint (TrainingPosition), so a resumed run
// decides exactly as an uninterrupted one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "checkpoint.pb.h"

namespace pipeline::cnn {

// Watches a value that should fall (a validation loss): the best so far and how many epochs
// have passed without beating it by more than `min_delta`.
class PlateauTracker {
 public:
  explicit PlateauTracker(double min_delta = 0) : min_delta_(min_delta) {}

  // Records 0-based epoch `epoch`'s value; returns true when it improved, i.e. is below
  // best - min_delta (the first finite value always is). A NaN never improves.
  bool observe(double value, int64_t epoch);
  // After acting on a plateau (reducing the rate), count afresh from the current best.
  void restart_wait() { epochs_without_improvement_ = 0; }

  std::optional<double> best() const { return best_; }
  int64_t best_epoch() const { return best_epoch_; }  // -1 before the first improvement
  int64_t epochs_without_improvement() const { return epochs_without_improvement_; }

  proto::PlateauState state() const;
  void restore(const proto::PlateauState& state);

 private:
  double min_delta_;
  std::optional<double> best_;
  int64_t best_epoch_ = -1;
  int64_t epochs_without_improvement_ = 0;
};

struct CallbackOptions {
  int64_t early_stopping_patience = 0;  // epochs without improvement before stopping; 0 = off
  double early_stopping_min_delta = 0;
  int64_t reduce_lr_patience = 0;  // epochs without improvement before reducing; 0 = off
  double reduce_lr_factor = 0.5;
  double reduce_lr_min_delta = 0;
  double min_lr = 0;  // reduce-LR never takes the rate below this

  bool any() const { return early_stopping_patience > 0 || reduce_lr_patience > 0; }
};

// What to do after an epoch.
struct EpochDecision {
  bool stop = false;
  std::string stop_reason;  // why, when stop (for EpochMetrics.stop_reason and the console)
  bool lr_reduced = false;
  double lr_scale = 1;  // the multiplier of the schedule's rate from now on
  std::string note;     // a console line about a rate reduction, empty otherwise
};

class TrainingCallbacks {
 public:
  explicit TrainingCallbacks(const CallbackOptions& options);

  // After 0-based epoch `epoch`, whose validation loss was `validation_loss`. `schedule_rate` is
  // the schedule's own (unscaled) rate for the next step, which min_lr is checked against.
  EpochDecision end_of_epoch(int64_t epoch, double validation_loss, double schedule_rate);

  double lr_scale() const { return lr_scale_; }
  // Into and out of a checkpoint's position.
  void save(proto::TrainingPosition* position) const;
  void restore(const proto::TrainingPosition& position);

 private:
  CallbackOptions options_;
  PlateauTracker early_stopping_;
  PlateauTracker reduce_lr_;
  double lr_scale_ = 1;
};

// Throws std::runtime_error naming the epoch (0-based `epoch`, shown counting from 1 out of
// `planned_epochs` when that is known, as the console counts), the step within it (from 1) and
// the learning rate when `loss` is NaN or infinite: training has diverged, and every later step
// would only spread the NaN through the weights.
void CheckFiniteLoss(double loss, int64_t epoch, int64_t planned_epochs, int64_t step,
                     double learning_rate);

}  // namespace pipeline::cnn
