#include "nn/callbacks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace pipeline::cnn {
namespace {

std::string Format(const char* format, auto... values) {
  char text[320];
  std::snprintf(text, sizeof(text), format, values...);
  return text;
}

}  // namespace

bool PlateauTracker::observe(double value, int64_t epoch) {
  if (!std::isnan(value) && (!best_ || value < *best_ - min_delta_)) {
    best_ = value;
    best_epoch_ = epoch;
    epochs_without_improvement_ = 0;
    return true;
  }
  ++epochs_without_improvement_;
  return false;
}

proto::PlateauState PlateauTracker::state() const {
  proto::PlateauState state;
  if (best_) state.set_best(*best_);
  state.set_best_epoch(best_epoch_);
  state.set_epochs_without_improvement(epochs_without_improvement_);
  return state;
}

void PlateauTracker::restore(const proto::PlateauState& state) {
  best_epoch_ = state.best_epoch();
  // best_epoch is -1 until a first value was seen.
  best_ = best_epoch_ >= 0 ? std::optional<double>(state.best()) : std::nullopt;
  epochs_without_improvement_ = state.epochs_without_improvement();
}

TrainingCallbacks::TrainingCallbacks(const CallbackOptions& options)
    : options_(options),
      early_stopping_(options.early_stopping_min_delta),
      reduce_lr_(options.reduce_lr_min_delta) {}

EpochDecision TrainingCallbacks::end_of_epoch(int64_t epoch, double validation_loss,
                                              double schedule_rate) {
  if (options_.early_stopping_patience > 0) early_stopping_.observe(validation_loss, epoch);
  if (options_.reduce_lr_patience > 0) reduce_lr_.observe(validation_loss, epoch);
  EpochDecision decision;
  if (options_.early_stopping_patience > 0 &&
      early_stopping_.epochs_without_improvement() >= options_.early_stopping_patience) {
    decision.stop = true;
    decision.stop_reason = Format(
        "early stopping after epoch %lld: validation loss has not improved by more than %g for "
        "%lld epoch(s) (best %.4f after epoch %lld)",
        static_cast<long long>(epoch + 1), options_.early_stopping_min_delta,
        static_cast<long long>(early_stopping_.epochs_without_improvement()),
        early_stopping_.best().value_or(validation_loss),
        static_cast<long long>(early_stopping_.best_epoch() + 1));
  } else if (options_.reduce_lr_patience > 0 &&
             reduce_lr_.epochs_without_improvement() >= options_.reduce_lr_patience) {
    reduce_lr_.restart_wait();
    // Never below min_lr by this reduction; the schedule's own decay may go lower.
    const double floor = schedule_rate > 0 ? options_.min_lr / schedule_rate : 0;
    const double reduced = std::max(lr_scale_ * options_.reduce_lr_factor, floor);
    if (reduced < lr_scale_) {
      lr_scale_ = reduced;
      decision.lr_reduced = true;
      decision.note = Format(
          "reduce-LR after epoch %lld: validation loss has not improved for %lld epoch(s); the "
          "learning rate is now %.3g x the schedule's (%.3g)",
          static_cast<long long>(epoch + 1), static_cast<long long>(options_.reduce_lr_patience),
          lr_scale_, lr_scale_ * schedule_rate);
    } else {
      decision.note = Format(
          "reduce-LR after epoch %lld: validation loss has not improved for %lld epoch(s), but "
          "the rate is already at min_lr %g",
          static_cast<long long>(epoch + 1), static_cast<long long>(options_.reduce_lr_patience),
          options_.min_lr);
    }
  }
  decision.lr_scale = lr_scale_;
  return decision;
}

void TrainingCallbacks::save(proto::TrainingPosition* position) const {
  if (lr_scale_ != 1) position->set_lr_scale(lr_scale_);  // 0 (unset) reads as 1
  if (options_.early_stopping_patience > 0) {
    *position->mutable_early_stopping() = early_stopping_.state();
  }
  if (options_.reduce_lr_patience > 0) *position->mutable_reduce_lr() = reduce_lr_.state();
}

void TrainingCallbacks::restore(const proto::TrainingPosition& position) {
  lr_scale_ = position.lr_scale() > 0 ? position.lr_scale() : 1.0;
  if (position.has_early_stopping()) early_stopping_.restore(position.early_stopping());
  if (position.has_reduce_lr()) reduce_lr_.restore(position.reduce_lr());
}

void CheckFiniteLoss(double loss, int64_t epoch, int64_t planned_epochs, int64_t step,
                     double learning_rate) {
  if (std::isfinite(loss)) return;
  const std::string epoch_text = planned_epochs > 0
                                     ? Format("%lld/%lld", static_cast<long long>(epoch + 1),
                                              static_cast<long long>(planned_epochs))
                                     : std::to_string(epoch + 1);
  throw std::runtime_error(Format(
      "training stopped: the loss became %s in epoch %s at step %lld (learning rate %.3g); the "
      "weights have diverged, so nothing of this epoch is kept and checkpoints of earlier epochs "
      "stay as they were. Lower lr, or look for NaN or Inf values in the input",
      std::isnan(loss) ? "NaN" : "infinite", epoch_text.c_str(), static_cast<long long>(step),
      learning_rate));
}

}  // namespace pipeline::cnn
