#include "mnist_samples.h"

#include <zlib.h>

#include <stdexcept>

namespace pipeline::cnn::testing {
namespace {

// Reads the whole gzip file (the IDX files are at most 47 MB unpacked).
std::vector<unsigned char> read_gzip(const std::string& path, size_t limit) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw std::runtime_error("cannot open " + path);
  std::vector<unsigned char> bytes(limit);
  const int read = gzread(file, bytes.data(), static_cast<unsigned>(limit));
  gzclose(file);
  if (read < 0) throw std::runtime_error("cannot decompress " + path);
  bytes.resize(static_cast<size_t>(read));
  return bytes;
}

uint32_t big_endian(const std::vector<unsigned char>& bytes, size_t offset) {
  return (uint32_t{bytes[offset]} << 24) | (uint32_t{bytes[offset + 1]} << 16) |
         (uint32_t{bytes[offset + 2]} << 8) | uint32_t{bytes[offset + 3]};
}

}  // namespace

MnistSamples load_mnist(const std::string& split, int64_t count) {
  const std::string dir = PIPELINE_MNIST_DIR;
  const std::string image_path = dir + "/" + split + "-images-idx3-ubyte.gz";
  const std::string label_path = dir + "/" + split + "-labels-idx1-ubyte.gz";
  const auto images = read_gzip(image_path, 16 + static_cast<size_t>(count) * 784);
  const auto labels = read_gzip(label_path, 8 + static_cast<size_t>(count));
  if (images.size() < 16 || big_endian(images, 0) != 0x803 || big_endian(images, 8) != 28 ||
      big_endian(images, 12) != 28) {
    throw std::runtime_error(image_path + " is not a 28x28 IDX image file");
  }
  if (labels.size() < 8 || big_endian(labels, 0) != 0x801) {
    throw std::runtime_error(label_path + " is not an IDX label file");
  }
  if (images.size() < 16 + static_cast<size_t>(count) * 784 ||
      labels.size() < 8 + static_cast<size_t>(count)) {
    throw std::runtime_error(split + " has fewer than " + std::to_string(count) + " samples");
  }
  MnistSamples samples;
  samples.count = count;
  samples.images.resize(static_cast<size_t>(count) * 784);
  for (size_t i = 0; i < samples.images.size(); ++i) {
    samples.images[i] = (images[16 + i] / 255.0f - 0.1307f) / 0.3081f;
  }
  samples.labels.assign(labels.begin() + 8, labels.begin() + 8 + count);
  return samples;
}

}  // namespace pipeline::cnn::testing
