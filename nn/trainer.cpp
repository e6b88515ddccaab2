#include "nn/trainer.h"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <span>
#include <vector>

namespace pipeline::cnn {
namespace {

// The counters that travel after the gradients in each reduction: images, loss x images,
// correct, ranks still holding data. Floats are exact for counts below 2^24.
constexpr size_t kCounters = 4;

}  // namespace

Trainer::Trainer(Model& model, const proto::OptimizerSpec& optimizer,
                 const proto::ScheduleSpec& schedule)
    : model_(model),
      optimizer_(Optimizer::create(optimizer, model.parameters())),
      schedule_(schedule) {}

StepResult Trainer::step(const float* images, const int32_t* labels, int64_t n) {
  if (!reducer_) return model_.train_step(images, labels, n, *optimizer_, learning_rate());
  bool any_active = true;
  return reduced_step(images, labels, n, /*active=*/true, &any_active);
}

std::vector<StepResult> Trainer::finish_epoch() {
  std::vector<StepResult> joined;
  if (!reducer_) return joined;
  while (true) {
    bool any_active = false;
    const StepResult result = reduced_step(nullptr, nullptr, 0, /*active=*/false, &any_active);
    if (!any_active) return joined;
    joined.push_back(result);
  }
}

// Each rank's gradient is d(mean of its n losses)/dw; times n it is the sum over its images, so
// the summed buffer divided by the global count is the global batch's mean gradient — what one
// process computes for the whole batch, up to the order of the float additions.
StepResult Trainer::reduced_step(const float* images, const int32_t* labels, int64_t n, bool active,
                                 bool* any_active) {
  const std::vector<Parameter*> parameters = model_.parameters();
  StepResult local;
  if (n > 0) local = model_.compute_gradients(images, labels, n);
  // The buffer holds every gradient in logical (row-major) order: a parameter's stored layout
  // depends on the batch sizes its process has compiled networks for (a rank whose last batch
  // was smaller may have moved a weight to another layout), so stored orders can differ between
  // ranks while logical ones cannot.
  size_t total = kCounters;
  for (const Parameter* parameter : parameters) total += static_cast<size_t>(parameter->size());
  buffer_.resize(total);
  size_t offset = 0;
  const auto weight = static_cast<float>(n);
  for (const Parameter* parameter : parameters) {
    float* out = buffer_.data() + offset;
    const auto size = static_cast<size_t>(parameter->size());
    if (n == 0) {
      std::fill_n(out, size, 0.0f);
    } else if (parameter->layout) {
      const std::vector<float> logical = parameter->logical(parameter->grad);
      std::transform(logical.begin(), logical.end(), out, [weight](float g) { return g * weight; });
    } else {
      std::transform(parameter->grad.begin(),
                     parameter->grad.begin() + static_cast<ptrdiff_t>(size), out,
                     [weight](float g) { return g * weight; });
    }
    offset += size;
  }
  float* counters = buffer_.data() + offset;
  counters[0] = weight;
  counters[1] = static_cast<float>(local.loss * static_cast<double>(n));
  counters[2] = static_cast<float>(local.correct);
  counters[3] = active ? 1.0f : 0.0f;

  const auto start = std::chrono::steady_clock::now();
  reducer_->sum(buffer_);
  reduce_seconds_ +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++reductions_;

  *any_active = counters[3] > 0;
  StepResult global;
  global.count = static_cast<int64_t>(counters[0]);
  if (global.count == 0) return global;  // every rank had reached the end: no update
  global.loss = static_cast<double>(counters[1]) / static_cast<double>(global.count);
  global.correct = static_cast<int64_t>(counters[2]);
  const float scale = 1.0f / static_cast<float>(global.count);
  offset = 0;
  for (Parameter* parameter : parameters) {
    const auto size = static_cast<size_t>(parameter->size());
    const std::span<float> summed(buffer_.data() + offset, size);
    for (float& g : summed) g *= scale;
    if (parameter->layout) {
      // Copied into place: the primitives hold pointers into grad.
      const AlignedFloats stored = parameter->stored(summed);
      std::copy(stored.begin(), stored.end(), parameter->grad.begin());
    } else {
      std::copy(summed.begin(), summed.end(), parameter->grad.begin());
    }
    offset += size;
  }
  optimizer_->step(learning_rate());
  model_.set_step(model_.step() + 1);
  return global;
}

}  // namespace pipeline::cnn
