// Dataset files (idx_source's `dataset`: protobuf text) on arbitrary bytes. Errors must be
// runtime_errors naming the file, never crashes.
#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "fuzz_file.h"
#include "stages/sources/dataset_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = pipeline::fuzz::WriteInput(data, size, ".dataset");
  try {
    (void)pipeline::ReadDatasetFile(path);
  } catch (const std::runtime_error&) {
  }
  return 0;
}
