// Central-difference gradient checks, fp32, on small networks: every layer kind sits upstream of
// a parameterised layer, so its backward-data path is checked as well as the parameter grads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "nn/model.h"
#include "nn/random.h"

namespace pipeline::cnn {
namespace {

proto::LayerSpec conv(int filters, int kernel, int stride = 1, int pad = 0,
                      proto::ConvAlgorithm algorithm = proto::CONV_ALGORITHM_DIRECT) {
  proto::LayerSpec layer;
  proto::ConvSpec* c = layer.mutable_conv();
  c->set_filters(filters);
  c->set_kernel(kernel);
  c->set_stride(stride);
  c->set_pad(pad);
  c->set_algorithm(algorithm);
  return layer;
}

proto::LayerSpec dense(int units) {
  proto::LayerSpec layer;
  layer.mutable_dense()->set_units(units);
  return layer;
}

proto::LayerSpec simple(proto::LayerSpec::KindCase kind) {
  proto::LayerSpec layer;
  switch (kind) {
    case proto::LayerSpec::kRelu:
      layer.mutable_relu();
      break;
    case proto::LayerSpec::kFlatten:
      layer.mutable_flatten();
      break;
    case proto::LayerSpec::kBatchnorm:
      layer.mutable_batchnorm();
      break;
    default:
      break;
  }
  return layer;
}

proto::LayerSpec pool(proto::PoolKind kind, int size = 2, int stride = 0) {
  proto::LayerSpec layer;
  layer.mutable_pool()->set_kind(kind);
  layer.mutable_pool()->set_size(size);
  layer.mutable_pool()->set_stride(stride);
  return layer;
}

proto::LayerSpec dropout(float rate) {
  proto::LayerSpec layer;
  layer.mutable_dropout()->set_rate(rate);
  return layer;
}

proto::ModelSpec network(int rows, int cols, int channels,
                         std::initializer_list<proto::LayerSpec> layers) {
  proto::ModelSpec spec;
  spec.mutable_input()->set_rows(rows);
  spec.mutable_input()->set_cols(cols);
  spec.mutable_input()->set_channels(channels);
  for (const auto& layer : layers) *spec.add_layer() = layer;
  return spec;
}

const auto kRelu = proto::LayerSpec::kRelu;
const auto kFlatten = proto::LayerSpec::kFlatten;
const auto kBatchnorm = proto::LayerSpec::kBatchnorm;

// (L(w+h) - L(w-h)) / 2h for element i of p.
double numeric_gradient(Model& model, Parameter& p, int64_t i, double step,
                        const std::vector<float>& images, const std::vector<int32_t>& labels) {
  const int64_t batch = static_cast<int64_t>(labels.size());
  const float original = p.value[i];
  p.value[i] = original + static_cast<float>(step);
  ++p.version;
  const double up = model.training_loss(images.data(), labels.data(), batch).loss;
  p.value[i] = original - static_cast<float>(step);
  ++p.version;
  const double down = model.training_loss(images.data(), labels.data(), batch).loss;
  p.value[i] = original;
  ++p.version;
  return (up - down) / (2 * step);
}

bool close(double numeric, double backprop, double tolerance) {
  return std::abs(numeric - backprop) <= 2e-4 + tolerance * std::abs(backprop);
}

// Compares backprop with central differences for a sample of every parameter's elements. The
// layers run in fp32, so the step cannot be tiny; but a step can carry a ReLU or max-pool input
// across its kink, so a mismatch is double-checked with a step 8x smaller before it counts.
void check_gradients(const proto::ModelSpec& spec, int batch = 3, double tolerance = 2e-2) {
  Model model(spec, 7);
  RandomStream random(11);
  std::vector<float> images(batch * model.input_elements());
  for (float& x : images) x = static_cast<float>(2 * random.uniform() - 1);
  std::vector<int32_t> labels(batch);
  for (int32_t& label : labels) label = static_cast<int32_t>(random.next() % model.classes());

  model.compute_gradients(images.data(), labels.data(), batch);
  std::vector<std::vector<float>> analytic;
  for (Parameter* p : model.parameters()) analytic.emplace_back(p->grad.begin(), p->grad.end());

  int checked = 0;
  const auto params = model.parameters();
  for (size_t k = 0; k < params.size(); ++k) {
    Parameter& p = *params[k];
    // Indices into the stored arrays (layout-agnostic: value and grad share the layout).
    const int64_t stored = p.stored_size();
    const int64_t samples = std::min<int64_t>(stored, 12);
    for (int64_t s = 0; s < samples; ++s) {
      const int64_t i = stored <= 12 ? s : static_cast<int64_t>(random.next() % stored);
      const double backprop = analytic[k][i];
      double numeric = numeric_gradient(model, p, i, 2e-3, images, labels);
      if (!close(numeric, backprop, tolerance)) {
        numeric = numeric_gradient(model, p, i, 2.5e-4, images, labels);
      }
      EXPECT_TRUE(close(numeric, backprop, tolerance))
          << p.name << "[" << i << "]: numeric " << numeric << " vs backprop " << backprop;
      ++checked;
    }
  }
  EXPECT_GT(checked, 0);
}

TEST(GradientCheck, ConvolutionWithStrideAndPadding) {
  check_gradients(network(7, 7, 2, {conv(4, 3, 2, 1), simple(kFlatten), dense(3)}));
}

TEST(GradientCheck, ConvolutionChainWithFusedRelu) {
  check_gradients(network(
      8, 8, 1, {conv(4, 3), simple(kRelu), conv(5, 3), simple(kRelu), simple(kFlatten), dense(3)}));
}

TEST(GradientCheck, WinogradConvolution) {
  const proto::ModelSpec spec = network(
      6, 6, 16, {conv(16, 3, 1, 1, proto::CONV_ALGORITHM_WINOGRAD), simple(kFlatten), dense(3)});
  Model probe(spec, 1);
  try {
    probe.implementations(3, true);
  } catch (const std::invalid_argument& error) {
    GTEST_SKIP() << "this CPU has no Winograd kernel: " << error.what();
  }
  EXPECT_NE(probe.implementations(3, true).find("wino"), std::string::npos);
  check_gradients(spec);
}

TEST(GradientCheck, MaxPoolAfterFusedRelu) {
  check_gradients(network(8, 8, 1,
                          {conv(4, 3), simple(kRelu), conv(4, 3), simple(kRelu),
                           pool(proto::POOL_MAX), simple(kFlatten), dense(3)}));
}

TEST(GradientCheck, MaxPoolTrainsWithoutAWorkspace) {
  // The seed network's pool: forward by oneDNN's inference kernel, backward by our routine.
  Model model(
      network(8, 8, 1,
              {conv(16, 3), simple(kRelu), pool(proto::POOL_MAX), simple(kFlatten), dense(3)}),
      1);
  EXPECT_NE(model.implementations(4, true).find("max_pool_backward"), std::string::npos)
      << model.implementations(4, true);
}

TEST(GradientCheck, MaxPoolOverlappingThenRelu) {
  check_gradients(network(
      8, 8, 1,
      {conv(4, 3), pool(proto::POOL_MAX, 3, 1), simple(kRelu), simple(kFlatten), dense(3)}));
}

TEST(GradientCheck, AveragePool) {
  check_gradients(
      network(8, 8, 2, {conv(4, 3), pool(proto::POOL_AVG), simple(kFlatten), dense(3)}));
}

TEST(GradientCheck, DenseWithFusedRelu) {
  check_gradients(network(
      4, 4, 2, {simple(kFlatten), dense(8), simple(kRelu), dense(5), simple(kRelu), dense(3)}));
}

TEST(GradientCheck, DropoutKeepsItsMaskWithinAStep) {
  check_gradients(network(6, 6, 1,
                          {conv(4, 3), simple(kRelu), dropout(0.5f), simple(kFlatten), dense(6),
                           dropout(0.3f), dense(3)}));
}

TEST(GradientCheck, BatchNormOnChannelsAndFeatures) {
  check_gradients(network(6, 6, 2,
                          {conv(4, 3), simple(kBatchnorm), simple(kRelu), simple(kFlatten),
                           dense(6), simple(kBatchnorm), simple(kRelu), dense(3)}),
                  4);
}

// Batch norm + ReLU run as one primitive (fuse_norm_relu); a max pool after it, and a batch norm
// with no ReLU after it, run unfused.
TEST(GradientCheck, BatchNormFusedReluBeforeMaxPool) {
  check_gradients(network(8, 8, 1,
                          {conv(4, 3), simple(kBatchnorm), simple(kRelu), pool(proto::POOL_MAX),
                           conv(4, 3), simple(kBatchnorm), simple(kFlatten), dense(3)}),
                  4);
}

TEST(GradientCheck, FlattenBeforeANonDenseLayer) {
  check_gradients(network(6, 6, 2, {conv(16, 3), simple(kFlatten), simple(kRelu), dense(3)}));
}

TEST(GradientCheck, LossWithLabelSmoothing) {
  proto::ModelSpec spec = network(4, 4, 1, {simple(kFlatten), dense(6), simple(kRelu), dense(4)});
  spec.set_label_smoothing(0.2f);
  check_gradients(spec);
}

}  // namespace
}  // namespace pipeline::cnn
