#include "stages/sinks/png_writer.h"

#include <zlib.h>

#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace pipeline {
namespace {

void AppendBigEndian(std::string& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((value >> shift) & 0xff);
}

// A chunk: data length, 4-letter type, data, and the CRC-32 of type and data.
void AppendChunk(std::string& out, std::string_view type, std::string_view data) {
  AppendBigEndian(out, static_cast<uint32_t>(data.size()));
  const size_t type_start = out.size();
  out.append(type);
  out.append(data);
  const auto* checked = reinterpret_cast<const Bytef*>(out.data() + type_start);
  AppendBigEndian(
      out, static_cast<uint32_t>(crc32(0L, checked, static_cast<uInt>(type.size() + data.size()))));
}

}  // namespace

std::string EncodePng(const cv::Mat& image) {
  if (image.empty() || (image.type() != CV_8UC1 && image.type() != CV_8UC3)) {
    throw std::invalid_argument("PNG encoding takes a non-empty CV_8UC1 or CV_8UC3 image, got " +
                                std::to_string(image.cols) + "x" + std::to_string(image.rows) +
                                " of type " + std::to_string(image.type()));
  }
  const int channels = image.channels();
  // Each scanline is a filter byte (0: none) and the row's samples, RGB order for colour.
  const size_t row_bytes = static_cast<size_t>(image.cols) * channels;
  std::vector<Bytef> raw;
  raw.reserve((row_bytes + 1) * image.rows);
  for (int y = 0; y < image.rows; ++y) {
    raw.push_back(0);
    const uint8_t* row = image.ptr<uint8_t>(y);
    if (channels == 1) {
      raw.insert(raw.end(), row, row + row_bytes);
    } else {
      for (int x = 0; x < image.cols; ++x) {
        raw.push_back(row[3 * x + 2]);
        raw.push_back(row[3 * x + 1]);
        raw.push_back(row[3 * x]);
      }
    }
  }
  uLongf compressed_size = compressBound(static_cast<uLong>(raw.size()));
  std::string compressed(compressed_size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(compressed.data()), &compressed_size, raw.data(),
                static_cast<uLong>(raw.size()), Z_BEST_COMPRESSION) != Z_OK) {
    throw std::runtime_error("PNG encoding: zlib compression failed");
  }
  compressed.resize(compressed_size);

  std::string header;
  AppendBigEndian(header, static_cast<uint32_t>(image.cols));
  AppendBigEndian(header, static_cast<uint32_t>(image.rows));
  header += static_cast<char>(8);                      // bits per sample
  header += static_cast<char>(channels == 1 ? 0 : 2);  // colour type: greyscale or RGB
  header += std::string(3, '\0');  // deflate compression, adaptive filtering, no interlace

  std::string png("\x89PNG\r\n\x1a\n", 8);
  AppendChunk(png, "IHDR", header);
  AppendChunk(png, "IDAT", compressed);
  AppendChunk(png, "IEND", "");
  return png;
}

}  // namespace pipeline
