// Reads IDX files (the MNIST format: a big-endian magic number, dimension sizes, then raw data),
// plain or gzip-compressed. Every error names the file. Images stay on disk and are read one at
// a time, so memory does not grow with the dataset; labels (a byte each) are held in memory.
#pragma once

#include <cstdint>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace pipeline {

// IDX magic numbers: two zero bytes, the element type (0x08 = unsigned byte), the dimension count.
inline constexpr uint32_t kIdxImagesMagic = 0x00000803;  // uint8, count x rows x cols
inline constexpr uint32_t kIdxLabelsMagic = 0x00000801;  // uint8, count
// uint8, count x rows x cols x channels (interleaved, in the channel order OpenCV keeps: BGR).
inline constexpr uint32_t kIdxColourImagesMagic = 0x00000804;

// An open file descriptor, closed with its last owner.
class FileHandle {
 public:
  explicit FileHandle(int fd) : fd_(fd) {}
  ~FileHandle();
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

struct IdxImages {
  int64_t count = 0;
  int rows = 0;
  int cols = 0;
  int channels = 1;  // 1 for magic 0x803; the fourth dimension for 0x804
  std::string path;  // for error messages

  // Image i as a new rows x cols CV_8UC(channels) matrix, read from disk (thread-safe: positioned
  // reads).
  cv::Mat image(int64_t i) const;

  // The raw pixels: the file itself, or for gzip files an unlinked temporary copy decompressed
  // once at load time. Image i starts at pixel_offset + i * rows * cols * channels.
  std::shared_ptr<FileHandle> pixels;
  uint64_t pixel_offset = 0;
};

// Reads an IDX image file (magic 0x00000803, or 0x00000804 for multi-channel images). Throws
// std::runtime_error naming `path` when the file is missing, is not an IDX image file, is truncated
// or has trailing bytes.
IdxImages ReadIdxImages(const std::string& path);

// Reads an IDX label file (magic 0x00000801) into one int per label (0..255).
std::vector<int32_t> ReadIdxLabels(const std::string& path);

// Mean and standard deviation of every pixel value (all channels) of `images`, scaled to [0, 1]:
// what `normalize` with mean/std auto uses. One pass over the file.
struct PixelStatistics {
  double mean = 0;
  double std = 1;
};
PixelStatistics MeasurePixelStatistics(const IdxImages& images);

}  // namespace pipeline
