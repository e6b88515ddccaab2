// Internal: max-pooling backward without a workspace. oneDNN 2.6's training max-pool (the one that
// records the argmax) runs ~14x slower than its inference kernel on this layout, so training uses
// the inference kernel forward and this pass backward: each window's gradient goes to the first
// input equal to the window's output, recomputed from the forward's input and output.
#pragma once

#include <cstdint>
#include <oneapi/dnnl/dnnl.hpp>

namespace pipeline::cnn::detail {

// Activations stored as [N][C / block][H][W][block] (nchw: block 1; nChw16c: 16; nhwc: C).
struct ChannelBlockedLayout {
  int64_t batch = 0, channel_blocks = 0, block = 0, rows = 0, cols = 0;
};

// The layout of `desc` in those terms, or false when it is something else.
bool channel_blocked_layout(const dnnl::memory::desc& desc, ChannelBlockedLayout& layout);

struct PoolWindow {
  int64_t kernel_rows, kernel_cols, stride_rows, stride_cols, pad_top, pad_left;
};

// diff_src = route(diff_dst); with `relu_mask`, outputs that are not positive route nothing (the
// gradient of a ReLU applied before the pool). f32 or bf16, same layout for src and diff_src and
// for dst and diff_dst.
void max_pool_backward(const ChannelBlockedLayout& in, const ChannelBlockedLayout& out,
                       const PoolWindow& window, bool bf16, bool relu_mask, const void* src,
                       const void* dst, const void* diff_dst, void* diff_src);

}  // namespace pipeline::cnn::detail
