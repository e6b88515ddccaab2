#include "nn/optimizer.h"

#include <cmath>
#include <stdexcept>

namespace pipeline::cnn {
namespace {

// Update loops parallelise only for tensors big enough to pay for a thread team.
constexpr int64_t kParallelThreshold = 1 << 16;

void check_range(const char* what, double value, double low, double high, bool low_open = false) {
  const bool above = low_open ? value > low : value >= low;
  if (!above || !(value < high)) {
    throw std::invalid_argument(std::string("optimizer ") + what + " must be in " +
                                (low_open ? "(" : "[") + std::to_string(low) + ", " +
                                std::to_string(high) + "), got " + std::to_string(value));
  }
}

class Sgd final : public Optimizer {
 public:
  Sgd(const proto::OptimizerSpec& spec, std::vector<Parameter*> parameters)
      : Optimizer(spec, std::move(parameters),
                  spec.sgd().momentum() != 0 ? std::vector<std::string>{"momentum"}
                                             : std::vector<std::string>{}),
        momentum_(spec.sgd().momentum()),
        nesterov_(spec.sgd().nesterov()),
        decay_(spec.sgd().weight_decay()) {}

 private:
  // g = grad + wd*w; buf = momentum*buf + g; step = nesterov ? g + momentum*buf : buf.
  void update(Parameter& p, std::vector<AlignedFloats>& slots, double lr, int64_t) override {
    const float rate = static_cast<float>(lr), momentum = momentum_;
    const float decay = p.decays ? decay_ : 0.0f;
    float* w = p.value.data();
    const float* grad = p.grad.data();
    const int64_t size = p.stored_size();
    if (slots.empty()) {
#pragma omp parallel for simd if (size > kParallelThreshold)
      for (int64_t i = 0; i < size; ++i) w[i] -= rate * (grad[i] + decay * w[i]);
      return;
    }
    float* buffer = slots[0].data();
    const bool nesterov = nesterov_;
#pragma omp parallel for simd if (size > kParallelThreshold)
    for (int64_t i = 0; i < size; ++i) {
      const float g = grad[i] + decay * w[i];
      buffer[i] = momentum * buffer[i] + g;
      w[i] -= rate * (nesterov ? g + momentum * buffer[i] : buffer[i]);
    }
  }

  float momentum_;
  bool nesterov_;
  float decay_;
};

class Adam final : public Optimizer {
 public:
  Adam(const proto::OptimizerSpec& spec, const proto::AdamSpec& adam,
       std::vector<Parameter*> parameters, bool decoupled)
      : Optimizer(spec, std::move(parameters), {"m", "v"}),
        beta1_(adam.has_beta1() ? adam.beta1() : 0.9f),
        beta2_(adam.has_beta2() ? adam.beta2() : 0.999f),
        epsilon_(adam.has_epsilon() ? adam.epsilon() : 1e-8f),
        decay_(adam.weight_decay()),
        decoupled_(decoupled) {
    check_range("beta1", beta1_, 0.0, 1.0);
    check_range("beta2", beta2_, 0.0, 1.0);
    check_range("epsilon", epsilon_, 0.0, 1.0, true);
  }

 private:
  // Adam: g = grad + wd*w.  AdamW: w *= 1 - lr*wd first, g = grad.
  // m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
  // w -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).
  void update(Parameter& p, std::vector<AlignedFloats>& slots, double lr, int64_t t) override {
    const float decay = p.decays ? decay_ : 0.0f;
    const float coupled = decoupled_ ? 0.0f : decay;
    const float shrink = decoupled_ ? static_cast<float>(1.0 - lr * decay) : 1.0f;
    const float step_size = static_cast<float>(lr / (1.0 - std::pow(beta1_, t)));
    const float inv_sqrt_correction =
        static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(beta2_, t)));
    const float b1 = beta1_, b2 = beta2_, eps = epsilon_;
    float* w = p.value.data();
    const float* grad = p.grad.data();
    float* m = slots[0].data();
    float* v = slots[1].data();
    const int64_t size = p.stored_size();
#pragma omp parallel for simd if (size > kParallelThreshold)
    for (int64_t i = 0; i < size; ++i) {
      const float g = grad[i] + coupled * w[i];
      m[i] = b1 * m[i] + (1.0f - b1) * g;
      v[i] = b2 * v[i] + (1.0f - b2) * g * g;
      w[i] = w[i] * shrink - step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_correction + eps);
    }
  }

  float beta1_, beta2_, epsilon_, decay_;
  bool decoupled_;
};

