// What convolution and pooling share when they resolve their spec: spec defaults, the checks
// that a window fits its (padded) input, the output size of a sliding window, and the window as
// `pipeline inspect` shows it.
#pragma once

#include <cstdint>
#include <string>

#include "nn/model_spec.h"

namespace pipeline::cnn {

// `value` unless it is 0, the spec's "default".
inline int64_t or_default(uint32_t value, int64_t fallback) {
  return value != 0 ? value : fallback;
}

// Fails (naming the layer and the axis) when the stride jumps past the whole padded input.
void check_stride(const ResolvedLayer& layer, const char* axis, int64_t stride, int64_t length,
                  int64_t pad_before, int64_t pad_after);

// Output length of a window sliding over `length` with the given padding; fails when the window
// does not fit.
int64_t sliding_output(const ResolvedLayer& layer, const char* axis, int64_t length, int64_t kernel,
                       int64_t stride, int64_t pad_before, int64_t pad_after);

// Checks both axes of layer.window against layer.in and sets layer.out's rows and cols.
void slide_window(ResolvedLayer& layer);

// "3x3", or "3x3/2" with a stride other than 1.
std::string window_text(const Window& window);

}  // namespace pipeline::cnn
