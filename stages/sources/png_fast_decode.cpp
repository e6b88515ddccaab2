#include "stages/sources/png_fast_decode.h"

#include <libdeflate.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <opencv2/imgproc.hpp>
#include <vector>

namespace pipeline {
namespace {

uint32_t Be32(const unsigned char* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

// Inflates the zlib stream `in` into exactly `out_size` bytes at `out` with libdeflate (about
// twice zlib's speed on whole-buffer inflation); false when the stream is damaged or does not hold
// exactly that many bytes.
bool Inflate(const unsigned char* in, size_t in_size, unsigned char* out, size_t out_size) {
  struct Free {
    void operator()(libdeflate_decompressor* decompressor) const {
      libdeflate_free_decompressor(decompressor);
    }
  };
  // One decompressor per thread: they hold state and are not thread-safe.
  thread_local const std::unique_ptr<libdeflate_decompressor, Free> decompressor(
      libdeflate_alloc_decompressor());
  if (decompressor == nullptr) return false;
  size_t produced = 0;
  return libdeflate_zlib_decompress(decompressor.get(), in, in_size, out, out_size, &produced) ==
             LIBDEFLATE_SUCCESS &&
         produced == out_size;
}

// Branch-free: on photos the choice is close to random, and mispredicted branches would cost
// more than the arithmetic.
inline int Paeth(int left, int up, int up_left) {
  const int to_left = std::abs(up - up_left);  // |estimate - left|, estimate = left + up - up_left
  const int to_up = std::abs(left - up_left);
  const int to_up_left = std::abs(left + up - 2 * up_left);
  const int not_left = up ^ ((up ^ up_left) & -(to_up > to_up_left));  // up, or up_left if nearer
  return left ^ ((left ^ not_left) & -(to_left > to_up || to_left > to_up_left));
}

// Sub: each byte adds the one a pixel to its left. The running sums are plain locals, never
// address-taken: an array of them would be reloaded after every store to `row` (an unsigned
// char store may alias anything), which made this loop most of a colour PNG's unfiltering time.
template <size_t kPixel>
void UnfilterSub(unsigned char* row, size_t length) {
  static_assert(kPixel >= 1 && kPixel <= 4);
  unsigned char s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t i = 0; i + kPixel <= length; i += kPixel) {
    row[i] = s0 = static_cast<unsigned char>(s0 + row[i]);
    if constexpr (kPixel > 1) row[i + 1] = s1 = static_cast<unsigned char>(s1 + row[i + 1]);
    if constexpr (kPixel > 2) row[i + 2] = s2 = static_cast<unsigned char>(s2 + row[i + 2]);
    if constexpr (kPixel > 3) row[i + 3] = s3 = static_cast<unsigned char>(s3 + row[i + 3]);
  }
}

// Undoes one scanline's filter in place; `previous` is the row above, already unfiltered (zeros
// for the first row).
bool Unfilter(int filter, unsigned char* row, const unsigned char* previous, size_t length,
              size_t pixel) {
  switch (filter) {
    case 0:
      return true;
    case 1:  // the filter OpenCV's encoder writes
      switch (pixel) {
        case 1:
          UnfilterSub<1>(row, length);
          return true;
        case 2:
          UnfilterSub<2>(row, length);
          return true;
        case 3:
          UnfilterSub<3>(row, length);
          return true;
        default:
          UnfilterSub<4>(row, length);
          return true;
      }
    case 2:
      for (size_t i = 0; i < length; ++i) row[i] = static_cast<unsigned char>(row[i] + previous[i]);
      return true;
    case 3:
      for (size_t i = 0; i < pixel; ++i)
        row[i] = static_cast<unsigned char>(row[i] + previous[i] / 2);
      for (size_t i = pixel; i < length; ++i) {
        row[i] = static_cast<unsigned char>(row[i] + (row[i - pixel] + previous[i]) / 2);
      }
      return true;
    case 4:
      for (size_t i = 0; i < pixel; ++i) row[i] = static_cast<unsigned char>(row[i] + previous[i]);
      for (size_t i = pixel; i < length; ++i) {
        row[i] = static_cast<unsigned char>(
            row[i] + Paeth(row[i - pixel], previous[i], previous[i - pixel]));
      }
      return true;
    default:
      return false;
  }
}

// OpenCV's fixed-point BGR2GRAY for 8-bit pixels (0.299 R + 0.587 G + 0.114 B in 15 fraction
// bits), so a fast decode and cv::cvtColor give the same pixels.
inline unsigned char Grey(uint32_t r, uint32_t g, uint32_t b) {
  return static_cast<unsigned char>((r * 9798 + g * 19235 + b * 3735 + (1 << 14)) >> 15);
}

// image_decode's compositing of a transparent pixel over white paper.
inline uint32_t OverWhite(uint32_t value, uint32_t alpha) {
  return (value * alpha + 255 * (255 - alpha) + 127) / 255;
}

// One unfiltered scanline to the output row (RGB rows go through cv::cvtColor instead).
void ConvertRow(const unsigned char* in, int colour_type, int width, bool grey,
                unsigned char* out) {
  switch (colour_type) {
    case 0:
      std::memcpy(out, in, static_cast<size_t>(width));
      return;
    case 4:  // grey + alpha
      for (int c = 0; c < width; ++c, in += 2) {
        const auto value = static_cast<unsigned char>(OverWhite(in[0], in[1]));
        if (grey) {
          out[c] = value;
        } else {
          out[3 * c] = out[3 * c + 1] = out[3 * c + 2] = value;
        }
      }
      return;
    case 6:
      for (int c = 0; c < width; ++c, in += 4) {
        const uint32_t r = OverWhite(in[0], in[3]), g = OverWhite(in[1], in[3]),
                       b = OverWhite(in[2], in[3]);
        if (grey) {
          out[c] = Grey(r, g, b);
        } else {
          out[3 * c] = static_cast<unsigned char>(b);
          out[3 * c + 1] = static_cast<unsigned char>(g);
          out[3 * c + 2] = static_cast<unsigned char>(r);
        }
      }
      return;
    default:
      return;
  }
}

}  // namespace

std::optional<cv::Mat> DecodeSimplePng(std::string_view file, bool grey) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(file.data());
  const size_t size = file.size();
  if (size < 8 + 25 || std::memcmp(bytes, "\x89PNG\r\n\x1a\n", 8) != 0) return std::nullopt;
  if (Be32(bytes + 8) != 13 || std::memcmp(bytes + 12, "IHDR", 4) != 0) return std::nullopt;
  const unsigned char* header = bytes + 16;
  const uint32_t width = Be32(header), height = Be32(header + 4);
  const int depth = header[8], colour_type = header[9];
  const bool interlaced = header[12] != 0;
  if (width == 0 || height == 0 || width > (1u << 16) || height > (1u << 16)) return std::nullopt;
  if (depth != 8 || interlaced || header[10] != 0 || header[11] != 0) return std::nullopt;
  int channels = 0;
  switch (colour_type) {
    case 0:
      channels = 1;
      break;
    case 2:
      channels = 3;
      break;
    case 4:
      channels = 2;
      break;
    case 6:
      channels = 4;
      break;
    default:
      return std::nullopt;  // palette
  }
  // The pixels, possibly split over several IDAT chunks (libpng, and so OpenCV, writes 8 KiB
  // ones), joined in a buffer kept per thread: growing a fresh one per file page-faults.
  // A huge file's buffer is let go at the next file.
  thread_local std::vector<unsigned char> joined;
  joined.clear();
  if (joined.capacity() > (size_t{8} << 20)) joined.shrink_to_fit();
  const unsigned char* data = nullptr;
  size_t data_size = 0;
  bool ended = false;
  for (size_t at = 8 + 25; at + 12 <= size && !ended;) {
    const uint32_t length = Be32(bytes + at);
    if (length > size - at - 12) return std::nullopt;
    const unsigned char* type = bytes + at + 4;
    const unsigned char* body = bytes + at + 8;
    if (std::memcmp(type, "IDAT", 4) == 0) {
      if (data == nullptr) {
        data = body;
        data_size = length;
      } else {
        if (joined.empty()) {
          joined.reserve(size);  // the file's size bounds its pixels' compressed size
          joined.assign(data, data + data_size);
        }
        joined.insert(joined.end(), body, body + length);
      }
    } else if (std::memcmp(type, "IEND", 4) == 0) {
      ended = true;
    } else if (std::memcmp(type, "tRNS", 4) == 0) {
      return std::nullopt;  // a transparent colour key: OpenCV's handling applies
    } else if ((type[0] & 0x20) == 0 && std::memcmp(type, "PLTE", 4) != 0) {
      return std::nullopt;  // an unknown critical chunk
    }
    at += 12 + size_t{length};
  }
  if (!ended || data == nullptr) return std::nullopt;
  if (!joined.empty()) {
    data = joined.data();
    data_size = joined.size();
  }
  const size_t stride = size_t{width} * static_cast<size_t>(channels);
  // Reused per thread for photo-sized files: a fresh buffer this size would be mapped and
  // page-faulted in per file. A large one is not kept after its file.
  constexpr size_t kKeptBytes = size_t{8} << 20;
  thread_local std::vector<unsigned char> kept;
  std::vector<unsigned char> large;
  std::vector<unsigned char>& raw = (stride + 1) * height <= kKeptBytes ? kept : large;
  raw.resize((stride + 1) * height);
  if (!Inflate(data, data_size, raw.data(), raw.size())) return std::nullopt;

