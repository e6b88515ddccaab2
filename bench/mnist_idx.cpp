#include "mnist_idx.h"

#include <zlib.h>

#include <stdexcept>

namespace pipeline::bench {
namespace {

std::vector<unsigned char> read_gzip(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw std::runtime_error("cannot open " + path);
  std::vector<unsigned char> bytes;
  unsigned char chunk[1 << 16];
  int read = 0;
  while ((read = gzread(file, chunk, sizeof(chunk))) > 0)
    bytes.insert(bytes.end(), chunk, chunk + read);
  gzclose(file);
  if (read < 0) throw std::runtime_error("cannot decompress " + path);
  return bytes;
}

uint32_t big_endian(const std::vector<unsigned char>& bytes, size_t offset) {
  return (uint32_t{bytes[offset]} << 24) | (uint32_t{bytes[offset + 1]} << 16) |
         (uint32_t{bytes[offset + 2]} << 8) | uint32_t{bytes[offset + 3]};
}

}  // namespace

Dataset load_idx(const std::string& images_path, const std::string& labels_path, float mean,
                 float deviation) {
  const auto images = read_gzip(images_path);
  const auto labels = read_gzip(labels_path);
  if (images.size() < 16 || big_endian(images, 0) != 0x803) {
    throw std::runtime_error(images_path + ": not an IDX image file");
  }
  if (labels.size() < 8 || big_endian(labels, 0) != 0x801) {
    throw std::runtime_error(labels_path + ": not an IDX label file");
  }
  Dataset data;
  data.count = big_endian(images, 4);
  data.rows = static_cast<int>(big_endian(images, 8));
  data.cols = static_cast<int>(big_endian(images, 12));
  if (big_endian(labels, 4) != data.count ||
      images.size() != 16 + static_cast<size_t>(data.count) * data.image_elements() ||
      labels.size() != 8 + static_cast<size_t>(data.count)) {
    throw std::runtime_error(images_path + ": sizes do not match its header or its labels");
  }
  data.images.resize(static_cast<size_t>(data.count) * data.image_elements());
  for (size_t i = 0; i < data.images.size(); ++i) {
    data.images[i] = (images[16 + i] / 255.0f - mean) / deviation;
  }
  data.labels.assign(labels.begin() + 8, labels.end());
  return data;
}

}  // namespace pipeline::bench
