// int8 inference against the fp32 model it was quantized from: a small batch-normalized network
// trained briefly on real MNIST digits, a model with every layer kind int8 runs (random weights),
// and the refusals of bad calibration input and of models int8 cannot run.
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "mnist_samples.h"
#include "nn/int8/quantized_model.h"
#include "nn/model.h"
#include "nn/trainer.h"

namespace pipeline::cnn {
namespace {

using testing::load_mnist;
using testing::MnistSamples;

// models/mnist_bn.pbtxt, narrower: batch norms to fold, a dropout between a norm and its ReLU.
constexpr char kSmallBn[] = R"pb(
  name: "small_bn"
  input { rows: 28 cols: 28 channels: 1 }
  layer {
    name: "conv1"
    conv { filters: 8 kernel: 3 no_bias: true }
  }
  layer {
    name: "bn1"
    batchnorm {}
  }
  layer { relu {} }
  layer { pool { size: 2 } }
  layer {
    name: "conv2"
    conv { filters: 16 kernel: 3 }
  }
  layer {
    name: "bn2"
    batchnorm {}
  }
  layer { relu {} }
  layer { pool { size: 2 } }
  layer { flatten {} }
  layer {
    name: "fc1"
    dense { units: 32 no_bias: true }
  }
  layer {
    name: "bn3"
    batchnorm {}
  }
  layer { dropout { rate: 0.2 } }
  layer { relu {} }
  layer {
    name: "fc2"
    dense { units: 10 }
  }
)pb";

// Padded convolutions, a strided one, average pooling with padding, a conv without ReLU (s8
// output), a dense layer reading an image, two input channels.
constexpr char kEveryKind[] = R"pb(
  name: "every_kind"
  input { rows: 12 cols: 12 channels: 2 }
  layer {
    name: "conv1"
    conv { filters: 16 kernel: 3 pad: 1 }
  }
  layer {
    name: "bn1"
    batchnorm { epsilon: 0.001 }
  }
  layer { relu {} }
  layer { pool { kind: POOL_AVG size: 2 pad: 1 } }
  layer {
    name: "conv2"
    conv { filters: 16 kernel: 3 stride: 2 no_bias: true }
  }
  layer { pool { size: 2 stride: 1 } }
  layer {
    name: "fc1"
    dense { units: 24 }
  }
  layer { relu {} }
  layer {
    name: "fc2"
    dense { units: 5 }
  }
)pb";

proto::ModelSpec Spec(const char* text) {
  proto::ModelSpec spec;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &spec));
  return spec;
}

const MnistSamples& Digits() {
  static const MnistSamples samples = load_mnist("train", 1024);
  return samples;
}

int64_t ArgMax(const float* row, int64_t n) { return std::max_element(row, row + n) - row; }

// Fraction of rows whose largest entry is at the same place.
double Agreement(const std::vector<float>& a, const std::vector<float>& b, int64_t classes) {
  const int64_t rows = static_cast<int64_t>(a.size()) / classes;
  int64_t same = 0;
  for (int64_t r = 0; r < rows; ++r) {
    same += ArgMax(a.data() + r * classes, classes) == ArgMax(b.data() + r * classes, classes);
  }
  return static_cast<double>(same) / static_cast<double>(rows);
}

// Largest |a - b| relative to the largest |b|.
double RelativeError(const std::vector<float>& a, const std::vector<float>& b) {
  double error = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    error = std::max(error, static_cast<double>(std::abs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::abs(b[i])));
  }
  return error / scale;
}

// The small network after 20 Adam steps on the first 640 digits (batch-norm statistics moved).
Model& TrainedSmallBn() {
  static Model* model = [] {
    auto* trained = new Model(Spec(kSmallBn), 7);
    proto::OptimizerSpec adam;
    adam.mutable_adam();
    proto::ScheduleSpec schedule;
    schedule.set_base_lr(2e-3f);
    Trainer trainer(*trained, adam, schedule);
    const MnistSamples& data = Digits();
    for (int step = 0; step < 20; ++step) {
      const int64_t first = (step % 10) * 64;
      trainer.step(data.images.data() + first * 784, data.labels.data() + first, 64);
    }
    return trained;
  }();
  return *model;
}

