#include "nn/schedule.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace pipeline::cnn {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Cosine interpolation from `from` (progress 0) to `to` (progress 1).
double cosine_between(double from, double to, double progress) {
  progress = std::clamp(progress, 0.0, 1.0);
  return to + (from - to) * 0.5 * (1.0 + std::cos(kPi * progress));
}

[[noreturn]] void invalid(const std::string& what) {
  throw std::invalid_argument("learning-rate schedule: " + what);
}

}  // namespace

Schedule::Schedule(const proto::ScheduleSpec& spec) : spec_(spec) {
  if (!(spec.base_lr() > 0) || !std::isfinite(spec.base_lr())) {
    invalid("base_lr must be positive, got " + std::to_string(spec.base_lr()));
  }
  switch (spec.kind_case()) {
    case proto::ScheduleSpec::kStep:
      if (spec.step().step_size() == 0) invalid("step_size must be at least 1");
      if (spec.step().has_gamma() && !(spec.step().gamma() > 0)) invalid("gamma must be positive");
      break;
    case proto::ScheduleSpec::kCosine:
      if (spec.cosine().total_steps() <= spec.warmup_steps()) {
        invalid("cosine total_steps must exceed warmup_steps");
      }
      if (spec.cosine().min_lr() < 0 || spec.cosine().min_lr() > spec.base_lr()) {
        invalid("cosine min_lr must be in [0, base_lr]");
      }
      break;
    case proto::ScheduleSpec::kOneCycle: {
      const proto::OneCycleSchedule& cycle = spec.one_cycle();
      if (cycle.total_steps() < 2) invalid("one-cycle total_steps must be at least 2");
      if (cycle.has_pct_start() && !(cycle.pct_start() > 0 && cycle.pct_start() < 1)) {
        invalid("one-cycle pct_start must be in (0, 1)");
      }
      if (cycle.has_div_factor() && !(cycle.div_factor() >= 1)) {
        invalid("one-cycle div_factor must be at least 1");
      }
      if (cycle.has_final_div_factor() && !(cycle.final_div_factor() >= 1)) {
        invalid("one-cycle final_div_factor must be at least 1");
      }
      if (spec.warmup_steps() != 0) invalid("one-cycle has its own warm-up; leave warmup_steps 0");
      break;
    }
    case proto::ScheduleSpec::kConstant:
    case proto::ScheduleSpec::KIND_NOT_SET:
      break;
  }
}

double Schedule::learning_rate(int64_t step) const {
  step = std::max<int64_t>(step, 0);
  if (spec_.kind_case() == proto::ScheduleSpec::kOneCycle) return one_cycle(step);
  const int64_t warmup = static_cast<int64_t>(spec_.warmup_steps());
  if (step < warmup) return spec_.base_lr() * static_cast<double>(step + 1) / (warmup + 1);
  return after_warmup(step);
}

double Schedule::after_warmup(int64_t step) const {
  const double base = spec_.base_lr();
  const int64_t since = step - static_cast<int64_t>(spec_.warmup_steps());
  switch (spec_.kind_case()) {
    case proto::ScheduleSpec::kStep: {
      const double gamma = spec_.step().has_gamma() ? spec_.step().gamma() : 0.1;
      return base * std::pow(gamma, static_cast<double>(since / spec_.step().step_size()));
    }
    case proto::ScheduleSpec::kCosine: {
      const double span = static_cast<double>(spec_.cosine().total_steps() - spec_.warmup_steps());
      return cosine_between(base, spec_.cosine().min_lr(), since / span);
    }
    default:
      return base;
  }
}

// Up from base/div to base over the first pct_start of the steps, then down to
// base/(div*final_div) at the last step, both along a half cosine.
double Schedule::one_cycle(int64_t step) const {
  const proto::OneCycleSchedule& cycle = spec_.one_cycle();
  const double peak = spec_.base_lr();
  const double start = peak / (cycle.has_div_factor() ? cycle.div_factor() : 25.0);
  const double end = start / (cycle.has_final_div_factor() ? cycle.final_div_factor() : 1e4);
  const double pct = cycle.has_pct_start() ? cycle.pct_start() : 0.25;
  const double last = static_cast<double>(cycle.total_steps() - 1);
  const double rise = std::max(1.0, std::round(pct * last));
  if (step <= rise) return cosine_between(start, peak, step / rise);
  return cosine_between(peak, end, (step - rise) / std::max(1.0, last - rise));
}

}  // namespace pipeline::cnn