  const bool colour_out = !grey && colour_type != 0;  // as OpenCV: grey + alpha becomes BGR
  cv::Mat image(static_cast<int>(height), static_cast<int>(width), colour_out ? CV_8UC3 : CV_8UC1);
  thread_local std::vector<unsigned char> zeros;
  zeros.assign(stride, 0);
  const unsigned char* previous = zeros.data();
  // RGB goes through cv::cvtColor in one call after unfiltering: its vectorized conversion is
  // several times faster than a pixel at a time, and the same pixels by definition.
  const bool rgb = colour_type == 2;
  for (uint32_t r = 0; r < height; ++r) {
    unsigned char* line = raw.data() + r * (stride + 1);
    unsigned char* row = line + 1;
    if (!Unfilter(line[0], row, previous, stride, static_cast<size_t>(channels))) {
      return std::nullopt;
    }
    if (!rgb) {
      ConvertRow(row, colour_type, static_cast<int>(width), grey,
                 image.ptr<unsigned char>(static_cast<int>(r)));
    }
    previous = row;
  }
  if (rgb) {
    // The unfiltered rows in place: each one follows its filter byte.
    const cv::Mat pixels(static_cast<int>(height), static_cast<int>(width), CV_8UC3, raw.data() + 1,
                         stride + 1);
    cv::cvtColor(pixels, image, grey ? cv::COLOR_RGB2GRAY : cv::COLOR_RGB2BGR);
  }
  return image;
}

}  // namespace pipeline
