#include "stages/sources/idx_reader.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace pipeline {
namespace {

[[noreturn]] void Fail(const std::string& path, const std::string& problem) {
  throw std::runtime_error(path + ": " + problem);
}

std::string Hex32(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof(text), "0x%08x", value);
  return text;
}

// A file's bytes, decompressed when the file starts with the gzip magic bytes 1f 8b (the name is
// not trusted). Reads go straight into the caller's buffer, so a file is never held twice.
class ByteStream {
 public:
  explicit ByteStream(std::string path) : path_(std::move(path)) {
    std::FILE* file = std::fopen(path_.c_str(), "rb");
    if (file == nullptr) Fail(path_, std::string("cannot open: ") + std::strerror(errno));
    unsigned char magic[2] = {0, 0};
    gzip_ = std::fread(magic, 1, 2, file) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    std::error_code error;
    file_bytes_ = std::filesystem::file_size(path_, error);
    if (error) file_bytes_ = std::numeric_limits<uint64_t>::max();
    if (gzip_) {
      std::fclose(file);
      gz_ = gzopen(path_.c_str(), "rb");
      if (gz_ == nullptr) Fail(path_, std::string("cannot open: ") + std::strerror(errno));
      gzbuffer(gz_, 1 << 18);
    } else {
      std::rewind(file);
      raw_ = file;
    }
  }
  ~ByteStream() {
    if (gz_ != nullptr) gzclose(gz_);
    if (raw_ != nullptr) std::fclose(raw_);
  }
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;

  // Reads up to `size` bytes; returns fewer only at the end of the data.
  uint64_t read(void* buffer, uint64_t size) {
    auto* out = static_cast<unsigned char*>(buffer);
    uint64_t total = 0;
    while (total < size) {
      const uint64_t want = std::min<uint64_t>(size - total, uint64_t{1} << 30);
      const uint64_t got = gzip_ ? ReadGzip(out + total, want) : ReadRaw(out + total, want);
      if (got == 0) break;
      total += got;
    }
    return total;
  }

  // Reads to the end of the data (which also checks a gzip stream's checksum); returns how many
  // bytes there were.
  uint64_t skip_rest() {
    static thread_local std::vector<unsigned char> scratch(1 << 16);
    uint64_t total = 0;
    while (const uint64_t got = read(scratch.data(), scratch.size())) total += got;
    return total;
  }

  // The most bytes the data can hold: the file size, or for gzip the file size times deflate's
  // best possible ratio (1032:1). Lets a reader refuse a corrupt header's absurd size before
  // allocating for it.
  uint64_t max_data_bytes() const {
    if (!gzip_) return file_bytes_;
    if (file_bytes_ > std::numeric_limits<uint64_t>::max() / 1032) return file_bytes_;
    return file_bytes_ * 1032 + 1024;
  }

  // True when a gzip stream stopped before its end (zlib: "unexpected end of file").
  bool truncated() const { return truncated_; }
  const std::string& path() const { return path_; }

 private:
  uint64_t ReadRaw(unsigned char* out, uint64_t size) {
    const size_t got = std::fread(out, 1, size, raw_);
    if (got < size && std::ferror(raw_)) {
      Fail(path_, std::string("read error: ") + std::strerror(errno));
    }
    return got;
  }

  uint64_t ReadGzip(unsigned char* out, uint64_t size) {
    const int got = gzread(gz_, out, static_cast<unsigned>(size));
    if (got > 0) return static_cast<uint64_t>(got);
    int error = Z_OK;
    const char* message = gzerror(gz_, &error);
    if (error == Z_OK) return 0;
    // A stream that stops mid-way is Z_BUF_ERROR; the callers report it with counts, which says
    // more than zlib's message.
    if (error == Z_BUF_ERROR) {
      truncated_ = true;
      return 0;
    }
    Fail(path_, std::string("corrupt gzip data: ") + (message ? message : "unknown zlib error"));
  }

  std::string path_;
  bool gzip_ = false;
  bool truncated_ = false;
  uint64_t file_bytes_ = 0;
  gzFile gz_ = nullptr;
  std::FILE* raw_ = nullptr;
};

uint32_t BigEndian32(const uint8_t* bytes) {
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
         uint32_t{bytes[3]};
}

std::string MagicHint(uint32_t magic) {
  if (magic == kIdxImagesMagic) return " (this is an IDX image file)";
  if (magic == kIdxLabelsMagic) return " (this is an IDX label file)";
  if ((magic >> 16) == 0 && (magic & 0xff) != 0) {
    return " (an IDX file with " + std::to_string(magic & 0xff) +
           " dimension(s) and element type " + Hex32((magic >> 8) & 0xff) + ")";
  }
  return " (not an IDX file)";
}

