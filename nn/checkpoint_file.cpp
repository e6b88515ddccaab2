#include "nn/checkpoint_file.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>

#include "pipeline/temp_files.h"

namespace pipeline::cnn {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("checkpoint " + path + ": " + what);
}

std::string ErrnoText() { return std::strerror(errno); }

std::string Hex(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof(text), "%08x", value);
  return text;
}

// Closes the descriptor and removes the temporary file unless the write got to the rename.
class TemporaryFile {
 public:
  // In the target's folder, so the rename stays within one file system and is atomic.
  explicit TemporaryFile(const std::string& target) {
    try {
      name_ = CreateTempFileFor(target, &fd_);
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string("checkpoint ") + e.what());
    }
  }
  ~TemporaryFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!renamed_) ::unlink(name_.c_str());
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  int fd() const { return fd_; }
  const std::string& name() const { return name_; }
  void close_or_throw(const std::string& target) {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) Fail(target, "closing " + name_ + " failed: " + ErrnoText());
  }
  void mark_renamed() { renamed_ = true; }

 private:
  std::string name_;
  int fd_ = -1;
  bool renamed_ = false;
};

void WriteAll(int fd, const std::string& bytes, const std::string& path,
              const std::string& temporary) {
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Fail(path, "writing " + temporary + " failed: " + ErrnoText());
    written += static_cast<size_t>(n);
  }
}

// Makes the rename itself durable.
void SyncFolder(const std::string& path) {
  const fs::path target(path);
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) Fail(path, "cannot open its folder to sync it: " + ErrnoText());
  const int result = ::fsync(fd);
  const int saved_errno = errno;
  ::close(fd);
  if (result != 0) {
    errno = saved_errno;
    Fail(path, "syncing its folder failed: " + ErrnoText());
  }
}

std::string ReadWholeFile(const std::string& path) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (error || !fs::exists(status)) Fail(path, "no such file");
  if (fs::is_directory(status)) Fail(path, "is a directory, not a checkpoint file");
  if (!fs::is_regular_file(status)) Fail(path, "is not a regular file");
  const uintmax_t size = fs::file_size(path, error);
  if (error) Fail(path, "cannot read its size: " + error.message());
  if (size == 0) Fail(path, "is empty (0 bytes), not a checkpoint");
  if (size > static_cast<uintmax_t>(std::numeric_limits<int>::max())) {
    Fail(path, "is " + std::to_string(size) + " bytes, more than a checkpoint can hold");
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) Fail(path, "cannot open it for reading: " + ErrnoText());
  std::string bytes(static_cast<size_t>(size), '\0');
  file.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (file.gcount() != static_cast<std::streamsize>(bytes.size())) {
    Fail(path, "read " + std::to_string(file.gcount()) + " of " + std::to_string(size) + " bytes");
  }
  return bytes;
}

}  // namespace

uint32_t Crc32(const std::string& bytes) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  const auto* data = reinterpret_cast<const Bytef*>(bytes.data());
  size_t left = bytes.size();
  while (left > 0) {  // zlib takes uInt lengths
    const uInt chunk = static_cast<uInt>(std::min<size_t>(left, 1u << 30));
    crc = ::crc32(crc, data, chunk);
    data += chunk;
    left -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

void WriteCheckpointBody(const std::string& path, const proto::CheckpointBody& body) {
  proto::CheckpointFile file;
  file.set_format_version(kCheckpointFormatVersion);
  if (!body.SerializeToString(file.mutable_body())) Fail(path, "cannot serialize the checkpoint");
  file.set_body_crc32(Crc32(file.body()));
  std::string bytes;
  if (!file.SerializeToString(&bytes)) Fail(path, "cannot serialize the checkpoint");

  TemporaryFile temporary(path);
  WriteAll(temporary.fd(), bytes, path, temporary.name());
  if (::fsync(temporary.fd()) != 0) {
    Fail(path, "syncing " + temporary.name() + " failed: " + ErrnoText());
  }
  temporary.close_or_throw(path);
  // "Written" must mean "loadable": protobuf serialises a string field that is not UTF-8 (it
  // only logs) but refuses to parse it back, so read the file back before publishing it.
  try {
    ReadCheckpointBody(temporary.name(), nullptr);
  } catch (const std::exception& e) {
    Fail(path, std::string("the written file does not read back, so it was not published (a "
                           "name in the model or graph that is not UTF-8 does this): ") +
                   e.what());
  }
  if (::rename(temporary.name().c_str(), path.c_str()) != 0) {
    Fail(path, "renaming " + temporary.name() + " onto it failed: " + ErrnoText());
  }
  temporary.mark_renamed();
  SyncFolder(path);
}

proto::CheckpointBody ReadCheckpointBody(const std::string& path, CheckpointFileInfo* info) {
  const std::string bytes = ReadWholeFile(path);
  proto::CheckpointFile file;
  if (!file.ParseFromString(bytes)) {
    Fail(path, "not a checkpoint file, or truncated (its " + std::to_string(bytes.size()) +
                   " bytes do not parse)");
  }
  if (file.format_version() == 0 || file.body().empty()) {
    Fail(path, "not a checkpoint file, or truncated (no format version or no body)");
  }
  if (file.format_version() != kCheckpointFormatVersion) {
    Fail(path, "checkpoint format version " + std::to_string(file.format_version()) +
                   "; this build reads version " + std::to_string(kCheckpointFormatVersion));
  }
  const uint32_t computed = Crc32(file.body());
  if (computed != file.body_crc32()) {
    Fail(path, "checksum mismatch (stored " + Hex(file.body_crc32()) + ", computed " +
                   Hex(computed) + "): the file is corrupt or truncated");
  }
  proto::CheckpointBody body;
  if (!body.ParseFromString(file.body())) {
    Fail(path, "the checkpoint body does not parse although its checksum matches");
  }
  if (info != nullptr) {
    info->file_bytes = bytes.size();
    info->format_version = file.format_version();
    info->crc32 = computed;
  }
  return body;
}

}  // namespace pipeline::cnn
