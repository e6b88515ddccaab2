// int8 inference (post-training quantization) of a trained fp32 model.
//
//   proto::CalibrationData calibration =
//       int8::Calibrate(spec, tensors, images, 2000, "train-images-idx3-ubyte.gz");
//   int8::QuantizedModel model(spec, tensors, calibration);
//   model.predict(images, n, probabilities);  // n x classes softmax, like Model::predict
//
// Batch norms are folded into the conv/dense before them, weights become s8 with one scale per
// output channel (from the weights alone), activations u8 after a ReLU and s8 where they can be
// negative (the normalized image); the logits stay fp32. Activation scales come from calibration:
// the fp32 folded network runs on sample images (normalized like the training data) and records
// the largest |value| of every quantized tensor (the "max" method: nothing saturates on the
// calibration images; on MNIST it kept accuracy within a few hundredths of a point of fp32).
//
// Inference only; not thread-safe (one thread at a time, like Model).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "checkpoint.pb.h"
#include "model.pb.h"
#include "nn/tensor.h"

namespace pipeline::cnn::int8 {

class InferenceNet;
struct InferencePlan;

// Runs the folded fp32 network on `count` NHWC normalized images and records the ranges.
// `source` names where the images came from (kept in the result). Throws std::invalid_argument
// when count < 1, an image value is not finite, or the model cannot run in int8 (naming the layer).
proto::CalibrationData Calibrate(const proto::ModelSpec& spec, const std::vector<Tensor>& tensors,
                                 const float* images, int64_t count, const std::string& source);

class QuantizedModel {
 public:
  // Throws std::invalid_argument when the model cannot run in int8 or `calibration` lacks a range
  // (or holds one that is not a positive finite number), naming the tensor.
  QuantizedModel(const proto::ModelSpec& spec, const std::vector<Tensor>& tensors,
                 const proto::CalibrationData& calibration);
  ~QuantizedModel();
  QuantizedModel(const QuantizedModel&) = delete;
  QuantizedModel& operator=(const QuantizedModel&) = delete;

  int64_t classes() const;
  int64_t input_elements() const;  // per image

  // Raw scores (n x classes) and softmax probabilities; any n, run in chunks of kChunk.
  void predict_logits(const float* images, int64_t n, float* logits);
  void predict(const float* images, int64_t n, float* probabilities);

  // The oneDNN implementation of each primitive at this batch size, one line each.
  std::string implementations(int64_t batch);

  static constexpr int64_t kChunk = 256;

 private:
  InferenceNet& net(int64_t batch);

  std::unique_ptr<InferencePlan> plan_;
  std::map<std::string, float> ranges_;
  struct Runtime;
  std::unique_ptr<Runtime> runtime_;
  std::map<int64_t, std::unique_ptr<InferenceNet>> nets_;
};

}  // namespace pipeline::cnn::int8
