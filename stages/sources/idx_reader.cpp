#include "stages/sources/idx_reader.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
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
    consumed_ += total;
    return total;
  }

  // Bytes of (decompressed) data read so far.
  uint64_t consumed() const { return consumed_; }
  bool gzip() const { return gzip_; }

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
  uint64_t consumed_ = 0;
  gzFile gz_ = nullptr;
  std::FILE* raw_ = nullptr;
};

uint32_t BigEndian32(const uint8_t* bytes) {
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
         uint32_t{bytes[3]};
}

std::string MagicHint(uint32_t magic) {
  if (magic == kIdxImagesMagic) return " (this is an IDX image file)";
  if (magic == kIdxColourImagesMagic) return " (this is an IDX file of multi-channel images)";
  if (magic == kIdxLabelsMagic) return " (this is an IDX label file)";
  if ((magic >> 16) == 0 && (magic & 0xff) != 0) {
    return " (an IDX file with " + std::to_string(magic & 0xff) +
           " dimension(s) and element type " + Hex32((magic >> 8) & 0xff) + ")";
  }
  return " (not an IDX file)";
}

// Reads the magic number, checks it is one of `accepted`, and reads the dimension sizes that
// follow it (as many as the magic's last byte says). Returns the magic; `sizes` gets the sizes.
uint32_t ReadHeader(ByteStream& in, std::initializer_list<uint32_t> accepted, const char* what,
                    std::vector<uint64_t>& sizes) {
  uint8_t bytes[4 + 4 * 4];
  uint64_t got = in.read(bytes, 4);
  if (got < 4) Fail(in.path(), "too short for an IDX file (" + std::to_string(got) + " bytes)");
  const uint32_t magic = BigEndian32(bytes);
  if (std::find(accepted.begin(), accepted.end(), magic) == accepted.end()) {
    std::string expected;
    for (const uint32_t one : accepted) expected += (expected.empty() ? "" : " or ") + Hex32(one);
    Fail(in.path(), "bad magic " + Hex32(magic) + " (expected " + expected + " for " + what + ")" +
                        MagicHint(magic));
  }
  const int dims = static_cast<int>(magic & 0xff);
  const uint64_t header_bytes = 4 + 4 * static_cast<uint64_t>(dims);
  got += in.read(bytes + 4, header_bytes - 4);
  if (got < header_bytes) {
    Fail(in.path(), "truncated header: expected " + std::to_string(header_bytes) +
                        " bytes, found " + std::to_string(got));
  }
  sizes.clear();
  for (int d = 0; d < dims; ++d) sizes.push_back(BigEndian32(bytes + 4 + 4 * d));
  return magic;
}

std::string TruncationNote(const ByteStream& in) {
  return in.truncated() ? " (the gzip stream ends early: the file is truncated)" : "";
}

// Checks what follows the `expected` data bytes: nothing, and for gzip an intact checksum.
void CheckEnd(ByteStream& in, const std::string& what_follows) {
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

// Reads the `expected` data bytes that follow the header into a buffer from `allocate(expected)`,
// then checks that nothing follows them. `truncated(found)` reports a short file; it must throw.
template <typename Allocate, typename Truncated>
void ReadBody(ByteStream& in, uint64_t expected, Allocate allocate, Truncated truncated,
              const std::string& what_follows) {
  if (expected > in.max_data_bytes()) truncated(in.skip_rest());  // never allocate for a lie
  void* buffer = allocate(expected);
  const uint64_t found = in.read(buffer, expected);
  if (found < expected) truncated(found);
  CheckEnd(in, what_follows);
}

// A temporary file that vanishes when closed: O_TMPFILE where the file system has it, else a
// named file unlinked at once.
int OpenAnonymousFile(const std::string& for_path) {
  const char* dir = std::getenv("TMPDIR");
  const std::string folder = dir != nullptr && *dir != '\0' ? dir : "/tmp";
  int fd = ::open(folder.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  std::string name = folder + "/pipeline-idx-XXXXXX";
  fd = ::mkstemp(name.data());
  if (fd < 0) {
    Fail(for_path, "cannot create a temporary file in " + folder +
                       " to decompress into: " + std::strerror(errno));
  }
  ::unlink(name.c_str());
  return fd;
}

// Decompresses the `expected` data bytes into an anonymous file, a chunk at a time.
std::shared_ptr<FileHandle> DecompressToFile(ByteStream& in, uint64_t expected,
                                             const std::function<void(uint64_t)>& truncated) {
  auto file = std::make_shared<FileHandle>(OpenAnonymousFile(in.path()));
  std::vector<unsigned char> chunk(1 << 20);
  uint64_t found = 0;
  while (found < expected) {
    const uint64_t want = std::min<uint64_t>(chunk.size(), expected - found);
    const uint64_t got = in.read(chunk.data(), want);
    for (uint64_t written = 0; written < got;) {
      const ssize_t n = ::write(file->fd(), chunk.data() + written, got - written);
      if (n < 0) {
        Fail(in.path(), std::string("cannot write its decompressed copy: ") + std::strerror(errno));
      }
      written += static_cast<uint64_t>(n);
    }
    found += got;
    if (got < want) break;
  }
  if (found < expected) truncated(found);
  return file;
}

}  // namespace

FileHandle::~FileHandle() {
  if (fd_ >= 0) ::close(fd_);
}

cv::Mat IdxImages::image(int64_t i) const {
  cv::Mat result(rows, cols, CV_8UC(channels));
  const uint64_t bytes =
      static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols) * static_cast<uint64_t>(channels);
  const uint64_t offset = pixel_offset + static_cast<uint64_t>(i) * bytes;
  for (uint64_t done = 0; done < bytes;) {
    const ssize_t got =
        ::pread(pixels->fd(), result.data + done, bytes - done, static_cast<off_t>(offset + done));
    if (got <= 0) {
      Fail(path, "cannot read image " + std::to_string(i) + ": " +
                     (got == 0 ? std::string("the file shrank while in use")
                               : std::string(std::strerror(errno))));
    }
    done += static_cast<uint64_t>(got);
  }
  return result;
}

