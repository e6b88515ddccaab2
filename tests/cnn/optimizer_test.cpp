// Optimizer updates against values worked out by hand from PyTorch's update rules.
#include "nn/optimizer.h"

#include <gtest/gtest.h>

#include <cmath>

namespace pipeline::cnn {
namespace {

// One parameter w = [1, -2] with a constant gradient g = [0.5, 0.25].
Parameter make_parameter(bool decays = true) {
  Parameter p;
  p.name = "layer.weight";
  p.shape = {2};
  p.value = {1.0f, -2.0f};
  p.grad = {0.5f, 0.25f};
  p.decays = decays;
  return p;
}

void run_steps(const proto::OptimizerSpec& spec, Parameter& p, int steps, double lr) {
  auto optimizer = Optimizer::create(spec, {&p});
  for (int i = 0; i < steps; ++i) optimizer->step(lr);
  EXPECT_EQ(optimizer->steps(), steps);
}

TEST(Optimizer, PlainSgd) {
  proto::OptimizerSpec spec;
  spec.mutable_sgd();
  Parameter p = make_parameter();
  run_steps(spec, p, 2, 0.1);
  EXPECT_FLOAT_EQ(p.value[0], 1.0f - 2 * 0.05f);
  EXPECT_FLOAT_EQ(p.value[1], -2.0f - 2 * 0.025f);
  EXPECT_EQ(p.version, 2u);
}

TEST(Optimizer, SgdMomentum) {
  // buf1 = g = 0.5, w1 = 1 - 0.1*0.5 = 0.95; buf2 = 0.9*0.5 + 0.5 = 0.95, w2 = 0.95 - 0.095.
  proto::OptimizerSpec spec;
  spec.mutable_sgd()->set_momentum(0.9f);
  Parameter p = make_parameter();
  run_steps(spec, p, 2, 0.1);
  EXPECT_NEAR(p.value[0], 0.855f, 1e-6);
}

TEST(Optimizer, SgdNesterov) {
  // Step 1: buf = 0.5, update g + 0.9*buf = 0.95 -> w = 0.905.
  // Step 2: buf = 0.95, update 0.5 + 0.855 = 1.355 -> w = 0.905 - 0.1355 = 0.7695.
  proto::OptimizerSpec spec;
  spec.mutable_sgd()->set_momentum(0.9f);
  spec.mutable_sgd()->set_nesterov(true);
  Parameter p = make_parameter();
  run_steps(spec, p, 2, 0.1);
  EXPECT_NEAR(p.value[0], 0.7695f, 1e-6);
}

TEST(Optimizer, SgdWeightDecaySkipsParametersThatDoNotDecay) {
  // g = 0.5 + 0.1*1 = 0.6 -> w = 1 - 0.06.
  proto::OptimizerSpec spec;
  spec.mutable_sgd()->set_weight_decay(0.1f);
  Parameter decaying = make_parameter(true);
  Parameter bias = make_parameter(false);
  auto optimizer = Optimizer::create(spec, {&decaying, &bias});
  optimizer->step(0.1);
  EXPECT_NEAR(decaying.value[0], 0.94f, 1e-6);
  EXPECT_NEAR(bias.value[0], 0.95f, 1e-6);
}

TEST(Optimizer, Adam) {
  // Bias correction makes each of the first steps move w by lr * g/|g| = lr (eps aside).
  proto::OptimizerSpec spec;
  spec.mutable_adam();
  Parameter p = make_parameter();
  run_steps(spec, p, 2, 0.1);
  EXPECT_NEAR(p.value[0], 0.8f, 1e-6);
  EXPECT_NEAR(p.value[1], -2.2f, 1e-6);
}

TEST(Optimizer, AdamCoupledWeightDecay) {
  // g = 0.5 + 0.5*1 = 1.0: still a unit step of lr in the first update.
  // Step 2: g = 0.5 + 0.5*0.9 = 0.95; m = 0.9*0.1 + 0.1*0.95 = 0.185, m^ = 0.185/0.19;
  // v = 0.999*0.001 + 0.001*0.9025 = 0.0019015, v^ = 0.0019015/0.001999;
  // w = 0.9 - 0.1 * m^/sqrt(v^).
  proto::OptimizerSpec spec;
  spec.mutable_adam()->set_weight_decay(0.5f);
  Parameter p = make_parameter();
  run_steps(spec, p, 2, 0.1);
  const double m_hat = 0.185 / 0.19, v_hat = 0.0019015 / 0.001999;
  EXPECT_NEAR(p.value[0], 0.9 - 0.1 * m_hat / std::sqrt(v_hat), 1e-6);
}

TEST(Optimizer, AdamWDecouplesTheDecay) {
  // w = 1 * (1 - 0.1*0.1) - 0.1 = 0.89.
  proto::OptimizerSpec spec;
  spec.mutable_adamw()->set_weight_decay(0.1f);
  Parameter p = make_parameter();
  run_steps(spec, p, 1, 0.1);
  EXPECT_NEAR(p.value[0], 0.89f, 1e-6);
}

TEST(Optimizer, AdamCustomBetas) {
  // beta1 = 0: m = g, no bias correction left on the numerator; beta2 = 0.5: v = 0.125,
  // v^ = 0.125/0.5 = 0.25 -> w = 1 - 0.1 * 0.5/0.5.
  proto::OptimizerSpec spec;
  spec.mutable_adam()->set_beta1(0.0f);
  spec.mutable_adam()->set_beta2(0.5f);
  Parameter p = make_parameter();
  run_steps(spec, p, 1, 0.1);
  EXPECT_NEAR(p.value[0], 0.9f, 1e-6);
}

TEST(Optimizer, Rmsprop) {
  // s = 0.01*0.25 = 0.0025, step = 0.5/0.05 = 10 -> w = 1 - 0.01*10 = 0.9.
  // Step 2: s = 0.99*0.0025 + 0.0025 = 0.004975 -> w = 0.9 - 0.01*0.5/sqrt(0.004975).
  proto::OptimizerSpec spec;
  spec.mutable_rmsprop();
  Parameter p = make_parameter();
  run_steps(spec, p, 2, 0.01);
  EXPECT_NEAR(p.value[0], 0.9 - 0.01 * 0.5 / std::sqrt(0.004975), 1e-5);
}

TEST(Optimizer, RmspropMomentum) {
  // buf1 = 10 -> w = 0.9; buf2 = 0.5*10 + 0.5/sqrt(0.004975) -> w = 0.9 - 0.01*buf2.
  proto::OptimizerSpec spec;
  spec.mutable_rmsprop()->set_momentum(0.5f);
  Parameter p = make_parameter();
  run_steps(spec, p, 2, 0.01);
  EXPECT_NEAR(p.value[0], 0.9 - 0.01 * (5.0 + 0.5 / std::sqrt(0.004975)), 1e-5);
}

TEST(Optimizer, StateRoundTripContinuesIdentically) {
  proto::OptimizerSpec spec;
  spec.mutable_adam()->set_weight_decay(0.01f);
  Parameter a = make_parameter(), b = make_parameter();
  auto first = Optimizer::create(spec, {&a});
  first->step(0.05);
  first->step(0.05);
  const OptimizerState saved = first->state();
  ASSERT_EQ(saved.slots.size(), 2u);
  EXPECT_EQ(saved.slots[0].name, "layer.weight/m");
  EXPECT_EQ(saved.slots[1].name, "layer.weight/v");
  EXPECT_EQ(saved.steps, 2);

  b.value = a.value;
  auto second = Optimizer::create(spec, {&b});
  second->load_state(saved);
  first->step(0.05);
  second->step(0.05);
  EXPECT_EQ(a.value, b.value);
}

TEST(Optimizer, LoadStateRejectsMissingAndMisshapenSlots) {
  proto::OptimizerSpec spec;
  spec.mutable_sgd()->set_momentum(0.9f);
  Parameter p = make_parameter();
  auto optimizer = Optimizer::create(spec, {&p});
  OptimizerState state = optimizer->state();
  state.slots[0].shape = {3};
  state.slots[0].values = {0, 0, 0};
  try {
    optimizer->load_state(state);
    FAIL() << "a wrong shape was accepted";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("layer.weight/momentum"), std::string::npos)
        << error.what();
  }
  state.slots.clear();
  EXPECT_THROW(optimizer->load_state(state), std::invalid_argument);
}

TEST(Optimizer, RejectsInvalidSpecs) {
  Parameter p = make_parameter();
  proto::OptimizerSpec none;
  EXPECT_THROW(Optimizer::create(none, {&p}), std::invalid_argument);
  proto::OptimizerSpec momentum;
  momentum.mutable_sgd()->set_momentum(1.5f);
  EXPECT_THROW(Optimizer::create(momentum, {&p}), std::invalid_argument);
  proto::OptimizerSpec nesterov;
  nesterov.mutable_sgd()->set_nesterov(true);
  EXPECT_THROW(Optimizer::create(nesterov, {&p}), std::invalid_argument);
  proto::OptimizerSpec beta;
  beta.mutable_adam()->set_beta2(1.0f);
  EXPECT_THROW(Optimizer::create(beta, {&p}), std::invalid_argument);
  proto::OptimizerSpec sgd;
  sgd.mutable_sgd();
  auto optimizer = Optimizer::create(sgd, {&p});
  EXPECT_THROW(optimizer->step(-1.0), std::invalid_argument);
}

}  // namespace
}  // namespace pipeline::cnn
