// ModelSpec helpers: the default seed network, validation with messages that name the layer,
// and the resolved geometry (shapes, kernels, padding) of every layer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model.pb.h"

namespace pipeline::cnn {

// conv3x3*32 -> ReLU -> conv3x3*64 -> ReLU -> maxpool2 -> flatten -> dense128 -> ReLU -> dense10,
// valid padding (28 -> 26 -> 24 -> 12; 9216 -> 128 -> 10), for rows x cols x channels input.
proto::ModelSpec seed_network_spec(int rows = 28, int cols = 28, int channels = 1,
                                   int classes = 10);

// Activation shape after a layer: channels x rows x cols, or `features` when flat.
struct FeatureShape {
  int64_t channels = 0, rows = 0, cols = 0;
  bool flat = false;

  int64_t elements() const { return flat ? channels : channels * rows * cols; }
  // elements() in double, which cannot overflow: for the size checks of a spec not yet checked.
  double elements_in_double() const {
    return flat ? static_cast<double>(channels)
                : static_cast<double>(channels) * static_cast<double>(rows) *
                      static_cast<double>(cols);
  }
  std::string to_string() const;
};

struct Window {  // convolution / pooling geometry
  int64_t kernel_rows = 1, kernel_cols = 1;
  int64_t stride_rows = 1, stride_cols = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
};

struct ResolvedLayer {
  int index = 0;          // position in ModelSpec.layer
  std::string name;       // spec name or kind + ordinal ("conv2")
  proto::LayerSpec spec;  // copy, so a ResolvedLayer outlives the spec it came from
  FeatureShape in, out;
  Window window;                  // conv and pool
  bool followed_by_relu = false;  // He initialisation instead of Glorot
};

struct ResolvedModel {
  FeatureShape input;
  std::vector<ResolvedLayer> layers;
  int64_t classes = 0;  // units of the last (dense) layer
};

// Checks everything and computes every layer's shape; throws std::invalid_argument naming the
// layer ("model layer 3 (conv2): ...") on the first problem.
ResolvedModel resolve_model(const proto::ModelSpec& spec);

// One line per layer: "conv2  conv 3x3/1 64  26x26x32 -> 24x24x64", for logs and reports.
std::string describe_model(const ResolvedModel& model);

// The layer's kind and main sizes as `pipeline inspect` shows them: "conv 3x3 x32", "dense 10".
std::string describe_layer(const ResolvedLayer& layer);

// Forward multiply-adds * 2 per image (convolutions and dense layers), for benchmarks.
double forward_flops_per_image(const ResolvedModel& model);

}  // namespace pipeline::cnn
