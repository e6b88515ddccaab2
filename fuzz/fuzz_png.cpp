// The fast PNG decoder on arbitrary bytes: it decodes, or returns nullopt for the general
// decoder to handle; it must never read or write out of bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "stages/sources/png_fast_decode.h"

namespace {

uint32_t Be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // In the product the size gate (DecodeImageBytes) runs first: a header claiming more than
  // max_pixels never reaches this decoder, so such inputs only measure allocation speed here.
  if (size >= 24 && uint64_t{Be32(data + 16)} * Be32(data + 20) > (1u << 20)) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (const bool grey : {false, true}) {
    if (const auto image = pipeline::DecodeSimplePng(bytes, grey)) {
      if (image->empty() || (image->channels() != 1 && image->channels() != 3)) __builtin_trap();
    }
  }
  return 0;
}
