#include "nn/onnx/onnx_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "onnx/checker.h"

namespace pipeline::cnn {
namespace {

namespace fs = std::filesystem;

// Larger than any digit classifier; protobuf refuses messages over 2 GiB anyway.
constexpr uintmax_t kMaxOnnxBytes = uintmax_t{1} << 30;

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("ONNX model " + path + ": " + what);
}

std::string ErrnoText() { return std::strerror(errno); }

}  // namespace

void WriteOnnxFile(const std::string& path, const onnx::ModelProto& model) {
  std::string bytes;
  if (!model.SerializeToString(&bytes)) Fail(path, "cannot serialize the model");
  const fs::path target(path);
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string temporary = (folder / ("." + target.filename().string() + ".tmp-" +
                                     std::to_string(::getpid()) + "-XXXXXX"))
                              .string();
  const int fd = ::mkstemp(temporary.data());
  if (fd < 0)
    Fail(path, "cannot create a temporary file in " + folder.string() + ": " + ErrnoText());
  // Everything below removes the temporary file on failure.
  const auto abandon = [&](const std::string& what) {
    ::close(fd);
    ::unlink(temporary.c_str());
    Fail(path, what);
  };
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) abandon("writing " + temporary + " failed: " + ErrnoText());
    written += static_cast<size_t>(n);
  }
  if (::fchmod(fd, 0644) != 0 || ::fsync(fd) != 0) abandon("syncing " + temporary + " failed");
  if (::close(fd) != 0) {
    ::unlink(temporary.c_str());
    Fail(path, "closing " + temporary + " failed: " + ErrnoText());
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string error = ErrnoText();
    ::unlink(temporary.c_str());
    Fail(path, "renaming " + temporary + " onto it failed: " + error);
  }
}

onnx::ModelProto ParseOnnxModel(const std::string& bytes, const std::string& origin) {
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) {
    Fail(origin, "does not parse as an ONNX ModelProto (truncated, or not an ONNX file)");
  }
  // A stray file of a few bytes can parse as an empty message: require the essentials.
  if (!model.has_graph() || model.graph().node_size() == 0) {
    Fail(origin, "holds no graph nodes (truncated, or not an ONNX file)");
  }
  if (model.ir_version() <= 0) Fail(origin, "has no ir_version (not an ONNX model)");
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    Fail(origin, std::string("fails the ONNX checker: ") + e.what());
  }
  return model;
}

onnx::ModelProto ReadOnnxFile(const std::string& path) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (error || !fs::exists(status)) Fail(path, "no such file");
  if (fs::is_directory(status)) Fail(path, "is a directory, not an ONNX file");
  if (!fs::is_regular_file(status)) Fail(path, "is not a regular file");
  const uintmax_t size = fs::file_size(path, error);
  if (error) Fail(path, "cannot read its size: " + error.message());
  if (size == 0) Fail(path, "is empty (0 bytes)");
  if (size > kMaxOnnxBytes) Fail(path, "is " + std::to_string(size) + " bytes, more than 1 GiB");
  std::ifstream file(path, std::ios::binary);
  if (!file) Fail(path, "cannot open it for reading: " + ErrnoText());
  std::string bytes(static_cast<size_t>(size), '\0');
  file.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (file.gcount() != static_cast<std::streamsize>(bytes.size())) {
    Fail(path, "read " + std::to_string(file.gcount()) + " of " + std::to_string(size) + " bytes");
  }
  return ParseOnnxModel(bytes, path);
}

}  // namespace pipeline::cnn
