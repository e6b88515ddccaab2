#include "nn/layers/max_pool_backward.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

namespace pipeline::cnn::detail {
namespace {

using dnnl::memory;

float load(float value) { return value; }
float load(uint16_t bf16) {
  const uint32_t bits = static_cast<uint32_t>(bf16) << 16;
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

void store(float value, float& to) { to = value; }
void store(float value, uint16_t& to) {  // round to nearest even
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  bits += 0x7FFF + ((bits >> 16) & 1);
  to = static_cast<uint16_t>(bits >> 16);
}

constexpr int64_t kLanes = 16;

// The common case, 2x2 windows with stride 2 tiling the input, written so that the compiler
// vectorises the channel loop: each input element receives its window's gradient or zero.
template <typename T>
void route_2x2(const ChannelBlockedLayout& in, const ChannelBlockedLayout& out, bool relu_mask,
               const T* src, const T* dst, const T* diff_dst, T* diff_src) {
  const int64_t block = in.block;
  const int64_t in_plane = in.rows * in.cols * block, out_plane = out.rows * out.cols * block;
  const int64_t in_row = in.cols * block;
  const int64_t rows = in.batch * in.channel_blocks * out.rows;
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t plane = row / out.rows, oh = row % out.rows;
    const T* s0 = src + plane * in_plane + 2 * oh * in_row;
    const T* s1 = s0 + in_row;
    T* d0 = diff_src + plane * in_plane + 2 * oh * in_row;
    T* d1 = d0 + in_row;
    const T* v = dst + plane * out_plane + oh * out.cols * block;
    const T* g = diff_dst + plane * out_plane + oh * out.cols * block;
    for (int64_t ow = 0; ow < out.cols; ++ow) {
      const int64_t o = ow * block, i0 = 2 * ow * block, i1 = i0 + block;
#pragma omp simd
      for (int64_t c = 0; c < block; ++c) {
        const float value = load(v[o + c]);
        const float gradient = relu_mask && !(value > 0.0f) ? 0.0f : load(g[o + c]);
        const bool h00 = load(s0[i0 + c]) == value;
        const bool h01 = !h00 && load(s0[i1 + c]) == value;
        const bool h10 = !h00 && !h01 && load(s1[i0 + c]) == value;
        const bool h11 = !h00 && !h01 && !h10;
        store(h00 ? gradient : 0.0f, d0[i0 + c]);
        store(h01 ? gradient : 0.0f, d0[i1 + c]);
        store(h10 ? gradient : 0.0f, d1[i0 + c]);
        store(h11 ? gradient : 0.0f, d1[i1 + c]);
      }
    }
  }
}

// route_2x2 for 16-channel blocks (nChw16c) with AVX-512: one vector per pixel. Compiled for
// AVX-512 whatever the build's baseline; called only after a CPU check. Written with GCC's
// `#pragma GCC target`, which clang does not apply to the lambdas: clang builds only the fuzz
// targets here (the product is built with GCC), and they take the portable path below.
#if defined(__GNUC__) && !defined(__clang__)
#define PIPELINE_MAX_POOL_AVX512 1
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl")
#pragma GCC diagnostic push
// GCC 12's own intrinsics (_mm512_undefined_epi32) trip this warning.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
void route_2x2_block16_avx512(const ChannelBlockedLayout& in, const ChannelBlockedLayout& out,
                              bool relu_mask, bool bf16, const void* src, const void* dst,
                              const void* diff_dst, void* diff_src) {
  const int64_t in_plane = in.rows * in.cols * 16, out_plane = out.rows * out.cols * 16;
  const int64_t in_row = in.cols * 16;
  const int64_t rows = in.batch * in.channel_blocks * out.rows;
  const int64_t element = bf16 ? 2 : 4;
  const auto* src_bytes = static_cast<const char*>(src);
  const auto* dst_bytes = static_cast<const char*>(dst);
  const auto* grad_bytes = static_cast<const char*>(diff_dst);
  auto* out_bytes = static_cast<char*>(diff_src);
  // Loads 16 values as fp32; bf16 is the upper half of an fp32.
  const auto load16 = [bf16](const char* p) {
    if (!bf16) return _mm512_loadu_ps(p);
    const __m512i wide =
        _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
  };
  // Stores `gradient` where `mask` is set and zero elsewhere (bf16: the exact upper halves).
  const auto store16 = [bf16](char* p, __mmask16 mask, __m512 gradient) {
    const __m512 selected = _mm512_maskz_mov_ps(mask, gradient);
    if (!bf16) {
      _mm512_storeu_ps(p, selected);
    } else {
      const __m512i bits = _mm512_srli_epi32(_mm512_castps_si512(selected), 16);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtepi32_epi16(bits));
    }
  };
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t plane = row / out.rows, oh = row % out.rows;
    const int64_t in_at = (plane * in_plane + 2 * oh * in_row) * element;
    const int64_t out_at = (plane * out_plane + oh * out.cols * 16) * element;
    for (int64_t ow = 0; ow < out.cols; ++ow) {
      const int64_t o = out_at + ow * 16 * element;
      const int64_t i00 = in_at + 2 * ow * 16 * element, i01 = i00 + 16 * element;
      const int64_t i10 = i00 + in_row * element, i11 = i10 + 16 * element;
      const __m512 value = load16(dst_bytes + o);
      __m512 gradient = load16(grad_bytes + o);
      if (relu_mask) {
        gradient = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(value, _mm512_setzero_ps(), _CMP_GT_OQ),
                                       gradient);
      }
      const __mmask16 h00 = _mm512_cmp_ps_mask(load16(src_bytes + i00), value, _CMP_EQ_OQ);
      __mmask16 taken = h00;
      const __mmask16 h01 =
          _mm512_mask_cmp_ps_mask(~taken, load16(src_bytes + i01), value, _CMP_EQ_OQ);
      taken |= h01;
      const __mmask16 h10 =
          _mm512_mask_cmp_ps_mask(~taken, load16(src_bytes + i10), value, _CMP_EQ_OQ);
      taken |= h10;
      store16(out_bytes + i00, h00, gradient);
      store16(out_bytes + i01, h01, gradient);
      store16(out_bytes + i10, h10, gradient);
      store16(out_bytes + i11, static_cast<__mmask16>(~taken), gradient);
    }
  }
}
#pragma GCC diagnostic pop
#pragma GCC pop_options
#else
#define PIPELINE_MAX_POOL_AVX512 0
#endif

