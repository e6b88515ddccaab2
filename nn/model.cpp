#include "nn/model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include "nn/layers/layer_kind.h"
#include "nn/layers/net.h"
#include "nn/optimizer.h"
#include "nn/random.h"

namespace pipeline::cnn {

using Kind = proto::LayerSpec::KindCase;

struct Model::Runtime {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};

namespace {

// Whether the layer's output reaches a ReLU before the next layer with weights.
bool feeds_relu(const ResolvedModel& model, size_t index) {
  for (size_t i = index + 1; i < model.layers.size(); ++i) {
    const Kind kind = model.layers[i].spec.kind_case();
    if (kind == Kind::kRelu) return true;
    if (kind == Kind::kConv || kind == Kind::kDense) return false;
  }
  return false;
}

std::unique_ptr<Parameter> make_parameter(std::string name, std::vector<int64_t> shape,
                                          bool decays) {
  auto parameter = std::make_unique<Parameter>();
  parameter->name = std::move(name);
  parameter->shape = std::move(shape);
  parameter->value.assign(element_count(parameter->shape), 0.0f);
  parameter->grad.assign(parameter->value.size(), 0.0f);
  parameter->decays = decays;
  return parameter;
}

// He-normal (std sqrt(2 / fan_in)) before a ReLU, Glorot-uniform otherwise.
void initialise_kernel(Parameter& kernel, int64_t fan_in, int64_t fan_out, bool relu,
                       uint64_t seed) {
  RandomStream random(mix64(seed ^ hash_string(kernel.name)));
  if (relu) {
    const double deviation = std::sqrt(2.0 / static_cast<double>(fan_in));
    for (float& v : kernel.value) v = static_cast<float>(random.normal() * deviation);
  } else {
    const double limit = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
    for (float& v : kernel.value) v = static_cast<float>((2.0 * random.uniform() - 1.0) * limit);
  }
}

}  // namespace

Model::Model(const proto::ModelSpec& spec, uint64_t seed, Weights weights)
    : spec_(spec), resolved_(resolve_model(spec)), seed_(seed), runtime_(new Runtime) {
  initialise(weights);
}

Model::~Model() = default;

namespace {

// Model::initialise's ParameterFactory for one layer: trained parameters in order into
// `parameters`, buffers into `buffers`, kernels drawn from the model seed unless a checkpoint
// will fill them.
class LayerParameterFactory final : public ParameterFactory {
 public:
  LayerParameterFactory(const ResolvedModel& model, size_t index, uint64_t seed, bool draw,
                        std::vector<std::unique_ptr<Parameter>>& parameters,
                        std::vector<std::unique_ptr<Parameter>>& buffers)
      : model_(model),
        index_(index),
        seed_(seed),
        draw_(draw),
        parameters_(parameters),
        buffers_(buffers) {}

  Parameter* trained(const std::string& suffix, std::vector<int64_t> shape, bool decays) override {
    parameters_.push_back(make_parameter(name(suffix), std::move(shape), decays));
    return parameters_.back().get();
  }
  Parameter* buffer(const std::string& suffix, std::vector<int64_t> shape) override {
    buffers_.push_back(make_parameter(name(suffix), std::move(shape), false));
    return buffers_.back().get();
  }
  void draw_kernel(Parameter& kernel, int64_t fan_in, int64_t fan_out) override {
    if (draw_) initialise_kernel(kernel, fan_in, fan_out, feeds_relu(model_, index_), seed_);
  }

 private:
  std::string name(const std::string& suffix) const {
    return model_.layers[index_].name + "." + suffix;
  }