IdxImages ReadIdxImages(const std::string& path) {
  ByteStream in(path);
  std::vector<uint64_t> sizes;
  const uint32_t magic =
      ReadHeader(in, {kIdxImagesMagic, kIdxColourImagesMagic}, "IDX images", sizes);
  const uint64_t count = sizes[0], rows = sizes[1], cols = sizes[2];
  const uint64_t channels = magic == kIdxColourImagesMagic ? sizes[3] : 1;
  if (rows == 0 || cols == 0) {
    Fail(path,
         "header gives an empty image size " + std::to_string(rows) + "x" + std::to_string(cols));
  }
  if (channels == 0 || channels > 4) {
    Fail(path, "header gives " + std::to_string(channels) +
                   " channels per pixel; images have 1 to 4 (grey, grey+alpha, RGB, RGBA)");
  }
  if (rows > (1u << 16) || cols > (1u << 16) || count > (uint64_t{1} << 40)) {
    Fail(path, "header announces " + std::to_string(count) + " images of " + std::to_string(rows) +
                   "x" + std::to_string(cols) + ", more than this reader supports");
  }
  const uint64_t image_bytes = rows * cols * channels;
  const uint64_t expected = count * image_bytes;
  const std::string shape = std::to_string(rows) + "x" + std::to_string(cols) +
                            (channels > 1 ? "x" + std::to_string(channels) : "");
  auto truncated = [&](uint64_t found) {
    Fail(path, "truncated: header says " + std::to_string(count) + " images of " + shape + " (" +
                   std::to_string(expected) + " bytes of pixels), found " + std::to_string(found) +
                   " bytes (" + std::to_string(found / image_bytes) + " whole images)" +
                   TruncationNote(in));
  };

  IdxImages images;
  images.count = static_cast<int64_t>(count);
  images.rows = static_cast<int>(rows);
  images.cols = static_cast<int>(cols);
  images.channels = static_cast<int>(channels);
  images.path = path;
  if (expected > in.max_data_bytes()) truncated(in.skip_rest());
  if (in.gzip()) {
    images.pixels = DecompressToFile(in, expected, truncated);
    images.pixel_offset = 0;
  } else {
    // A plain file is read in place: only its size needs checking.
    const uint64_t available = in.max_data_bytes() - in.consumed();
    if (available < expected) truncated(available);
    if (available > expected) {
      Fail(path, std::to_string(available - expected) + " unexpected bytes after the " +
                     std::to_string(count) + " images of " + shape + " the header announces");
    }
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) Fail(path, std::string("cannot open: ") + std::strerror(errno));
    images.pixels = std::make_shared<FileHandle>(fd);
    images.pixel_offset = in.consumed();
    return images;
  }
  CheckEnd(in, std::to_string(count) + " images of " + shape);
  return images;
}

std::vector<int32_t> ReadIdxLabels(const std::string& path) {
  ByteStream in(path);
  std::vector<uint64_t> sizes;
  ReadHeader(in, {kIdxLabelsMagic}, "IDX labels", sizes);
  const uint64_t count = sizes[0];
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

PixelStatistics MeasurePixelStatistics(const IdxImages& images) {
  // Sums of values and squares in 64-bit integers: exact whatever the dataset's size.
  uint64_t sum = 0, sum_squares = 0, values = 0;
  std::vector<uint8_t> chunk(1 << 20);
  const uint64_t total = static_cast<uint64_t>(images.count) * static_cast<uint64_t>(images.rows) *
                         static_cast<uint64_t>(images.cols) *
                         static_cast<uint64_t>(images.channels);
  while (values < total) {
    const uint64_t want = std::min<uint64_t>(chunk.size(), total - values);
    const ssize_t got = ::pread(images.pixels->fd(), chunk.data(), want,
                                static_cast<off_t>(images.pixel_offset + values));
    if (got <= 0) Fail(images.path, "cannot read its pixels to measure their mean and spread");
    for (ssize_t i = 0; i < got; ++i) {
      sum += chunk[static_cast<size_t>(i)];
      sum_squares += uint64_t{chunk[static_cast<size_t>(i)]} * chunk[static_cast<size_t>(i)];
    }
    values += static_cast<uint64_t>(got);
  }
  PixelStatistics statistics;
  if (values == 0) return statistics;
  const double mean = static_cast<double>(sum) / static_cast<double>(values);
  const double variance =
      static_cast<double>(sum_squares) / static_cast<double>(values) - mean * mean;
  statistics.mean = mean / 255.0;
  // A blank dataset has no spread: keep 1 so that normalizing it stays finite.
  statistics.std = variance > 0 ? std::sqrt(variance) / 255.0 : 1.0;
  return statistics;
}

}  // namespace pipeline
