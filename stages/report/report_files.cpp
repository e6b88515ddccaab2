#include "stages/report/report_files.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <stdexcept>
#include <vector>

#include "pipeline/temp_files.h"

namespace pipeline::cnn::report {

void WriteFileAtomically(const std::string& path, const std::string& bytes) {
  // A unique name: two runs writing the same folder never share a temporary file.
  int fd = -1;
  const std::string temporary = CreateTempFileFor(path, &fd);
  std::FILE* file = ::fdopen(fd, "wb");
  if (file == nullptr) {
    const int saved_errno = errno;
    ::close(fd);
    std::remove(temporary.c_str());
    throw std::runtime_error("cannot write " + temporary + ": " + std::strerror(saved_errno));
  }
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  const int saved_errno = errno;
  // No fsync: a report is cheap to write again, and syncing would slow every epoch down.
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed) {
    std::remove(temporary.c_str());
    throw std::runtime_error("cannot write " + temporary + ": " +
                             std::strerror(written ? errno : saved_errno));
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    std::remove(temporary.c_str());
    throw std::runtime_error("cannot replace " + path + ": " + error.message());
  }
}

void WritePngAtomically(const std::string& path, const cv::Mat& image) {
  std::vector<uchar> png;
  if (image.empty() || !cv::imencode(".png", image, png)) {
    throw std::runtime_error("cannot encode " + path + " as PNG");
  }
  WriteFileAtomically(path, std::string(png.begin(), png.end()));
}

}  // namespace pipeline::cnn::report