  const ResolvedModel& model_;
  size_t index_;
  uint64_t seed_;
  bool draw_;
  std::vector<std::unique_ptr<Parameter>>& parameters_;
  std::vector<std::unique_ptr<Parameter>>& buffers_;
};

}  // namespace

void Model::initialise(Weights weights) {
  layer_parameters_.resize(resolved_.layers.size());
  for (size_t i = 0; i < resolved_.layers.size(); ++i) {
    LayerParameterFactory factory(resolved_, i, seed_, weights == Weights::kDrawn, parameters_,
                                  buffers_);
    const ResolvedLayer& layer = resolved_.layers[i];
    layer_kind_of(layer).add_parameters(layer, factory, layer_parameters_[i]);
  }
}

detail::Net& Model::net(int64_t batch, bool training) {
  const auto key = std::make_pair(batch, training);
  auto found = nets_.find(key);
  if (found != nets_.end()) return *found->second;
  if (nets_.size() >= 8) {  // odd batch sizes come and go; keep the cache bounded
    for (auto it = nets_.begin(); it != nets_.end();) {
      it = it->first.second ? std::next(it) : nets_.erase(it);
    }
  }
  detail::BuildContext context;
  context.engine = runtime_->engine;
  context.batch = batch;
  context.training = training;
  context.activation_type = bf16() ? detail::DataType::bf16 : detail::DataType::f32;
  context.dropout_seed = seed_;
  context.dropout_step = &step_;
  auto built = std::make_unique<detail::Net>(resolved_, layer_parameters_, context);
  return *nets_.emplace(key, std::move(built)).first->second;
}

void Model::check_batch(const float* images, int64_t n) const {
  if (n <= 0) throw std::invalid_argument("batch size must be positive, got " + std::to_string(n));
  if (images == nullptr) throw std::invalid_argument("no image data");
}

std::map<std::string, detail::ProfileEntry>* Model::active_profile() {
  if (!profiling_) return nullptr;
  if (!profile_) profile_ = std::make_unique<detail::Profile>();
  return profile_.get();
}

template <typename Work>
auto Model::timed(const char* label, Work&& work) {
  detail::Profile* profile = active_profile();
  if (profile == nullptr) return work();
  const auto start = std::chrono::steady_clock::now();
  const std::clock_t cpu = std::clock();
  auto result = work();
  detail::ProfileEntry& entry = (*profile)[label];
  ++entry.calls;
  entry.wall_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  entry.cpu_seconds += static_cast<double>(std::clock() - cpu) / CLOCKS_PER_SEC;
  return result;
}

StepResult Model::compute_gradients(const float* images, const int32_t* labels, int64_t n) {
  check_batch(images, n);
  detail::Net& training_net = net(n, true);
  training_net.forward(images, runtime_->stream, active_profile());
  const StepResult result = timed("loss softmax cross-entropy", [&] {
    return softmax_cross_entropy(training_net.logits(), labels, n, classes(),
                                 spec_.label_smoothing(), training_net.logits_diff());
  });
  training_net.backward(runtime_->stream, active_profile());
  return result;
}

StepResult Model::training_loss(const float* images, const int32_t* labels, int64_t n) {
  check_batch(images, n);
  detail::Net& training_net = net(n, true);
  training_net.forward(images, runtime_->stream, active_profile());
  return softmax_cross_entropy(training_net.logits(), labels, n, classes(), spec_.label_smoothing(),
                               nullptr);
}

StepResult Model::train_step(const float* images, const int32_t* labels, int64_t n,
                             Optimizer& optimizer, double learning_rate) {
  const StepResult result = compute_gradients(images, labels, n);
  timed("update optimizer", [&] {
    optimizer.step(learning_rate);
    return 0;
  });
  ++step_;
  return result;
}

std::string Model::profile_report() const {
  if (!profile_ || profile_->empty()) return "no profile (set_profiling(true), then run)\n";
  std::vector<std::pair<std::string, detail::ProfileEntry>> rows(profile_->begin(),
                                                                 profile_->end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a.second.wall_seconds > b.second.wall_seconds;
  });
  double total = 0;
  for (const auto& row : rows) total += row.second.wall_seconds;
  std::string text;
  char line[256];
  std::snprintf(line, sizeof(line), "%10s %6s %10s %10s  %s\n", "ms/call", "%", "cpu ms/call",
                "calls", "step");
  text += line;
  for (const auto& [label, entry] : rows) {
    std::snprintf(line, sizeof(line), "%10.3f %6.1f %10.3f %10lld  %s\n",
                  1e3 * entry.wall_seconds / entry.calls, 100 * entry.wall_seconds / total,
                  1e3 * entry.cpu_seconds / entry.calls, static_cast<long long>(entry.calls),
                  label.c_str());
    text += line;
  }
  return text;
}