TEST(Int8, TracksFp32OnTrainedDigitNetwork) {
  Model& fp32 = TrainedSmallBn();
  const MnistSamples& data = Digits();
  // Calibrate on the first 512 digits, compare on the other 512 (and a batch size that is not a
  // multiple of the chunk: 300 + 212).
  const proto::CalibrationData calibration =
      int8::Calibrate(fp32.spec(), fp32.state_tensors(), data.images.data(), 512, "train");
  EXPECT_EQ(calibration.method(), "max");
  EXPECT_EQ(calibration.images(), 512);
  ASSERT_EQ(calibration.ranges_size(), 4);  // input, conv1, conv2, fc1
  int8::QuantizedModel int8(fp32.spec(), fp32.state_tensors(), calibration);
  const float* held_out = data.images.data() + 512 * 784;
  std::vector<float> expected(512 * 10), actual(512 * 10);
  fp32.predict_logits(held_out, 512, expected.data());
  int8.predict_logits(held_out, 300, actual.data());
  int8.predict_logits(held_out + 300 * 784, 212, actual.data() + 300 * 10);
  const double agreement = Agreement(actual, expected, 10);
  const double error = RelativeError(actual, expected);
  std::printf("int8 vs fp32 on 512 digits: top-1 agreement %.4f, max logit error %.4f of range\n",
              agreement, error);
  EXPECT_GE(agreement, 0.98);
  EXPECT_LT(error, 0.08);
  std::printf("%s", int8.implementations(256).c_str());
}

TEST(Int8, TracksFp32OnEveryLayerKind) {
  const proto::ModelSpec spec = Spec(kEveryKind);
  Model fp32(spec, 3);
  // Give the norm statistics that are not the identity, so that folding matters.
  std::vector<Tensor> tensors = fp32.state_tensors();
  for (Tensor& tensor : tensors) {
    if (tensor.name == "bn1.running_var") std::fill(tensor.values.begin(), tensor.values.end(), 4);
    if (tensor.name == "bn1.running_mean") {
      for (size_t i = 0; i < tensor.values.size(); ++i) tensor.values[i] = 0.1f * i;
    }
  }
  fp32.load_state_tensors(tensors);
  std::mt19937 random(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> images(200 * 12 * 12 * 2);
  for (float& value : images) value = normal(random);
  const proto::CalibrationData calibration =
      int8::Calibrate(spec, tensors, images.data(), 200, "random");
  int8::QuantizedModel int8(spec, tensors, calibration);
  std::vector<float> expected(200 * 5), actual(200 * 5);
  fp32.predict(images.data(), 200, expected.data());
  int8.predict(images.data(), 200, actual.data());
  double largest = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    largest = std::max(largest, static_cast<double>(std::abs(actual[i] - expected[i])));
  }
  EXPECT_LT(largest, 0.05) << "probabilities differ";
  EXPECT_GE(Agreement(actual, expected, 5), 0.9);
}

TEST(Int8, RefusesBadCalibrationInput) {
  Model& fp32 = TrainedSmallBn();
  const std::vector<Tensor> tensors = fp32.state_tensors();
  std::vector<float> images(Digits().images.begin(), Digits().images.begin() + 4 * 784);
  EXPECT_THROW(int8::Calibrate(fp32.spec(), tensors, images.data(), 0, "none"),
               std::invalid_argument);
  images[2 * 784 + 5] = std::numeric_limits<float>::quiet_NaN();
  try {
    int8::Calibrate(fp32.spec(), tensors, images.data(), 4, "bad.idx");
    FAIL() << "a NaN pixel was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("image 2 of bad.idx"), std::string::npos) << e.what();
  }

  proto::CalibrationData calibration =
      int8::Calibrate(fp32.spec(), tensors, Digits().images.data(), 16, "train");
  proto::CalibrationData missing = calibration;
  missing.mutable_ranges()->RemoveLast();
  try {
    int8::QuantizedModel model(fp32.spec(), tensors, missing);
    FAIL() << "a calibration without fc1's range was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("fc1"), std::string::npos) << e.what();
  }
  proto::CalibrationData negative = calibration;
  negative.mutable_ranges(1)->set_max_abs(-2.0f);
  EXPECT_THROW(int8::QuantizedModel(fp32.spec(), tensors, negative), std::invalid_argument);
}

TEST(Int8, RefusesLayersItCannotFold) {
  // A batch norm after a pool has no conv/dense to fold into.
  const proto::ModelSpec spec = Spec(R"pb(
    input { rows: 8 cols: 8 channels: 1 }
    layer {
      name: "conv1"
      conv { filters: 4 kernel: 3 }
    }
    layer { pool { size: 2 } }
    layer {
      name: "late_bn"
      batchnorm {}
    }
    layer { dense { units: 3 } }
  )pb");
  Model fp32(spec, 1);
  std::vector<float> images(8 * 8, 0.5f);
  try {
    int8::Calibrate(spec, fp32.state_tensors(), images.data(), 1, "x");
    FAIL() << "an unfoldable batch norm was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("late_bn"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace pipeline::cnn
