#include "nn/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace pipeline::cnn {
namespace {

namespace fs = std::filesystem;

std::string ErrnoText() { return std::strerror(errno); }

fs::path FolderOf(const std::string& path) {
  const fs::path target(path);
  return target.has_parent_path() ? target.parent_path() : fs::path(".");
}

// Closes the descriptor and removes the temporary file unless the write got to the rename.
class TemporaryFile {
 public:
  // In the target's folder, so the rename stays within one file system and is atomic; the pid in
  // the name tells a file left by a killed run from one still being written.
  TemporaryFile(const std::string& target, const FileRole& role) : target_(target), role_(role) {
    name_ = (FolderOf(target) / ("." + fs::path(target).filename().string() + ".tmp-" +
                                 std::to_string(::getpid()) + "-XXXXXX"))
                .string();
    fd_ = ::mkstemp(name_.data());
    if (fd_ < 0) {
      FailFile(role, target, "cannot create a temporary file " + name_ + ": " + ErrnoText());
    }
  }
  ~TemporaryFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!renamed_) ::unlink(name_.c_str());
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  const std::string& name() const { return name_; }

  void write_all(const std::string& bytes) {
    size_t written = 0;
    while (written < bytes.size()) {
      const ssize_t n = ::write(fd_, bytes.data() + written, bytes.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) Fail("writing " + name_ + " failed: " + ErrnoText());
      written += static_cast<size_t>(n);
    }
  }
  // mkstemp makes the file 0600; the published file is readable like any other output.
  void sync_and_close() {
    if (::fchmod(fd_, 0644) != 0 || ::fsync(fd_) != 0) {
      Fail("syncing " + name_ + " failed: " + ErrnoText());
    }
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) Fail("closing " + name_ + " failed: " + ErrnoText());
  }
  void rename_onto_target() {
    if (::rename(name_.c_str(), target_.c_str()) != 0) {
      Fail("renaming " + name_ + " onto it failed: " + ErrnoText());
    }
    renamed_ = true;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const { FailFile(role_, target_, what); }

  std::string target_;
  const FileRole& role_;
  std::string name_;
  int fd_ = -1;
  bool renamed_ = false;
};

// Makes the rename itself durable.
void SyncFolder(const std::string& path, const FileRole& role) {
  const int fd = ::open(FolderOf(path).c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) FailFile(role, path, "cannot open its folder to sync it: " + ErrnoText());
  const int result = ::fsync(fd);
  const int saved_errno = errno;
  ::close(fd);
  if (result != 0) {
    errno = saved_errno;
    FailFile(role, path, "syncing its folder failed: " + ErrnoText());
  }
}

}  // namespace

void FailFile(const FileRole& role, const std::string& path, const std::string& what) {
  throw std::runtime_error(role.label + " " + path + ": " + what);
}

std::string ReadWholeFile(const std::string& path, const FileRole& role) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (error || !fs::exists(status)) FailFile(role, path, "no such file");
  if (fs::is_directory(status)) FailFile(role, path, "is a directory, not " + role.noun);
  if (!fs::is_regular_file(status)) FailFile(role, path, "is not a regular file");
  const uintmax_t size = fs::file_size(path, error);
  if (error) FailFile(role, path, "cannot read its size: " + error.message());
  if (size == 0) FailFile(role, path, "is empty (0 bytes)" + role.empty_note);
  if (size > role.max_bytes) {
    FailFile(role, path, "is " + std::to_string(size) + " bytes, " + role.too_large);
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) FailFile(role, path, "cannot open it for reading: " + ErrnoText());
  std::string bytes(static_cast<size_t>(size), '\0');
  file.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (file.gcount() != static_cast<std::streamsize>(bytes.size())) {
    FailFile(role, path,
             "read " + std::to_string(file.gcount()) + " of " + std::to_string(size) + " bytes");
  }
  return bytes;
}

void WriteFileAtomically(const std::string& path, const std::string& bytes, const FileRole& role,
                         const std::function<void(const std::string& temporary)>& check) {
  TemporaryFile temporary(path, role);
  temporary.write_all(bytes);
  temporary.sync_and_close();
  if (check) check(temporary.name());
  temporary.rename_onto_target();
  SyncFolder(path, role);
}

}  // namespace pipeline::cnn
