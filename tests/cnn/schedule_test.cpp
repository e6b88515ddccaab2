// Learning-rate schedules at the steps where their value is known exactly.
#include "nn/schedule.h"

#include <gtest/gtest.h>

namespace pipeline::cnn {
namespace {

proto::ScheduleSpec base(double lr) {
  proto::ScheduleSpec spec;
  spec.set_base_lr(static_cast<float>(lr));
  return spec;
}

TEST(Schedule, ConstantIsTheDefault) {
  const Schedule schedule(base(0.5));
  EXPECT_FLOAT_EQ(schedule.learning_rate(0), 0.5f);
  EXPECT_FLOAT_EQ(schedule.learning_rate(100000), 0.5f);
}

TEST(Schedule, StepDecay) {
  proto::ScheduleSpec spec = base(0.1);
  spec.mutable_step()->set_step_size(10);
  spec.mutable_step()->set_gamma(0.5f);
  const Schedule schedule(spec);
  EXPECT_NEAR(schedule.learning_rate(9), 0.1, 1e-7);
  EXPECT_NEAR(schedule.learning_rate(10), 0.05, 1e-7);
  EXPECT_NEAR(schedule.learning_rate(25), 0.025, 1e-7);
}

TEST(Schedule, CosineFromBaseToMinimum) {
  proto::ScheduleSpec spec = base(1.0);
  spec.mutable_cosine()->set_total_steps(100);
  spec.mutable_cosine()->set_min_lr(0.1f);
  const Schedule schedule(spec);
  EXPECT_NEAR(schedule.learning_rate(0), 1.0, 1e-7);
  EXPECT_NEAR(schedule.learning_rate(50), 0.55, 1e-6);
  EXPECT_NEAR(schedule.learning_rate(100), 0.1, 1e-6);
  EXPECT_NEAR(schedule.learning_rate(500), 0.1, 1e-6);
}

TEST(Schedule, LinearWarmupThenCosine) {
  proto::ScheduleSpec spec = base(1.0);
  spec.set_warmup_steps(4);
  spec.mutable_cosine()->set_total_steps(104);
  const Schedule schedule(spec);
  EXPECT_NEAR(schedule.learning_rate(0), 0.2, 1e-7);
  EXPECT_NEAR(schedule.learning_rate(3), 0.8, 1e-7);
  EXPECT_NEAR(schedule.learning_rate(4), 1.0, 1e-7);
  EXPECT_NEAR(schedule.learning_rate(54), 0.5, 1e-6);
}

TEST(Schedule, OneCycleRisesThenAnnealsPastItsStart) {
  proto::ScheduleSpec spec = base(1.0);
  spec.mutable_one_cycle()->set_total_steps(101);
  spec.mutable_one_cycle()->set_pct_start(0.25f);
  const Schedule schedule(spec);
  EXPECT_NEAR(schedule.learning_rate(0), 1.0 / 25, 1e-7);
  EXPECT_NEAR(schedule.learning_rate(25), 1.0, 1e-7);
  EXPECT_NEAR(schedule.learning_rate(100), 1.0 / 25 / 1e4, 1e-9);
  double previous = 0;
  for (int step = 0; step <= 25; ++step) {
    EXPECT_GT(schedule.learning_rate(step), previous);
    previous = schedule.learning_rate(step);
  }
  for (int step = 26; step <= 100; ++step) {
    EXPECT_LT(schedule.learning_rate(step), previous);
    previous = schedule.learning_rate(step);
  }
}

TEST(Schedule, RejectsInvalidSpecs) {
  EXPECT_THROW(Schedule(base(0.0)), std::invalid_argument);
  proto::ScheduleSpec step = base(0.1);
  step.mutable_step();
  EXPECT_THROW(Schedule{step}, std::invalid_argument);
  proto::ScheduleSpec cosine = base(0.1);
  cosine.set_warmup_steps(10);
  cosine.mutable_cosine()->set_total_steps(10);
  EXPECT_THROW(Schedule{cosine}, std::invalid_argument);
  proto::ScheduleSpec cycle = base(0.1);
  cycle.mutable_one_cycle()->set_total_steps(100);
  cycle.mutable_one_cycle()->set_pct_start(1.5f);
  EXPECT_THROW(Schedule{cycle}, std::invalid_argument);
}

}  // namespace
}  // namespace pipeline::cnn
