#include "nn/layers/window_geometry.h"

#include "nn/layers/layer_kind.h"

namespace pipeline::cnn {

void check_stride(const ResolvedLayer& layer, const char* axis, int64_t stride, int64_t length,
                  int64_t pad_before, int64_t pad_after) {
  const int64_t padded = length + pad_before + pad_after;
  if (stride > padded) {
    fail_layer(layer, std::string("stride ") + std::to_string(stride) + " over the " + axis +
                          " is larger than the (padded) input's " + std::to_string(padded) + " " +
                          axis);
  }
}

int64_t sliding_output(const ResolvedLayer& layer, const char* axis, int64_t length, int64_t kernel,
                       int64_t stride, int64_t pad_before, int64_t pad_after) {
  const int64_t padded = length + pad_before + pad_after;
  if (kernel > padded) {
    fail_layer(layer,
               std::string("window of ") + std::to_string(kernel) + " " + axis +
                   " does not fit the input's " + std::to_string(length) + " " + axis +
                   (pad_before + pad_after > 0 ? " (padded to " + std::to_string(padded) + ")"
                                               : std::string()));
  }
  return (padded - kernel) / stride + 1;
}

void slide_window(ResolvedLayer& layer) {
  const Window& w = layer.window;
  check_stride(layer, "rows", w.stride_rows, layer.in.rows, w.pad_top, w.pad_bottom);
  check_stride(layer, "columns", w.stride_cols, layer.in.cols, w.pad_left, w.pad_right);
  layer.out.rows = sliding_output(layer, "rows", layer.in.rows, w.kernel_rows, w.stride_rows,
                                  w.pad_top, w.pad_bottom);
  layer.out.cols = sliding_output(layer, "columns", layer.in.cols, w.kernel_cols, w.stride_cols,
                                  w.pad_left, w.pad_right);
}

std::string window_text(const Window& window) {
  return std::to_string(window.kernel_rows) + "x" + std::to_string(window.kernel_cols) +
         (window.stride_rows != 1 || window.stride_cols != 1
              ? "/" + std::to_string(window.stride_rows)
              : "");
}

}  // namespace pipeline::cnn
