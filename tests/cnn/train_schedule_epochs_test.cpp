// The schedule's length follows the training source: a onecycle warm-up written for a long run
// (train_augmented.graph: 4 of 20 epochs) must not make `--set train_data.epochs=1` fail.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>

#include "stages/cnn/train_config.h"

namespace pipeline::cnn {
namespace {

using ::testing::HasSubstr;

TrainConfig OneCycle(double warmup_epochs, int64_t epochs_param) {
  TrainConfig config;
  config.schedule = "onecycle";
  config.warmup_epochs = warmup_epochs;
  config.epochs = epochs_param;
  return config;
}

TEST(ScheduleEpochs, WarmupLongerThanTheSourcesPassesFallsBackToTheDefaultRise) {
  TrainConfig config = OneCycle(4, 0);
  const std::string note = ResolveEpochs(config, 1);
  EXPECT_THAT(note, HasSubstr("warmup_epochs 4"));
  EXPECT_THAT(note, HasSubstr("first 25%"));
  EXPECT_EQ(config.epochs, 1);
  EXPECT_EQ(config.warmup_epochs, 0);
  const proto::ScheduleSpec schedule = BuildSchedule(config, 16);
  EXPECT_FALSE(schedule.one_cycle().has_pct_start()) << "the schedule's own default, 25%";
}

TEST(ScheduleEpochs, WarmupShorterThanTheRunIsKept) {
  TrainConfig config = OneCycle(0.6, 0);
  EXPECT_EQ(ResolveEpochs(config, 1), "");
  EXPECT_DOUBLE_EQ(config.warmup_epochs, 0.6);
  EXPECT_FLOAT_EQ(BuildSchedule(config, 10).one_cycle().pct_start(), 0.6f);
}

TEST(ScheduleEpochs, WarmupLongerThanCnnTrainsOwnEpochsIsStillAnError) {
  // Both numbers come from the same stage's parameters: that is a mistake in the graph.
  TrainConfig config = OneCycle(4, 2);
  EXPECT_THROW(ResolveEpochs(config, 0), std::runtime_error);
}

}  // namespace
}  // namespace pipeline::cnn
