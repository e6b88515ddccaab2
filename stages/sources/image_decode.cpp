#include "stages/sources/image_decode.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "stages/sources/png_fast_decode.h"

namespace pipeline {
namespace {

enum class Format { kUnknown, kPng, kJpeg, kBmp, kTiff, kBigTiff, kWebp };

uint32_t Byte(std::string_view b, size_t at) { return static_cast<unsigned char>(b[at]); }
uint32_t Be16(std::string_view b, size_t at) { return Byte(b, at) << 8 | Byte(b, at + 1); }
uint32_t Le16(std::string_view b, size_t at) { return Byte(b, at + 1) << 8 | Byte(b, at); }
uint32_t Be32(std::string_view b, size_t at) { return Be16(b, at) << 16 | Be16(b, at + 2); }
uint32_t Le32(std::string_view b, size_t at) { return Le16(b, at + 2) << 16 | Le16(b, at); }
uint32_t Le24(std::string_view b, size_t at) { return Byte(b, at + 2) << 16 | Le16(b, at); }

// Chosen from the first bytes: names lie ("photo.png" may be a JPEG or a text file).
Format DetectFormat(std::string_view b) {
  if (b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) return Format::kPng;
  if (b.size() >= 3 && Byte(b, 0) == 0xFF && Byte(b, 1) == 0xD8 && Byte(b, 2) == 0xFF) {
    return Format::kJpeg;
  }
  if (b.substr(0, 2) == "BM") return Format::kBmp;
  if (b.substr(0, 4) == std::string_view("II*\0", 4) ||
      b.substr(0, 4) == std::string_view("MM\0*", 4)) {
    return Format::kTiff;
  }
  if (b.substr(0, 4) == std::string_view("II+\0", 4) ||
      b.substr(0, 4) == std::string_view("MM\0+", 4)) {
    return Format::kBigTiff;
  }
  if (b.size() >= 12 && b.substr(0, 4) == "RIFF" && b.substr(8, 4) == "WEBP") return Format::kWebp;
  return Format::kUnknown;
}

std::string_view FormatName(Format format) {
  switch (format) {
    case Format::kPng:
      return "PNG";
    case Format::kJpeg:
      return "JPEG";
    case Format::kBmp:
      return "BMP";
    case Format::kTiff:
      return "TIFF";
    case Format::kBigTiff:
      return "BigTIFF";
    case Format::kWebp:
      return "WebP";
    default:
      return "image";
  }
}

std::optional<cv::Size> SizeOf(uint32_t width, uint32_t height) {
  if (width == 0 || height == 0 || width > 1u << 30 || height > 1u << 30) return std::nullopt;
  return cv::Size(static_cast<int>(width), static_cast<int>(height));
}

bool IsJpegFrameMarker(uint32_t marker) {  // SOF0..SOF15 except DHT, JPG and DAC
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

struct JpegLayout {
  std::optional<cv::Size> size;
  int frames = 0;         // frame headers (SOF) before the first scan; libjpeg refuses a second
  size_t scan_start = 0;  // where the first scan (SOS) begins; 0 when not found
};

// Walks the marker segments up to the first scan.
JpegLayout ParseJpeg(std::string_view b) {
  JpegLayout layout;
  size_t at = 2;
  while (at + 4 <= b.size()) {
    if (Byte(b, at) != 0xFF) break;
    const uint32_t marker = Byte(b, at + 1);
    if (marker == 0xFF) {  // fill byte
      ++at;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {  // no length field
      at += 2;
      continue;
    }
    const uint32_t length = Be16(b, at + 2);
    if (length < 2) break;
    if (marker == 0xDA) {
      layout.scan_start = at + 2 + length;
      break;
    }
    if (IsJpegFrameMarker(marker) && at + 9 <= b.size()) {
      if (++layout.frames == 1) layout.size = SizeOf(Be16(b, at + 7), Be16(b, at + 5));
    }
    at += 2 + length;
  }
  return layout;
}

// A classic TIFF's first IFD: its byte order and entries (tag, type, count, and where the
// entry's inline value sits); `complete` is false when the table runs past the end of the file.
struct TiffEntry {
  uint32_t tag = 0, type = 0, count = 0;
  size_t value_at = 0;
};
struct TiffIfd {
  bool little = true;
  std::vector<TiffEntry> entries;
  bool complete = true;

  uint32_t U16(std::string_view b, size_t at) const { return little ? Le16(b, at) : Be16(b, at); }
  uint32_t U32(std::string_view b, size_t at) const { return little ? Le32(b, at) : Be32(b, at); }

  // A single integer value as libtiff reads it, whichever integer type it is stored as (BYTE,
  // SBYTE, SHORT, SSHORT, LONG, SLONG); nullopt for other types.
  std::optional<int64_t> Integer(std::string_view b, const TiffEntry& entry) const {
    switch (entry.type) {
      case 1:
        return static_cast<uint8_t>(Byte(b, entry.value_at));
      case 6:
        return static_cast<int8_t>(Byte(b, entry.value_at));
      case 3:
        return U16(b, entry.value_at);
      case 8:
        return static_cast<int16_t>(U16(b, entry.value_at));
      case 4:
        return U32(b, entry.value_at);
      case 9:
        return static_cast<int32_t>(U32(b, entry.value_at));
      default:
        return std::nullopt;
    }
  }
};

std::optional<TiffIfd> ReadTiffIfd(std::string_view b) {
  if (b.size() < 8) return std::nullopt;
  TiffIfd ifd;
  ifd.little = Byte(b, 0) == 'I';
  const size_t start = ifd.U32(b, 4);
  if (start + 2 > b.size()) return std::nullopt;
  const uint32_t count = ifd.U16(b, start);
  for (uint32_t i = 0; i < count; ++i) {
    const size_t at = start + 2 + 12 * size_t{i};
    if (at + 12 > b.size()) {
      ifd.complete = false;
      break;
    }
    ifd.entries.push_back({ifd.U16(b, at), ifd.U16(b, at + 2), ifd.U32(b, at + 4), at + 8});
  }
  return ifd;
}

// The first IFD's ImageWidth (256) and ImageLength (257), read as libtiff reads them: the first
// entry of a tag counts (libtiff ignores later duplicates), and only SHORT or LONG single values
// are taken (anything else makes the header "corrupt" here rather than guessed at).
std::optional<cv::Size> PeekTiff(std::string_view b) {
  const std::optional<TiffIfd> ifd = ReadTiffIfd(b);
  if (!ifd || !ifd->complete) return std::nullopt;
  std::optional<uint32_t> width, height;
  for (const TiffEntry& entry : ifd->entries) {
    if (entry.tag != 256 && entry.tag != 257) continue;
    std::optional<uint32_t>& field = entry.tag == 256 ? width : height;
    if (field) continue;  // a duplicate
    if (entry.count != 1 || (entry.type != 3 && entry.type != 4)) return std::nullopt;
    field = static_cast<uint32_t>(*ifd->Integer(b, entry));  // SHORT or LONG
  }
  if (!width || !height) return std::nullopt;
  return SizeOf(*width, *height);
}

// The pixels of one strip or tile, as OpenCV's TIFF reader allocates a buffer for it before
// decoding: TileWidth x TileLength, or the width x RowsPerStrip, where RowsPerStrip is taken as
// written even when it is more than the height (a 55044x2 image with 14850 rows per strip
// allocated 3.2 GB: fuzz_image_header). 0 when the header does not say.
int64_t TiffStripPixels(std::string_view b) {
  const std::optional<TiffIfd> ifd = ReadTiffIfd(b);
  if (!ifd) return 0;
  int64_t width = 0, rows_per_strip = 0, tile_width = 0, tile_length = 0;
  for (const TiffEntry& entry : ifd->entries) {
    // libtiff takes these tags in any integer type (a RowsPerStrip stored as SSHORT, type 8,
    // allocated 3.2 GB as surely as a SHORT: fuzz_image_header); negative values it refuses.
    const std::optional<int64_t> value = ifd->Integer(b, entry);
    if (!value || *value < 0) continue;
    // As in PeekTiff, the first of a duplicated tag counts (libtiff's choice).
    if (entry.tag == 256 && width == 0) width = *value;
    if (entry.tag == 278 && rows_per_strip == 0) rows_per_strip = *value > INT32_MAX ? 0 : *value;
    if (entry.tag == 322 && tile_width == 0) tile_width = *value;
    if (entry.tag == 323 && tile_length == 0) tile_length = *value;
  }
  return std::max(width * rows_per_strip, tile_width * tile_length);
}

std::optional<cv::Size> PeekWebp(std::string_view b) {
  if (b.size() < 30) return std::nullopt;
  const std::string_view chunk = b.substr(12, 4);
  if (chunk == "VP8 ") return SizeOf(Le16(b, 26) & 0x3FFF, Le16(b, 28) & 0x3FFF);
  if (chunk == "VP8L") {
    const uint32_t bits = Le32(b, 21);
    return SizeOf((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1);
  }
  if (chunk == "VP8X") return SizeOf(Le24(b, 24) + 1, Le24(b, 27) + 1);
  return std::nullopt;
}

// A cut-off file decodes "successfully" in some libraries (libjpeg fills the rest with grey), so
// completeness is checked from the structure: a PNG ends with its IEND chunk, a JPEG's scan
// data is followed by an end-of-image marker (FF D9 cannot occur inside entropy-coded data).
std::string CheckComplete(Format format, std::string_view b) {
  if (format == Format::kPng && b.find("IEND") == std::string_view::npos) {
    return "truncated PNG (no IEND chunk)";
  }
  if (format == Format::kJpeg) {
    const JpegLayout layout = ParseJpeg(b);
    if (layout.scan_start == 0) return "truncated or corrupt JPEG (no image data)";
    if (b.find("\xFF\xD9", layout.scan_start) == std::string_view::npos) {
      return "truncated JPEG (no end-of-image marker)";
    }
  }
  return "";
}

// Alpha over white: what a transparent region of a scanned or exported digit looks like on paper.
cv::Mat CompositeOverWhite(const cv::Mat& image) {
  const int colours = image.channels() - 1;
  cv::Mat result(image.size(), CV_MAKETYPE(CV_8U, colours));
  for (int r = 0; r < image.rows; ++r) {
    const uint8_t* in = image.ptr<uint8_t>(r);
    uint8_t* out = result.ptr<uint8_t>(r);
    for (int c = 0; c < image.cols; ++c, in += colours + 1, out += colours) {
      const uint32_t alpha = in[colours];
      for (int k = 0; k < colours; ++k) {
        out[k] = static_cast<uint8_t>((in[k] * alpha + 255 * (255 - alpha) + 127) / 255);
      }
    }
  }
  return result;
}

// Any depth to 8 bits: 16-bit / 257, float 0..1 * 255, other integers stretched to 0..255.
cv::Mat ToEightBit(const cv::Mat& image) {
  cv::Mat result;
  switch (image.depth()) {
    case CV_8U:
      return image;
    case CV_16U:
      image.convertTo(result, CV_8U, 1.0 / 257.0);
      return result;
    case CV_32F:
    case CV_64F:
      image.convertTo(result, CV_8U, 255.0);
      return result;
    default: {
      double low = 0, high = 0;
      cv::minMaxLoc(image.reshape(1), &low, &high);
      const double scale = high > low ? 255.0 / (high - low) : 0.0;
      image.convertTo(result, CV_8U, scale, -low * scale);
      return result;
    }
  }
}

DecodedImage Failure(const std::string& why) { return {cv::Mat(), "cannot decode: " + why}; }

}  // namespace

std::optional<cv::Size> PeekImageSize(std::string_view b) {
  switch (DetectFormat(b)) {
    case Format::kPng:
      if (b.size() < 24 || b.substr(12, 4) != "IHDR") return std::nullopt;
      return SizeOf(Be32(b, 16), Be32(b, 20));
    case Format::kJpeg: {
      const JpegLayout layout = ParseJpeg(b);
      if (layout.frames > 1) return std::nullopt;  // libjpeg refuses it too
      return layout.size;
    }
    case Format::kBmp: {
      if (b.size() < 26) return std::nullopt;
      if (Le32(b, 14) == 12) return SizeOf(Le16(b, 18), Le16(b, 20));  // OS/2 core header
      const auto height = static_cast<int32_t>(Le32(b, 22));           // negative: top-down
      return SizeOf(Le32(b, 18), static_cast<uint32_t>(height < 0 ? -int64_t{height} : height));
    }
    case Format::kTiff:
      return PeekTiff(b);
    case Format::kWebp:
      return PeekWebp(b);
    default:
      return std::nullopt;
  }
}

DecodedImage DecodeImageBytes(std::string_view bytes, const DecodeOptions& options) {
  if (bytes.empty()) return Failure("empty file");
  const Format format = DetectFormat(bytes);
  // Only formats whose header PeekImageSize reads exactly as the decoder does get to a decoder:
  // any other (PNM, PFM, HDR, Sun raster, JPEG 2000, GIF, BigTIFF, ...) could allocate whatever
  // size its header claims before max_pixels is checked.
  if (format == Format::kBigTiff) return Failure("BigTIFF is not supported (use a plain TIFF)");
  if (format == Format::kUnknown) {
    return Failure("not an image in a format this reads (PNG/JPEG/BMP/TIFF/WebP)");
  }
  const std::string incomplete = CheckComplete(format, bytes);
  if (!incomplete.empty()) return Failure(incomplete);
  {
    const std::optional<cv::Size> size = PeekImageSize(bytes);
    if (!size) return Failure("corrupt " + std::string(FormatName(format)) + " header");
    const int64_t pixels = int64_t{size->width} * size->height;
    if (pixels > options.max_pixels) {
      return Failure(std::to_string(size->width) + "x" + std::to_string(size->height) +
                     " pixels is more than max_pixels (" + std::to_string(options.max_pixels) +
                     ")");
    }
    const int64_t strip_pixels = format == Format::kTiff ? TiffStripPixels(bytes) : 0;
    if (strip_pixels > options.max_pixels) {
      return Failure("TIFF strips or tiles of " + std::to_string(strip_pixels) +
                     " pixels are more than max_pixels (" + std::to_string(options.max_pixels) +
                     ")");
    }
  }
  if (format == Format::kPng) {
    if (std::optional<cv::Mat> image = DecodeSimplePng(bytes, options.grey)) return {*image, ""};
  }
  // JPEG has no alpha, so it is decoded with flags that keep grey as grey and apply the EXIF
  // orientation (phones store photos sideways and say so there); IMREAD_UNCHANGED would skip it.
  int flags = cv::IMREAD_UNCHANGED;
  if (format == Format::kJpeg) {
    flags = options.grey ? cv::IMREAD_GRAYSCALE : (cv::IMREAD_ANYCOLOR | cv::IMREAD_ANYDEPTH);
  }
  cv::Mat decoded;
  try {
    const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1,
                         const_cast<char*>(bytes.data()));
    decoded = cv::imdecode(buffer, flags);
  } catch (const cv::Exception& e) {
    return Failure("corrupt " + std::string(FormatName(format)) + ": " + e.err);
  }
  if (decoded.empty()) {
    return Failure("corrupt " + std::string(FormatName(format)) + " data");
  }
  if (int64_t{decoded.rows} * decoded.cols > options.max_pixels) {  // should the peek miss one
    return Failure(std::to_string(decoded.cols) + "x" + std::to_string(decoded.rows) +
                   " pixels is more than max_pixels (" + std::to_string(options.max_pixels) + ")");
  }
  cv::Mat image = ToEightBit(decoded);
  switch (image.channels()) {
    case 1:
    case 3:
      break;
    case 2:
    case 4:
      image = CompositeOverWhite(image);
      break;
    default:
      return Failure(std::to_string(image.channels()) + " channels (takes grey, colour, alpha)");
  }
  if (options.grey && image.channels() == 3) cv::cvtColor(image, image, cv::COLOR_BGR2GRAY);
  return {image, ""};
}

DecodedImage DecodeImageFile(const std::string& path, const DecodeOptions& options) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return Failure(std::string("cannot open: ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) return Failure(std::string("cannot stat: ") + std::strerror(errno));
  if (S_ISDIR(info.st_mode)) return Failure("is a folder, not an image file");
  if (!S_ISREG(info.st_mode)) {
    return Failure("not a regular file (a FIFO, device or socket is never read)");
  }
  if (info.st_size > options.max_file_bytes) {
    return Failure("file is " + std::to_string(info.st_size) +
                   " bytes, more than max_file_bytes (" + std::to_string(options.max_file_bytes) +
                   ")");
  }
  // Read to the end rather than trusting st_size (a /proc file reports 0 and still has bytes),
  // but never past max_file_bytes.
  std::string bytes;
  bytes.reserve(static_cast<size_t>(info.st_size));
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Failure(std::string("read failed: ") + std::strerror(errno));
    if (n == 0) break;
    bytes.append(buffer, static_cast<size_t>(n));
    if (static_cast<int64_t>(bytes.size()) > options.max_file_bytes) {
      return Failure("file is more than max_file_bytes (" + std::to_string(options.max_file_bytes) +
                     ") bytes");
    }
  }
  return DecodeImageBytes(bytes, options);
}

}  // namespace pipeline
