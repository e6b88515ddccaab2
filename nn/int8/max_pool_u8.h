// Internal: max pooling of u8 NHWC activations without padding, the pooling int8 networks run
// after a convolution. oneDNN 2.6's jit_int kernel took 1.6 ms per batch of 256 24x24x64 images
// on one EPYC Zen 5 core, as long as its fp32 pooling on 4x the bytes; this loop over contiguous
// channels is memory-bound instead.
#pragma once

#include <cstdint>

namespace pipeline::cnn::int8 {

struct PoolShape {
  int64_t batch = 0, channels = 0, rows = 0, cols = 0;  // input
  int64_t out_rows = 0, out_cols = 0;
  int64_t kernel_rows = 1, kernel_cols = 1, stride_rows = 1, stride_cols = 1;
};

// dst (batch, out_rows, out_cols, channels) = max over each window of src (batch, rows, cols,
// channels); every window lies inside the image. Parallel over images and output rows (OpenMP).
void MaxPoolU8Nhwc(const PoolShape& shape, const uint8_t* src, uint8_t* dst);

}  // namespace pipeline::cnn::int8
