// The training callbacks' decisions on made-up validation-loss sequences: when early stopping
// stops, when reduce-LR reduces (and how far), that their state survives a checkpoint round trip,
// and that a non-finite batch loss stops training with a message naming epoch and step.
#include "nn/callbacks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace pipeline::cnn {
namespace {

// Feeds `losses` epoch by epoch; returns the 0-based epoch after which training stopped (-1 if
// it did not) and the lr scale after every epoch.
struct Outcome {
  int64_t stopped_after = -1;
  std::string reason;
  std::vector<double> scales;
};

Outcome Feed(const CallbackOptions& options, const std::vector<double>& losses,
             double schedule_rate = 0.01) {
  TrainingCallbacks callbacks(options);
  Outcome outcome;
  for (size_t epoch = 0; epoch < losses.size(); ++epoch) {
    const EpochDecision decision =
        callbacks.end_of_epoch(static_cast<int64_t>(epoch), losses[epoch], schedule_rate);
    outcome.scales.push_back(decision.lr_scale);
    if (decision.stop) {
      outcome.stopped_after = static_cast<int64_t>(epoch);
      outcome.reason = decision.stop_reason;
      break;
    }
  }
  return outcome;
}

TEST(PlateauTracker, CountsEpochsSinceTheBestBeatenByMoreThanMinDelta) {
  PlateauTracker tracker(0.01);
  EXPECT_TRUE(tracker.observe(0.50, 0));
  EXPECT_TRUE(tracker.observe(0.40, 1));
  EXPECT_FALSE(tracker.observe(0.395, 2)) << "0.005 better is not more than min_delta";
  EXPECT_EQ(tracker.epochs_without_improvement(), 1);
  EXPECT_FALSE(tracker.observe(0.45, 3));
  EXPECT_EQ(tracker.epochs_without_improvement(), 2);
  EXPECT_EQ(tracker.best(), 0.40);
  EXPECT_EQ(tracker.best_epoch(), 1);
  EXPECT_TRUE(tracker.observe(0.30, 4));
  EXPECT_EQ(tracker.epochs_without_improvement(), 0);
  EXPECT_FALSE(tracker.observe(std::nan(""), 5)) << "NaN never improves";
  EXPECT_EQ(tracker.best(), 0.30);
}

TEST(TrainingCallbacks, EarlyStoppingStopsAfterPatienceEpochsWithoutImprovement) {
  CallbackOptions options;
  options.early_stopping_patience = 2;
  // Best at epoch 2 (0-based); epochs 3 and 4 do not improve: stop after epoch 4.
  const Outcome outcome = Feed(options, {0.9, 0.5, 0.3, 0.31, 0.35, 0.1, 0.05});
  EXPECT_EQ(outcome.stopped_after, 4);
  EXPECT_NE(outcome.reason.find("early stopping after epoch 5"), std::string::npos)
      << outcome.reason;
  EXPECT_NE(outcome.reason.find("best 0.3000 after epoch 3"), std::string::npos) << outcome.reason;
}

TEST(TrainingCallbacks, EarlyStoppingNeverStopsWhileTheLossKeepsFalling) {
  CallbackOptions options;
  options.early_stopping_patience = 1;
  EXPECT_EQ(Feed(options, {0.9, 0.8, 0.7, 0.6, 0.5, 0.4}).stopped_after, -1);
  options.early_stopping_min_delta = 0.15;  // falls by only 0.1 an epoch: not an improvement
  EXPECT_EQ(Feed(options, {0.9, 0.8, 0.7, 0.6, 0.5, 0.4}).stopped_after, 1);
}

TEST(TrainingCallbacks, EarlyStoppingIsOffWithPatienceZero) {
  EXPECT_EQ(Feed(CallbackOptions{}, {0.1, 0.2, 0.3, 0.4, 0.5}).stopped_after, -1);
}

TEST(TrainingCallbacks, ReduceLrMultipliesTheScaleAfterEachPlateauDownToMinLr) {
  CallbackOptions options;
  options.reduce_lr_patience = 2;
  options.reduce_lr_factor = 0.5;
  options.min_lr = 0.2;  // with a schedule rate of 1: the scale never goes below 0.2
  const Outcome outcome =
      Feed(options, {1.0, 0.8, 0.9, 0.9, 0.85, 0.81, 0.7, 0.75, 0.9, 0.8, 0.8, 0.8, 0.8}, 1.0);
  EXPECT_EQ(outcome.stopped_after, -1);
  // Plateaus end at epochs 3 and 5 (counting restarts after a reduction), 8, 10 and 12.
  const std::vector<double> expected = {1,    1,   1,   0.5, 0.5, 0.25, 0.25,
                                        0.25, 0.2, 0.2, 0.2, 0.2, 0.2};
  EXPECT_EQ(outcome.scales, expected);
}

TEST(TrainingCallbacks, StateSurvivesACheckpointSoAResumedRunDecidesTheSame) {
  CallbackOptions options;
  options.early_stopping_patience = 3;
  options.reduce_lr_patience = 1;
  const std::vector<double> losses = {0.5, 0.6, 0.4, 0.45, 0.47, 0.46};
  const Outcome whole = Feed(options, losses);

  TrainingCallbacks first(options);
  for (int64_t epoch = 0; epoch < 4; ++epoch) first.end_of_epoch(epoch, losses[epoch], 0.01);
  proto::TrainingPosition position;
  first.save(&position);
  TrainingCallbacks resumed(options);
  resumed.restore(position);
  EXPECT_EQ(resumed.lr_scale(), first.lr_scale());
  Outcome rest;
  for (int64_t epoch = 4; epoch < 6; ++epoch) {
    const EpochDecision decision = resumed.end_of_epoch(epoch, losses[epoch], 0.01);
    rest.scales.push_back(decision.lr_scale);
    if (decision.stop) {
      rest.stopped_after = epoch;
      break;
    }
  }
  EXPECT_EQ(whole.stopped_after, 5);
  EXPECT_EQ(rest.stopped_after, whole.stopped_after);
  EXPECT_EQ(rest.scales.back(), whole.scales.back());
}

TEST(TrainingCallbacks, ACheckpointWithoutCallbackStateMeansScaleOne) {
  TrainingCallbacks callbacks(CallbackOptions{});
  callbacks.restore(proto::TrainingPosition());
  EXPECT_EQ(callbacks.lr_scale(), 1.0);
  proto::TrainingPosition position;
  callbacks.save(&position);
  EXPECT_EQ(position.SerializeAsString(), "") << "no callbacks: the position is unchanged";
}

TEST(CheckFiniteLoss, NaNAndInfinityStopNamingEpochAndStep) {
  EXPECT_NO_THROW(CheckFiniteLoss(2.3, 0, 4, 1, 0.001));
  const std::vector<double> bad = {std::nan(""), std::numeric_limits<double>::infinity(),
                                   -std::numeric_limits<double>::infinity()};
  for (double loss : bad) {
    try {
      CheckFiniteLoss(loss, 2, 4, 17, 0.5);
      FAIL() << "expected an error for " << loss;
    } catch (const std::runtime_error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(std::isnan(loss) ? "became NaN" : "became infinite"), std::string::npos)
          << what;
      EXPECT_NE(what.find("in epoch 3/4 at step 17"), std::string::npos) << what;
      EXPECT_NE(what.find("learning rate 0.5"), std::string::npos) << what;
    }
  }
}

}  // namespace
}  // namespace pipeline::cnn
