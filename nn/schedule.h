// Learning-rate schedules: constant, step, cosine (each after an optional linear warm-up) and
// one-cycle. Steps count optimizer updates from 0.
#pragma once

#include <cstdint>

#include "model.pb.h"

namespace pipeline::cnn {

class Schedule {
 public:
  // Validates the spec (std::invalid_argument); an unset kind is constant.
  explicit Schedule(const proto::ScheduleSpec& spec);

  // The learning rate for update number `step` (0 = the first).
  double learning_rate(int64_t step) const;
  const proto::ScheduleSpec& spec() const { return spec_; }

 private:
  double after_warmup(int64_t step) const;
  double one_cycle(int64_t step) const;

  proto::ScheduleSpec spec_;
};

}  // namespace pipeline::cnn