class Rmsprop final : public Optimizer {
 public:
  Rmsprop(const proto::OptimizerSpec& spec, std::vector<Parameter*> parameters)
      : Optimizer(spec, std::move(parameters),
                  spec.rmsprop().momentum() != 0
                      ? std::vector<std::string>{"square_avg", "momentum"}
                      : std::vector<std::string>{"square_avg"}),
        alpha_(spec.rmsprop().has_alpha() ? spec.rmsprop().alpha() : 0.99f),
        epsilon_(spec.rmsprop().has_epsilon() ? spec.rmsprop().epsilon() : 1e-8f),
        momentum_(spec.rmsprop().momentum()),
        decay_(spec.rmsprop().weight_decay()) {
    check_range("alpha", alpha_, 0.0, 1.0);
    check_range("epsilon", epsilon_, 0.0, 1.0, true);
  }

 private:
  // g = grad + wd*w; s = alpha*s + (1-alpha)*g^2; d = g / (sqrt(s) + eps);
  // with momentum: buf = momentum*buf + d, w -= lr*buf; else w -= lr*d.
  void update(Parameter& p, std::vector<AlignedFloats>& slots, double lr, int64_t) override {
    const float rate = static_cast<float>(lr), alpha = alpha_, eps = epsilon_;
    const float decay = p.decays ? decay_ : 0.0f, momentum = momentum_;
    float* w = p.value.data();
    const float* grad = p.grad.data();
    float* square = slots[0].data();
    float* buffer = slots.size() > 1 ? slots[1].data() : nullptr;
    const int64_t size = p.stored_size();
#pragma omp parallel for simd if (size > kParallelThreshold)
    for (int64_t i = 0; i < size; ++i) {
      const float g = grad[i] + decay * w[i];
      square[i] = alpha * square[i] + (1.0f - alpha) * g * g;
      const float direction = g / (std::sqrt(square[i]) + eps);
      if (buffer != nullptr) {
        buffer[i] = momentum * buffer[i] + direction;
        w[i] -= rate * buffer[i];
      } else {
        w[i] -= rate * direction;
      }
    }
  }

  float alpha_, epsilon_, momentum_, decay_;
};

}  // namespace

Optimizer::Optimizer(const proto::OptimizerSpec& spec, std::vector<Parameter*> parameters,
                     std::vector<std::string> slot_names)
    : spec_(spec), parameters_(std::move(parameters)), slot_names_(std::move(slot_names)) {
  for (const Parameter* parameter : parameters_) {
    slots_.emplace_back(slot_names_.size(), AlignedFloats(parameter->value.size(), 0.0f));
    slot_layouts_.push_back(parameter->layout);
    slot_layout_versions_.push_back(parameter->layout_version);
  }
}

void Optimizer::follow_layout_changes() {
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const Parameter& p = *parameters_[i];
    if (slot_layout_versions_[i] == p.layout_version) continue;
    for (AlignedFloats& slot : slots_[i]) {
      slot = to_stored(p.layout.get(),
                       to_logical(slot_layouts_[i].get(), slot, element_count(p.shape)));
    }
    slot_layouts_[i] = p.layout;
    slot_layout_versions_[i] = p.layout_version;
  }
}