void Model::reset_profile() { profile_.reset(); }

StepResult Model::evaluate(const float* images, const int32_t* labels, int64_t n) {
  check_batch(images, n);
  StepResult total;
  double loss_sum = 0;
  for (int64_t first = 0; first < n; first += kInferenceChunk) {
    const int64_t count = std::min(kInferenceChunk, n - first);
    detail::Net& inference_net = net(count, false);
    inference_net.forward(images + first * input_elements(), runtime_->stream, active_profile());
    StepResult chunk;
    try {
      chunk = softmax_cross_entropy(inference_net.logits(), labels + first, count, classes(),
                                    spec_.label_smoothing(), nullptr);
    } catch (const std::invalid_argument&) {
      for (int64_t i = first; i < first + count; ++i) {
        if (labels[i] < 0 || labels[i] >= classes()) {
          throw std::invalid_argument("sample " + std::to_string(i) + " has label " +
                                      std::to_string(labels[i]) + ", outside 0.." +
                                      std::to_string(classes() - 1));
        }
      }
      throw;
    }
    loss_sum += chunk.loss * count;
    total.correct += chunk.correct;
    total.count += count;
  }
  total.loss = loss_sum / static_cast<double>(total.count);
  return total;
}

void Model::predict_logits(const float* images, int64_t n, float* logits) {
  check_batch(images, n);
  for (int64_t first = 0; first < n; first += kInferenceChunk) {
    const int64_t count = std::min(kInferenceChunk, n - first);
    detail::Net& inference_net = net(count, false);
    inference_net.forward(images + first * input_elements(), runtime_->stream, active_profile());
    std::copy_n(inference_net.logits(), count * classes(), logits + first * classes());
  }
}

void Model::predict(const float* images, int64_t n, float* probabilities) {
  predict_logits(images, n, probabilities);
  softmax(probabilities, n, classes(), probabilities);
}

std::vector<Parameter*> Model::parameters() {
  std::vector<Parameter*> list;
  for (auto& parameter : parameters_) list.push_back(parameter.get());
  return list;
}

std::vector<Tensor> Model::state_tensors() const {
  std::vector<Tensor> tensors;
  for (const auto& parameter : parameters_) tensors.push_back(parameter->to_tensor());
  for (const auto& buffer : buffers_) tensors.push_back(buffer->to_tensor());
  return tensors;
}

void Model::load_state_tensors(const std::vector<Tensor>& tensors) {
  std::vector<Parameter*> all;
  for (auto& parameter : parameters_) all.push_back(parameter.get());
  for (auto& buffer : buffers_) all.push_back(buffer.get());
  // Check everything first so that a bad set leaves the model untouched.
  for (const Parameter* target : all) {
    const Tensor* source = find_tensor(tensors, target->name);
    if (source == nullptr) {
      throw std::invalid_argument("tensor \"" + target->name + "\" is missing");
    }
    check_tensor_shape(*source, target->shape);
  }
  for (const Tensor& tensor : tensors) {
    const bool known = std::any_of(all.begin(), all.end(),
                                   [&](const Parameter* p) { return p->name == tensor.name; });
    if (!known) {
      throw std::invalid_argument("tensor \"" + tensor.name + "\" is not part of this model");
    }
  }
  for (Parameter* target : all) {
    target->set_logical_values(find_tensor(tensors, target->name)->values);
  }
}

std::string Model::implementations(int64_t batch, bool training) {
  return net(batch, training).implementations();
}

}  // namespace pipeline::cnn
