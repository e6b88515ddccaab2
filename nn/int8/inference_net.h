// Internal: an InferencePlan compiled into oneDNN primitives for one batch size, in one of two
// precisions. kInt8: s8 weights with per-output-channel scales, u8 activations after a ReLU (s8
// where they can be negative: the normalized image), s32 accumulation, fp32 logits; each
// activation's scale comes from its calibrated range. kFloat: the same folded network in fp32
// with plain layouts, so that calibration can read every calibrated tensor.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "nn/int8/inference_plan.h"

namespace pipeline::cnn::int8 {

enum class NetPrecision { kFloat, kInt8 };

class InferenceNet {
 public:
  // `ranges`: max |value| of every tensor CalibratedTensors() names (unused by kFloat).
  InferenceNet(const InferencePlan& plan, const std::map<std::string, float>& ranges,
               NetPrecision precision, int64_t batch, const dnnl::engine& engine);

  // Runs `batch` NHWC fp32 normalized images (read, never written).
  void forward(const float* images, dnnl::stream& stream);
  const float* logits() const;  // batch x classes, row-major

  // kFloat: the plain fp32 values of each calibrated tensor except the input, after forward().
  const std::map<std::string, dnnl::memory>& observed() const { return observed_; }

  // One line per primitive: its layer and the oneDNN implementation chosen.
  std::string implementations() const { return implementations_; }

 private:
  struct Step {
    dnnl::primitive primitive;
    std::unordered_map<int, dnnl::memory> args;
    std::function<void()> host;  // instead of the primitive
  };
  // The current activation as the next layer must read it: converted (and in int8 quantized) into
  // `wanted` when needed.
  dnnl::memory Input(const dnnl::memory::desc& wanted);
  void AddWeighted(const PlanStep& step, const std::map<std::string, float>& ranges);
  void AddPool(const PlanStep& step);

  NetPrecision precision_;
  int64_t batch_;
  dnnl::engine engine_;
  dnnl::memory images_;
  dnnl::memory current_;  // the last step's output
  // int value = real value * current_scale_; quantization of the fp32 input is deferred to the
  // first layer that wants int8 (a pool before it runs in fp32).
  float current_scale_ = 1.0f;
  std::vector<Step> steps_;
  std::map<std::string, dnnl::memory> observed_;
  std::string implementations_;
};

}  // namespace pipeline::cnn::int8