std::unique_ptr<Optimizer> Optimizer::create(const proto::OptimizerSpec& spec,
                                             std::vector<Parameter*> parameters) {
  const auto non_negative = [](const char* what, float value) {
    if (!(value >= 0)) {
      throw std::invalid_argument(std::string("optimizer ") + what + " must not be negative");
    }
  };
  switch (spec.kind_case()) {
    case proto::OptimizerSpec::kSgd:
      check_range("momentum", spec.sgd().momentum(), 0.0, 1.0);
      non_negative("weight_decay", spec.sgd().weight_decay());
      if (spec.sgd().nesterov() && spec.sgd().momentum() == 0) {
        throw std::invalid_argument("optimizer nesterov needs a momentum above 0");
      }
      return std::unique_ptr<Optimizer>(new Sgd(spec, std::move(parameters)));
    case proto::OptimizerSpec::kAdam:
      non_negative("weight_decay", spec.adam().weight_decay());
      return std::unique_ptr<Optimizer>(new Adam(spec, spec.adam(), std::move(parameters), false));
    case proto::OptimizerSpec::kAdamw:
      non_negative("weight_decay", spec.adamw().weight_decay());
      return std::unique_ptr<Optimizer>(new Adam(spec, spec.adamw(), std::move(parameters), true));
    case proto::OptimizerSpec::kRmsprop:
      check_range("momentum", spec.rmsprop().momentum(), 0.0, 1.0);
      non_negative("weight_decay", spec.rmsprop().weight_decay());
      return std::unique_ptr<Optimizer>(new Rmsprop(spec, std::move(parameters)));
    case proto::OptimizerSpec::KIND_NOT_SET:
      break;
  }
  throw std::invalid_argument("optimizer kind not set (sgd, adam, adamw, rmsprop)");
}

void Optimizer::step(double learning_rate) {
  if (!(learning_rate >= 0) || !std::isfinite(learning_rate)) {
    throw std::invalid_argument("learning rate must be a finite non-negative number, got " +
                                std::to_string(learning_rate));
  }
  follow_layout_changes();
  ++steps_;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    update(*parameters_[i], slots_[i], learning_rate, steps_);
    ++parameters_[i]->version;
  }
}

std::string Optimizer::kind() const {
  switch (spec_.kind_case()) {
    case proto::OptimizerSpec::kSgd:
      return "sgd";
    case proto::OptimizerSpec::kAdam:
      return "adam";
    case proto::OptimizerSpec::kAdamw:
      return "adamw";
    case proto::OptimizerSpec::kRmsprop:
      return "rmsprop";
    case proto::OptimizerSpec::KIND_NOT_SET:
      break;
  }
  return "none";
}

OptimizerState Optimizer::state() const {
  OptimizerState state;
  state.steps = steps_;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    for (size_t k = 0; k < slot_names_.size(); ++k) {
      const Parameter& p = *parameters_[i];
      state.slots.push_back(
          Tensor{p.name + "/" + slot_names_[k], p.shape,
                 to_logical(slot_layouts_[i].get(), slots_[i][k], element_count(p.shape))});
    }
  }
  return state;
}

void Optimizer::load_state(const OptimizerState& state) {
  if (state.steps < 0) throw std::invalid_argument("optimizer step count is negative");
  for (size_t i = 0; i < parameters_.size(); ++i) {
    for (const std::string& slot : slot_names_) {
      const std::string name = parameters_[i]->name + "/" + slot;
      const Tensor* tensor = find_tensor(state.slots, name);
      if (tensor == nullptr) {
        throw std::invalid_argument(kind() + " optimizer state \"" + name + "\" is missing");
      }
      check_tensor_shape(*tensor, parameters_[i]->shape);
    }
  }
  if (state.slots.size() != parameters_.size() * slot_names_.size()) {
    throw std::invalid_argument(kind() + " optimizer state has " +
                                std::to_string(state.slots.size()) + " tensors, expected " +
                                std::to_string(parameters_.size() * slot_names_.size()));
  }
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const Parameter& p = *parameters_[i];
    for (size_t k = 0; k < slot_names_.size(); ++k) {
      slots_[i][k] = p.stored(find_tensor(state.slots, p.name + "/" + slot_names_[k])->values);
    }
    slot_layouts_[i] = p.layout;
    slot_layout_versions_[i] = p.layout_version;
  }
  steps_ = state.steps;
}

}  // namespace pipeline::cnn
