#include "nn/int8/max_pool_u8.h"

#include <algorithm>

namespace pipeline::cnn::int8 {

void MaxPoolU8Nhwc(const PoolShape& s, const uint8_t* src, uint8_t* dst) {
  const int64_t rows_total = s.batch * s.out_rows;
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < rows_total; ++row) {
    const int64_t n = row / s.out_rows, oh = row % s.out_rows;
    for (int64_t ow = 0; ow < s.out_cols; ++ow) {
      uint8_t* out = dst + ((row * s.out_cols) + ow) * s.channels;
      std::fill(out, out + s.channels, uint8_t{0});  // u8: 0 is the smallest value
      for (int64_t kh = 0; kh < s.kernel_rows; ++kh) {
        const int64_t ih = oh * s.stride_rows + kh;
        for (int64_t kw = 0; kw < s.kernel_cols; ++kw) {
          const int64_t iw = ow * s.stride_cols + kw;
          const uint8_t* in = src + ((n * s.rows + ih) * s.cols + iw) * s.channels;
#pragma omp simd
          for (int64_t c = 0; c < s.channels; ++c) out[c] = std::max(out[c], in[c]);
        }
      }
    }
  }
}

}  // namespace pipeline::cnn::int8
