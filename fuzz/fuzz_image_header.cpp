// The image-size gate: whatever the bytes, a decoded image must be the size the gate read from
// the header (so max_pixels was checked against the real size before decoding), and within it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "stages/sources/image_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  pipeline::DecodeOptions options;
  options.max_pixels = 1 << 20;  // small, so that allocations stay cheap
  const std::optional<cv::Size> peeked = pipeline::PeekImageSize(bytes);
  const pipeline::DecodedImage decoded = pipeline::DecodeImageBytes(bytes, options);
  if (decoded.image.empty()) return 0;
  const cv::Size got = decoded.image.size();
  // EXIF orientation may turn a JPEG a quarter, swapping the sides.
  const bool same = peeked && (*peeked == got || cv::Size(got.height, got.width) == *peeked);
  if (!same || int64_t{got.width} * got.height > options.max_pixels) {
    std::fprintf(stderr, "gate read %dx%d, decoder made %dx%d\n", peeked ? peeked->width : -1,
                 peeked ? peeked->height : -1, got.width, got.height);
    __builtin_trap();
  }
  return 0;
}