// Reads and checks the magic number and the `dims` dimension sizes that follow it.
std::vector<uint64_t> ReadHeader(ByteStream& in, uint32_t expected_magic, int dims,
                                 const char* what) {
  uint8_t bytes[4 + 4 * 3];
  const uint64_t header_bytes = 4 + 4 * static_cast<uint64_t>(dims);
  uint64_t got = in.read(bytes, 4);
  if (got < 4) Fail(in.path(), "too short for an IDX file (" + std::to_string(got) + " bytes)");
  const uint32_t magic = BigEndian32(bytes);
  if (magic != expected_magic) {
    Fail(in.path(), "bad magic " + Hex32(magic) + " (expected " + Hex32(expected_magic) + " for " +
                        what + ")" + MagicHint(magic));
  }
  got += in.read(bytes + 4, header_bytes - 4);
  if (got < header_bytes) {
    Fail(in.path(), "truncated header: expected " + std::to_string(header_bytes) +
                        " bytes, found " + std::to_string(got));
  }
  std::vector<uint64_t> sizes;
  for (int d = 0; d < dims; ++d) sizes.push_back(BigEndian32(bytes + 4 + 4 * d));
  return sizes;
}

std::string TruncationNote(const ByteStream& in) {
  return in.truncated() ? " (the gzip stream ends early: the file is truncated)" : "";
}

// Reads the `expected` data bytes that follow the header into a buffer from `allocate(expected)`,
// then checks that nothing follows them. `truncated(found)` reports a short file; it must throw.
template <typename Allocate, typename Truncated>
void ReadBody(ByteStream& in, uint64_t expected, Allocate allocate, Truncated truncated,
              const std::string& what_follows) {
  if (expected > in.max_data_bytes()) truncated(in.skip_rest());  // never allocate for a lie
  void* buffer = allocate(expected);
  const uint64_t found = in.read(buffer, expected);
  if (found < expected) truncated(found);
  if (const uint64_t extra = in.skip_rest()) {
    Fail(in.path(), std::to_string(extra) + " unexpected bytes after the " + what_follows +
                        " the header announces");
  }
  // A gzip file cut after its data but before its checksum still yields every byte; refuse it
  // all the same, since nothing vouches for what was read.
  if (in.truncated()) {
    Fail(in.path(), "the gzip stream ends before its checksum (the file is truncated)");
  }
}

}  // namespace

IdxImages ReadIdxImages(const std::string& path) {
  ByteStream in(path);
  const auto sizes = ReadHeader(in, kIdxImagesMagic, 3, "IDX images");
  const uint64_t count = sizes[0], rows = sizes[1], cols = sizes[2];
  if (rows == 0 || cols == 0) {
    Fail(path,
         "header gives an empty image size " + std::to_string(rows) + "x" + std::to_string(cols));
  }
  // The images are stacked into one cv::Mat, whose row count is an int.
  if (count * rows > static_cast<uint64_t>(std::numeric_limits<int>::max()) ||
      cols > static_cast<uint64_t>(std::numeric_limits<int>::max())) {
    Fail(path, "header announces " + std::to_string(count) + " images of " + std::to_string(rows) +
                   "x" + std::to_string(cols) + ", more than this reader supports");
  }
  const uint64_t image_bytes = rows * cols;
  const uint64_t expected = count * image_bytes;
  const std::string shape = std::to_string(rows) + "x" + std::to_string(cols);

  IdxImages images;
  images.count = static_cast<int64_t>(count);
  images.rows = static_cast<int>(rows);
  images.cols = static_cast<int>(cols);
  ReadBody(
      in, expected,
      [&](uint64_t) {
        images.pixels.create(static_cast<int>(count * rows), static_cast<int>(cols), CV_8UC1);
        return static_cast<void*>(images.pixels.data);
      },
      [&](uint64_t found) {
        Fail(path, "truncated: header says " + std::to_string(count) + " images of " + shape +
                       " (" + std::to_string(expected) + " bytes of pixels), found " +
                       std::to_string(found) + " bytes (" + std::to_string(found / image_bytes) +
                       " whole images)" + TruncationNote(in));
      },
      std::to_string(count) + " images of " + shape);
  return images;
}

std::vector<int32_t> ReadIdxLabels(const std::string& path) {
  ByteStream in(path);
  const uint64_t count = ReadHeader(in, kIdxLabelsMagic, 1, "IDX labels")[0];
  std::vector<uint8_t> bytes;
  ReadBody(
      in, count,
      [&](uint64_t size) {
        bytes.resize(size);
        return static_cast<void*>(bytes.data());
      },
      [&](uint64_t found) {
        Fail(path, "truncated: header says " + std::to_string(count) + " labels, found " +
                       std::to_string(found) + TruncationNote(in));
      },
      std::to_string(count) + " labels");
  return std::vector<int32_t>(bytes.begin(), bytes.end());
}

}  // namespace pipeline
