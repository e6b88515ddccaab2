#include "nn/int8/quantized_model.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "nn/int8/inference_net.h"
#include "nn/int8/inference_plan.h"
#include "nn/loss.h"

namespace pipeline::cnn::int8 {

struct QuantizedModel::Runtime {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};

namespace {

// Largest |value| of the first `count` floats.
float MaxAbs(const float* values, size_t count) {
  float largest = 0;
  for (size_t i = 0; i < count; ++i) largest = std::max(largest, std::abs(values[i]));
  return largest;
}

}  // namespace

proto::CalibrationData Calibrate(const proto::ModelSpec& spec, const std::vector<Tensor>& tensors,
                                 const float* images, int64_t count, const std::string& source) {
  if (count < 1) throw std::invalid_argument("int8 calibration needs at least one image");
  const InferencePlan plan = MakeInferencePlan(spec, tensors);
  const size_t per_image = static_cast<size_t>(plan.input.elements());
  const size_t values = per_image * static_cast<size_t>(count);
  for (size_t i = 0; i < values; ++i) {
    if (!std::isfinite(images[i])) {
      throw std::invalid_argument("int8 calibration: image " + std::to_string(i / per_image) +
                                  " of " + source + " has a value that is not finite");
    }
  }
  std::map<std::string, float> ranges{{kInputTensor, MaxAbs(images, values)}};
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  std::map<int64_t, std::unique_ptr<InferenceNet>> nets;  // the full chunk and the last one
  for (int64_t first = 0; first < count; first += QuantizedModel::kChunk) {
    const int64_t batch = std::min(QuantizedModel::kChunk, count - first);
    auto& net = nets[batch];
    if (!net)
      net = std::make_unique<InferenceNet>(plan, ranges, NetPrecision::kFloat, batch, engine);
    net->forward(images + static_cast<size_t>(first) * per_image, stream);
    for (const auto& [name, memory] : net->observed()) {
      const size_t size = memory.get_desc().get_size() / sizeof(float);
      const float seen = MaxAbs(static_cast<const float*>(memory.get_data_handle()), size);
      ranges[name] = std::max(ranges[name], seen);
    }
  }
  proto::CalibrationData calibration;
  calibration.set_method("max");
  calibration.set_images(count);
  calibration.set_source(source);
  for (const std::string& name : CalibratedTensors(plan)) {
    proto::TensorRange* range = calibration.add_ranges();
    range->set_tensor(name);
    // A tensor that stayed 0 on every image (a dead channel group) gets any positive range.
    range->set_max_abs(ranges[name] > 0 ? ranges[name] : 1.0f);
  }
  return calibration;
}

QuantizedModel::QuantizedModel(const proto::ModelSpec& spec, const std::vector<Tensor>& tensors,
                               const proto::CalibrationData& calibration)
    : plan_(std::make_unique<InferencePlan>(MakeInferencePlan(spec, tensors))),
      runtime_(std::make_unique<Runtime>()) {
  for (const proto::TensorRange& range : calibration.ranges()) {
    ranges_[range.tensor()] = range.max_abs();
  }
  for (const std::string& name : CalibratedTensors(*plan_)) {
    const auto found = ranges_.find(name);
    if (found == ranges_.end()) {
      throw std::invalid_argument("int8 calibration has no range for tensor " + name);
    }
    if (!std::isfinite(found->second) || !(found->second > 0)) {
      throw std::invalid_argument("int8 calibration range of tensor " + name + " is " +
                                  std::to_string(found->second) +
                                  "; it must be a positive finite number");
    }
  }
}

QuantizedModel::~QuantizedModel() = default;

int64_t QuantizedModel::classes() const { return plan_->classes; }
int64_t QuantizedModel::input_elements() const { return plan_->input.elements(); }

InferenceNet& QuantizedModel::net(int64_t batch) {
  auto& net = nets_[batch];
  if (!net) {
    net = std::make_unique<InferenceNet>(*plan_, ranges_, NetPrecision::kInt8, batch,
                                         runtime_->engine);
  }
  return *net;
}

void QuantizedModel::predict_logits(const float* images, int64_t n, float* logits) {
  if (n < 0 || (n > 0 && (images == nullptr || logits == nullptr))) {
    throw std::invalid_argument("int8 predict: bad batch");
  }
  for (int64_t first = 0; first < n; first += kChunk) {
    const int64_t count = std::min(kChunk, n - first);
    InferenceNet& chunk_net = net(count);
    chunk_net.forward(images + first * input_elements(), runtime_->stream);
    std::copy_n(chunk_net.logits(), count * classes(), logits + first * classes());
  }
}

void QuantizedModel::predict(const float* images, int64_t n, float* probabilities) {
  predict_logits(images, n, probabilities);
  softmax(probabilities, n, classes(), probabilities);
}

std::string QuantizedModel::implementations(int64_t batch) { return net(batch).implementations(); }

}  // namespace pipeline::cnn::int8
