#include "stages/cnn/training_progress.h"

#include <cstdio>

#include "stages/cnn/console.h"

namespace pipeline::cnn {
namespace {

double SecondsBetween(std::chrono::steady_clock::time_point from,
                      std::chrono::steady_clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

void TrainingProgress::start_epoch(int64_t epoch, int64_t planned_epochs, int64_t steps_per_epoch) {
  epoch_ = epoch;
  planned_epochs_ = planned_epochs;
  steps_per_epoch_ = steps_per_epoch;
  next_tenth_ = 1;
  epoch_start_ = std::chrono::steady_clock::now();
  last_draw_ = epoch_start_;
}

void TrainingProgress::update(int64_t steps, int64_t images, double mean_loss) {
  if (!enabled_ || steps <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = SecondsBetween(epoch_start_, now);
  if (StderrIsTerminal()) {
    if (SecondsBetween(last_draw_, now) < 0.2 && steps != steps_per_epoch_) return;
    last_draw_ = now;
    ConsoleStatus(status(steps, images, mean_loss, elapsed));
    return;
  }
  // Without an epoch size, a line every 100 steps.
  const bool due =
      steps_per_epoch_ > 0 ? steps * 10 >= next_tenth_ * steps_per_epoch_ : steps % 100 == 0;
  if (!due) return;
  while (steps_per_epoch_ > 0 && steps * 10 >= next_tenth_ * steps_per_epoch_) ++next_tenth_;
  ConsoleLine(status(steps, images, mean_loss, elapsed));
}

std::string TrainingProgress::status(int64_t steps, int64_t images, double mean_loss,
                                     double elapsed) const {
  char text[192];
  const double rate = elapsed > 0 ? static_cast<double>(images) / elapsed : 0;
  if (steps_per_epoch_ <= 0) {
    std::snprintf(text, sizeof(text), "train epoch %lld/%lld  step %lld  %.0f img/s  loss %.4f",
                  static_cast<long long>(epoch_ + 1), static_cast<long long>(planned_epochs_),
                  static_cast<long long>(steps), rate, mean_loss);
    return text;
  }
  // The remaining steps of this and the planned later epochs at this epoch's pace.
  const int64_t later_epochs = planned_epochs_ > epoch_ + 1 ? planned_epochs_ - epoch_ - 1 : 0;
  const int64_t remaining = steps_per_epoch_ - steps + later_epochs * steps_per_epoch_;
  const double eta = elapsed / static_cast<double>(steps) * static_cast<double>(remaining);
  std::snprintf(text, sizeof(text),
                "train epoch %lld/%lld  step %lld/%lld  %.0f img/s  loss %.4f  ETA %s%s",
                static_cast<long long>(epoch_ + 1), static_cast<long long>(planned_epochs_),
                static_cast<long long>(steps), static_cast<long long>(steps_per_epoch_), rate,
                mean_loss, FormatDuration(eta).c_str(),
                early_stopping_ && later_epochs > 0 ? " (early stopping on)" : "");
  return text;
}

}  // namespace pipeline::cnn
