// The checkpoint reader on arbitrary bytes: it must refuse with a runtime_error, never crash.
#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "fuzz_file.h"
#include "nn/checkpoint_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = pipeline::fuzz::WriteInput(data, size, ".ckpt");
  try {
    pipeline::cnn::CheckpointFileInfo info;
    (void)pipeline::cnn::ReadCheckpointBody(path, &info);
  } catch (const std::runtime_error&) {
  }
  return 0;
}
