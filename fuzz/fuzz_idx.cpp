// The IDX reader (MNIST's format) on arbitrary bytes, as images and as labels; a few images of
// a file that opens are read too. Errors must be runtime_errors, never crashes.
#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "fuzz_file.h"
#include "stages/sources/idx_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = pipeline::fuzz::WriteInput(data, size, ".idx");
  try {
    const pipeline::IdxImages images = pipeline::ReadIdxImages(path);
    for (int64_t i = 0; i < images.count && i < 4; ++i) (void)images.image(i);
    if (images.count > 0) (void)images.image(images.count - 1);
  } catch (const std::runtime_error&) {
  }
  try {
    (void)pipeline::ReadIdxLabels(path);
  } catch (const std::runtime_error&) {
  }
  return 0;
}
