// The model on real MNIST samples: overfitting, determinism, bf16 against fp32, state tensors,
// inference consistency across batch sizes, and the spec's error messages.
#include "nn/model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "mnist_samples.h"
#include "nn/optimizer.h"
#include "nn/trainer.h"

namespace pipeline::cnn {
namespace {

using testing::load_mnist;
using testing::MnistSamples;

const MnistSamples& train_samples() {
  static const MnistSamples samples = load_mnist("train", 320);
  return samples;
}

proto::OptimizerSpec adam() {
  proto::OptimizerSpec spec;
  spec.mutable_adam();
  return spec;
}

proto::OptimizerSpec sgd_momentum() {
  proto::OptimizerSpec spec;
  spec.mutable_sgd()->set_momentum(0.9f);
  return spec;
}

proto::ScheduleSpec constant(double lr) {
  proto::ScheduleSpec spec;
  spec.set_base_lr(static_cast<float>(lr));
  return spec;
}

proto::ModelSpec seed_with(proto::Precision precision) {
  proto::ModelSpec spec = seed_network_spec();
  spec.set_precision(precision);
  return spec;
}

TEST(Model, SeedNetworkShapes) {
  const ResolvedModel model = resolve_model(seed_network_spec());
  ASSERT_EQ(model.layers.size(), 9u);
  EXPECT_EQ(model.layers[0].out.to_string(), "26x26x32");
  EXPECT_EQ(model.layers[2].out.to_string(), "24x24x64");
  EXPECT_EQ(model.layers[4].out.to_string(), "12x12x64");
  EXPECT_EQ(model.layers[5].out.to_string(), "9216");
  EXPECT_EQ(model.classes, 10);
  EXPECT_NEAR(3 * forward_flops_per_image(model) / 1e6, 72.0, 0.5);
  Model built(seed_network_spec(), 1);
  std::vector<std::string> names;
  for (Parameter* p : built.parameters()) names.push_back(p->name);
  EXPECT_EQ(names, (std::vector<std::string>{"conv1.weight", "conv1.bias", "conv2.weight",
                                             "conv2.bias", "dense1.weight", "dense1.bias",
                                             "dense2.weight", "dense2.bias"}));
  EXPECT_EQ(built.parameters()[4]->shape, (std::vector<int64_t>{128, 9216}));
}

TEST(Model, OverfitsThirtyTwoDigits) {
  const MnistSamples& data = train_samples();
  Model model(seed_network_spec(), 3);
  Trainer trainer(model, adam(), constant(1e-3));
  const double initial = model.evaluate(data.images.data(), data.labels.data(), 32).loss;
  for (int step = 0; step < 50; ++step) trainer.step(data.images.data(), data.labels.data(), 32);
  const StepResult check = model.evaluate(data.images.data(), data.labels.data(), 32);
  EXPECT_EQ(check.correct, 32) << "loss " << check.loss;
  EXPECT_LT(check.loss, initial / 20);
}

TEST(Model, SameSeedSameWeightsAfterTraining) {
  const MnistSamples& data = train_samples();
  const auto train = [&](uint64_t seed) {
    proto::ModelSpec spec = seed_network_spec();
    spec.mutable_layer()->Mutable(6)->mutable_dense();  // unchanged; keeps the seed network
    Model model(spec, seed);
    Trainer trainer(model, sgd_momentum(), constant(0.01));
    for (int step = 0; step < 4; ++step) {
      trainer.step(data.images.data() + step * 64 * 784, data.labels.data() + step * 64, 64);
    }
    return model.state_tensors();
  };
  const std::vector<Tensor> first = train(5), second = train(5), other = train(6);
  ASSERT_EQ(first.size(), second.size());
  for (size_t i = 0; i < first.size(); ++i) {
    ASSERT_EQ(first[i].values.size(), second[i].values.size());
    EXPECT_EQ(0, std::memcmp(first[i].values.data(), second[i].values.data(),
                             first[i].values.size() * sizeof(float)))
        << first[i].name << " differs between two runs with the same seed";
  }
  EXPECT_NE(first[0].values, other[0].values);
}

TEST(Model, DropoutIsSeededAndAdvancesPerStep) {
  const MnistSamples& data = train_samples();
  proto::ModelSpec spec = seed_network_spec();
  proto::LayerSpec dropout;
  dropout.mutable_dropout()->set_rate(0.5f);
  *spec.mutable_layer()->Add() = spec.layer(8);
  *spec.mutable_layer()->Mutable(8) = dropout;  // ... dense1, relu, dropout, dense2
  Model a(spec, 9), b(spec, 9);
  const double loss_a = a.training_loss(data.images.data(), data.labels.data(), 16).loss;
  EXPECT_EQ(loss_a, b.training_loss(data.images.data(), data.labels.data(), 16).loss);
  a.set_step(1);
  EXPECT_NE(loss_a, a.training_loss(data.images.data(), data.labels.data(), 16).loss);
  // Inference has no dropout: the same every time.
  EXPECT_EQ(a.evaluate(data.images.data(), data.labels.data(), 16).loss,
            b.evaluate(data.images.data(), data.labels.data(), 16).loss);
}

TEST(Model, Bf16ForwardTracksFp32) {
  const MnistSamples& data = train_samples();
  Model fp32(seed_with(proto::PRECISION_FP32), 4);
  Model bf16(seed_with(proto::PRECISION_BF16), 4);
  // Train the fp32 model a little so that the logits are meaningful, then share its weights.
  Trainer trainer(fp32, adam(), constant(1e-3));
  for (int step = 0; step < 10; ++step) {
    trainer.step(data.images.data() + step % 2 * 64 * 784, data.labels.data() + step % 2 * 64, 64);
  }
  bf16.load_state_tensors(fp32.state_tensors());
  const int n = 128;
  std::vector<float> expected(n * 10), actual(n * 10);
  fp32.predict_logits(data.images.data() + 128 * 784, n, expected.data());
  bf16.predict_logits(data.images.data() + 128 * 784, n, actual.data());
  double scale = 0, worst = 0;
  int agree = 0;
  for (int i = 0; i < n; ++i) {
    const float* e = expected.data() + i * 10;
    const float* a = actual.data() + i * 10;
    for (int c = 0; c < 10; ++c) {
      scale = std::max(scale, std::abs(double{e[c]}));
      worst = std::max(worst, std::abs(double{e[c]} - a[c]));
    }
    agree += std::max_element(e, e + 10) - e == std::max_element(a, a + 10) - a;
  }
  EXPECT_LT(worst, 0.05 * scale) << "largest logit " << scale;
  EXPECT_GE(agree, n - 3);
}

TEST(Model, Bf16TrainingLearns) {
  const MnistSamples& data = train_samples();
  Model model(seed_with(proto::PRECISION_BF16), 2);
  Trainer trainer(model, adam(), constant(1e-3));
  const double before = model.evaluate(data.images.data(), data.labels.data(), 32).loss;
  for (int step = 0; step < 25; ++step) trainer.step(data.images.data(), data.labels.data(), 32);
  const StepResult after = model.evaluate(data.images.data(), data.labels.data(), 32);
  EXPECT_LT(after.loss, before * 0.2);
  EXPECT_GE(after.correct, 31);
}

TEST(Model, InferenceDoesNotDependOnBatchSize) {
  const MnistSamples& data = train_samples();
  Model model(seed_network_spec(), 8);
  std::vector<float> all(200 * 10), few(5 * 10);
  model.predict(data.images.data(), 200, all.data());  // one 200-image net
  model.predict(data.images.data() + 40 * 784, 5, few.data());
  for (int i = 0; i < 50; ++i) EXPECT_NEAR(all[40 * 10 + i], few[i], 1e-5);
  double sum = 0;
  for (int c = 0; c < 10; ++c) sum += all[c];
  EXPECT_NEAR(sum, 1.0, 1e-5);
  // evaluate() over more than one chunk agrees with predict().
  const StepResult result = model.evaluate(data.images.data(), data.labels.data(), 256 + 44);
  EXPECT_EQ(result.count, 300);
}

TEST(Model, GradientsDoNotDependOnWhichBatchSizesCameBefore) {
  // The first training network moves the weights into its preferred layout; a network compiled
  // later for another batch size must still read and write them correctly.
  const MnistSamples& data = train_samples();
  Model seasoned(seed_network_spec(), 12), fresh(seed_network_spec(), 12);
  seasoned.compute_gradients(data.images.data(), data.labels.data(), 64);
  seasoned.compute_gradients(data.images.data(), data.labels.data(), 40);
  fresh.compute_gradients(data.images.data(), data.labels.data(), 40);
  const auto a = seasoned.parameters(), b = fresh.parameters();
  for (size_t k = 0; k < a.size(); ++k) {
    const std::vector<float> ga = a[k]->logical(a[k]->grad), gb = b[k]->logical(b[k]->grad);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < ga.size(); ++i) {
      worst = std::max(worst, std::abs(double{ga[i]} - gb[i]));
      scale = std::max(scale, std::abs(double{gb[i]}));
    }
    EXPECT_LE(worst, 1e-4 * scale + 1e-7) << a[k]->name;
  }
  EXPECT_EQ(seasoned.state_tensors()[4].values, fresh.state_tensors()[4].values);
}

TEST(Model, DenseWeightsReadFlattenedInputsInNchwOrder) {
  // 2x3 images with 16 channels, an identity 1x1 convolution (its output uses a blocked layout),
  // then dense weights that number the inputs: logit 0 must be sum x[h][w][c] * (c*6 + h*3 + w).
  proto::ModelSpec spec;
  spec.mutable_input()->set_rows(2);
  spec.mutable_input()->set_cols(3);
  spec.mutable_input()->set_channels(16);
  proto::ConvSpec* conv = spec.add_layer()->mutable_conv();
  conv->set_filters(16);
  conv->set_kernel(1);
  spec.add_layer()->mutable_flatten();
  spec.add_layer()->mutable_dense()->set_units(2);
  for (proto::Precision precision : {proto::PRECISION_FP32, proto::PRECISION_BF16}) {
    spec.set_precision(precision);
    Model model(spec, 1);
    const auto params = model.parameters();  // conv weight, conv bias, dense weight, dense bias
    std::vector<float> identity(16 * 16, 0.0f);
    for (int c = 0; c < 16; ++c) identity[c * 16 + c] = 1.0f;
    params[0]->set_logical_values(identity);
    params[1]->set_logical_values(std::vector<float>(16, 0.0f));
    std::vector<float> numbering(2 * 96, 0.0f);
    for (int k = 0; k < 96; ++k) numbering[k] = static_cast<float>(k % 7);  // bf16-exact
    params[2]->set_logical_values(numbering);
    params[3]->set_logical_values({0.0f, 0.0f});
    std::vector<float> image(96);  // NHWC
    for (int i = 0; i < 96; ++i) image[i] = static_cast<float>((i * 5) % 3) - 1.0f;
    double expected = 0;
    for (int h = 0; h < 2; ++h) {
      for (int w = 0; w < 3; ++w) {
        for (int c = 0; c < 16; ++c)
          expected += image[(h * 3 + w) * 16 + c] * ((c * 6 + h * 3 + w) % 7);
      }
    }
    std::vector<float> logits(2);
    model.predict_logits(image.data(), 1, logits.data());
    EXPECT_NEAR(logits[0], expected, 1e-3)
        << (precision == proto::PRECISION_BF16 ? "bf16" : "fp32");
    EXPECT_NEAR(logits[1], 0.0, 1e-6);
  }
}

TEST(Model, StateTensorsRoundTripAndCheckShapes) {
  proto::ModelSpec spec = seed_network_spec();
  proto::LayerSpec bn;
  bn.mutable_batchnorm();
  spec.mutable_layer()->Add(std::move(bn));
  spec.mutable_layer()->SwapElements(8, 9);  // dense1, relu, bn, dense2
  spec.mutable_layer()->SwapElements(7, 8);
  Model a(spec, 1), b(spec, 2);
  std::vector<Tensor> state = a.state_tensors();
  EXPECT_NE(find_tensor(state, "bn1.running_var"), nullptr);
  b.load_state_tensors(state);
  const MnistSamples& data = train_samples();
  EXPECT_EQ(a.evaluate(data.images.data(), data.labels.data(), 32).loss,
            b.evaluate(data.images.data(), data.labels.data(), 32).loss);

  std::vector<Tensor> bad = state;
  bad[2].shape = {64, 32, 3, 2};
  try {
    b.load_state_tensors(bad);
    FAIL() << "a misshapen tensor was accepted";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("conv2.weight"), std::string::npos) << error.what();
  }
  bad = state;
  bad.pop_back();
  EXPECT_THROW(b.load_state_tensors(bad), std::invalid_argument);
}

