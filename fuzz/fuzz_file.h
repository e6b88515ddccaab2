// The readers under test take a path: each input is written to one reused file first.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace pipeline::fuzz {

// The file, removed when the fuzzer exits.
struct InputFile {
  std::string path;
  ~InputFile() { ::unlink(path.c_str()); }
};

inline std::string WriteInput(const uint8_t* data, size_t size, const char* suffix) {
  static const InputFile input{[suffix] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir != nullptr ? dir : "/tmp") + "/pipeline-fuzz-" +
           std::to_string(::getpid()) + suffix;
  }()};
  const std::string& path = input.path;
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, file) != size) std::abort();
  std::fclose(file);
  return path;
}

}  // namespace pipeline::fuzz
