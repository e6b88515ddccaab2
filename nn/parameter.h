// A trainable tensor: fp32 master values and their gradient.
//
// `value` and `grad` are stored in the layout the training primitives read and write (for the seed
// network's dense1, oneDNN's blocked weight layout), so that a training step reorders no weights:
// optimizers update them element by element, which does not care about the order. A parameter
// starts in the plain row-major layout of `shape` and is moved once, when the first training
// network is compiled. Use logical_values() / set_logical_values() / to_tensor() to see or set the
// tensor in its logical row-major order (checkpoints, inspection).
#pragma once

#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <vector>

#include "nn/tensor.h"

namespace pipeline::cnn {

// Opaque description of a stored layout (defined in layers/parameter_layout.h).
class StoredLayout;

// 64-byte aligned storage: the primitives read and write parameters in place, and some of
// oneDNN's kernels (Winograd) use aligned vector loads on weights.
template <typename T>
struct AlignedAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlignment{64};
  AlignedAllocator() = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlignment)); }
  void deallocate(T* p, size_t) { ::operator delete(p, kAlignment); }
  template <typename U>
  bool operator==(const AlignedAllocator<U>&) const {
    return true;
  }
};
using AlignedFloats = std::vector<float, AlignedAllocator<float>>;

struct Parameter {
  std::string name;            // "conv2.weight", "dense1.bias", "bn1.gamma"
  std::vector<int64_t> shape;  // logical: conv OIHW; dense (units, inputs); vectors (n)
  AlignedFloats value;         // stored layout (may include zero padding)
  AlignedFloats grad;          // d(mean batch loss)/d(value), same layout, written by backward
  bool decays = true;          // weight decay applies (kernels) or not (biases, batch-norm)
  uint64_t version = 0;        // bump after every change of `value`

  // The stored layout; null = row-major over `shape`. layout_version counts layout changes.
  std::shared_ptr<const StoredLayout> layout;
  uint64_t layout_version = 0;

  // Elements of the logical tensor (the stored arrays may be longer: zero padding).
  int64_t size() const { return element_count(shape); }
  int64_t stored_size() const { return static_cast<int64_t>(value.size()); }

  // An array stored like `value` (value, grad, optimizer state), in row-major order over shape.
  std::vector<float> logical(std::span<const float> stored) const;
  // The inverse: a row-major array over shape in the stored layout (padding zero).
  AlignedFloats stored(std::span<const float> logical) const;

  std::vector<float> logical_values() const { return logical(value); }
  // Replaces the values (row-major over shape) and bumps `version`.
  void set_logical_values(const std::vector<float>& values);
  Tensor to_tensor() const { return Tensor{name, shape, logical_values()}; }
};

// Converts between a layout and row-major order (null layout = row-major).
std::vector<float> to_logical(const StoredLayout* layout, std::span<const float> stored,
                              int64_t logical_size);
AlignedFloats to_stored(const StoredLayout* layout, std::span<const float> logical);

}  // namespace pipeline::cnn