TEST(Model, BadLabelsAndBatchesAreReported) {
  const MnistSamples& data = train_samples();
  Model model(seed_network_spec(), 1);
  std::vector<int32_t> labels(data.labels.begin(), data.labels.begin() + 8);
  labels[5] = 12;
  try {
    model.compute_gradients(data.images.data(), labels.data(), 8);
    FAIL() << "label 12 was accepted";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("sample 5"), std::string::npos) << error.what();
  }
  EXPECT_THROW(model.predict(data.images.data(), 0, nullptr), std::invalid_argument);
}

TEST(ModelSpec, ErrorsNameTheLayer) {
  proto::ModelSpec spec = seed_network_spec();
  spec.mutable_layer(2)->mutable_conv()->set_kernel(30);
  try {
    resolve_model(spec);
    FAIL() << "a 30x30 kernel on a 26x26 input was accepted";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("layer 3 (conv2)"), std::string::npos) << error.what();
  }
  proto::ModelSpec no_dense = seed_network_spec();
  no_dense.mutable_layer()->RemoveLast();
  EXPECT_THROW(resolve_model(no_dense), std::invalid_argument);
  proto::ModelSpec no_input = seed_network_spec();
  no_input.mutable_input()->set_rows(0);
  EXPECT_THROW(resolve_model(no_input), std::invalid_argument);
  proto::ModelSpec dropout = seed_network_spec();
  dropout.mutable_layer(1)->mutable_dropout()->set_rate(1.0f);
  EXPECT_THROW(resolve_model(dropout), std::invalid_argument);
}

TEST(ModelSpec, SamePaddingAndStrides) {
  proto::ModelSpec spec;
  spec.mutable_input()->set_rows(28);
  spec.mutable_input()->set_cols(28);
  spec.mutable_input()->set_channels(1);
  proto::ConvSpec* same = spec.add_layer()->mutable_conv();
  same->set_filters(8);
  same->set_kernel(5);
  same->set_same(true);
  proto::ConvSpec* strided = spec.add_layer()->mutable_conv();
  strided->set_filters(8);
  strided->set_kernel(3);
  strided->set_stride(2);
  strided->set_pad(1);
  spec.add_layer()->mutable_dense()->set_units(10);
  const ResolvedModel model = resolve_model(spec);
  EXPECT_EQ(model.layers[0].out.to_string(), "28x28x8");
  EXPECT_EQ(model.layers[1].out.to_string(), "14x14x8");
  Model built(spec, 1);  // builds and runs
  std::vector<float> image(28 * 28, 0.5f), probabilities(10);
  built.predict(image.data(), 1, probabilities.data());
  EXPECT_NEAR(std::accumulate(probabilities.begin(), probabilities.end(), 0.0), 1.0, 1e-5);
}

}  // namespace
}  // namespace pipeline::cnn