// Any window: each window's gradient goes to the first input equal to its output.
template <typename T>
void route(const ChannelBlockedLayout& in, const ChannelBlockedLayout& out, const PoolWindow& w,
           bool relu_mask, const T* src, const T* dst, const T* diff_dst, T* diff_src) {
  const int64_t block = in.block;
  const int64_t in_plane = in.rows * in.cols * block, out_plane = out.rows * out.cols * block;
  const int64_t planes = in.batch * in.channel_blocks;
  // Windows that tile the input exactly write every input element once. Otherwise the plane is
  // cleared first and gradients accumulate (overlapping windows can pick the same element).
  const bool tiles = w.stride_rows == w.kernel_rows && w.stride_cols == w.kernel_cols &&
                     w.pad_top == 0 && w.pad_left == 0 && out.rows * w.stride_rows == in.rows &&
                     out.cols * w.stride_cols == in.cols;
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < planes; ++plane) {
    const T* s = src + plane * in_plane;
    T* ds = diff_src + plane * in_plane;
    if (!tiles) std::memset(static_cast<void*>(ds), 0, in_plane * sizeof(T));
    for (int64_t oh = 0; oh < out.rows; ++oh) {
      for (int64_t ow = 0; ow < out.cols; ++ow) {
        const int64_t out_at = plane * out_plane + (oh * out.cols + ow) * block;
        for (int64_t c0 = 0; c0 < block; c0 += kLanes) {
          const int64_t lanes = std::min(kLanes, block - c0);
          float value[kLanes], gradient[kLanes];
          bool routed[kLanes];
          for (int64_t c = 0; c < lanes; ++c) {
            value[c] = load(dst[out_at + c0 + c]);
            const float g = load(diff_dst[out_at + c0 + c]);
            gradient[c] = relu_mask && !(value[c] > 0.0f) ? 0.0f : g;
            routed[c] = false;
          }
          for (int64_t kh = 0; kh < w.kernel_rows; ++kh) {
            const int64_t ih = oh * w.stride_rows - w.pad_top + kh;
            if (ih < 0 || ih >= in.rows) continue;
            for (int64_t kw = 0; kw < w.kernel_cols; ++kw) {
              const int64_t iw = ow * w.stride_cols - w.pad_left + kw;
              if (iw < 0 || iw >= in.cols) continue;
              const int64_t at = (ih * in.cols + iw) * block + c0;
              for (int64_t c = 0; c < lanes; ++c) {
                const bool hit = !routed[c] && load(s[at + c]) == value[c];
                routed[c] = routed[c] || hit;
                if (tiles) {
                  store(hit ? gradient[c] : 0.0f, ds[at + c]);
                } else if (hit) {
                  store(load(ds[at + c]) + gradient[c], ds[at + c]);
                }
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace

bool channel_blocked_layout(const memory::desc& desc, ChannelBlockedLayout& layout) {
  const memory::dims dims = desc.dims();
  if (dims.size() != 4) return false;
  const struct {
    memory::format_tag tag;
    int64_t block;
  } candidates[] = {{memory::format_tag::nChw16c, 16},
                    {memory::format_tag::nChw8c, 8},
                    {memory::format_tag::nhwc, dims[1]},
                    {memory::format_tag::nchw, 1}};
  for (const auto& candidate : candidates) {
    if (desc == memory::desc(dims, desc.data_type(), candidate.tag)) {
      layout.batch = dims[0];
      layout.block = candidate.block;
      layout.channel_blocks = (dims[1] + candidate.block - 1) / candidate.block;
      layout.rows = dims[2];
      layout.cols = dims[3];
      return true;
    }
  }
  return false;
}

void max_pool_backward(const ChannelBlockedLayout& in, const ChannelBlockedLayout& out,
                       const PoolWindow& window, bool bf16, bool relu_mask, const void* src,
                       const void* dst, const void* diff_dst, void* diff_src) {
  const bool two_by_two = window.kernel_rows == 2 && window.kernel_cols == 2 &&
                          window.stride_rows == 2 && window.stride_cols == 2 &&
                          window.pad_top == 0 && window.pad_left == 0 && out.rows * 2 == in.rows &&
                          out.cols * 2 == in.cols;
#if PIPELINE_MAX_POOL_AVX512
  static const bool avx512 = __builtin_cpu_supports("avx512f") &&
                             __builtin_cpu_supports("avx512bw") &&
                             __builtin_cpu_supports("avx512vl");
  if (two_by_two && in.block == 16 && avx512) {
    route_2x2_block16_avx512(in, out, relu_mask, bf16, src, dst, diff_dst, diff_src);
    return;
  }
#endif
  if (two_by_two && bf16) {
    route_2x2(in, out, relu_mask, static_cast<const uint16_t*>(src),
              static_cast<const uint16_t*>(dst), static_cast<const uint16_t*>(diff_dst),
              static_cast<uint16_t*>(diff_src));
  } else if (two_by_two) {
    route_2x2(in, out, relu_mask, static_cast<const float*>(src), static_cast<const float*>(dst),
              static_cast<const float*>(diff_dst), static_cast<float*>(diff_src));
  } else if (bf16) {
    route(in, out, window, relu_mask, static_cast<const uint16_t*>(src),
          static_cast<const uint16_t*>(dst), static_cast<const uint16_t*>(diff_dst),
          static_cast<uint16_t*>(diff_src));
  } else {
    route(in, out, window, relu_mask, static_cast<const float*>(src),
          static_cast<const float*>(dst), static_cast<const float*>(diff_dst),
          static_cast<float*>(diff_src));
  }
}

}  // namespace pipeline::cnn::detail
