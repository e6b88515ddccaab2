// The fast PNG path must give exactly the pixels OpenCV (plus image_decode's alpha compositing and
// grey conversion) gives, for every colour type and every row filter, and step aside for what it
// does not take.
#include "stages/sources/png_fast_decode.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdlib>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <string>
#include <vector>

#include "stages/sources/image_decode.h"

namespace pipeline {
namespace {

void AppendBe32(std::string& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((value >> shift) & 0xff);
}

void AppendChunk(std::string& out, const std::string& type, const std::string& data) {
  AppendBe32(out, static_cast<uint32_t>(data.size()));
  const std::string typed = type + data;
  out += typed;
  AppendBe32(out, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(typed.data()),
                                              static_cast<uInt>(typed.size()))));
}

int PaethReference(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

// A PNG of `samples` (rows x width*channels bytes in PNG order: grey, grey-alpha, RGB, RGBA), each
// row written with filter row % 5 so every filter is exercised; the pixels split over two IDAT
// chunks, as large files are.
std::string EncodeWithEveryFilter(const std::vector<uint8_t>& samples, int width, int height,
                                  int colour_type, int channels) {
  const size_t stride = static_cast<size_t>(width) * channels;
  std::string raw;
  for (int r = 0; r < height; ++r) {
    const int filter = r % 5;
    raw += static_cast<char>(filter);
    const uint8_t* row = &samples[r * stride];
    const uint8_t* up = r > 0 ? &samples[(r - 1) * stride] : nullptr;
    for (size_t i = 0; i < stride; ++i) {
      const int a = i >= static_cast<size_t>(channels) ? row[i - channels] : 0;
      const int b = up != nullptr ? up[i] : 0;
      const int c = up != nullptr && i >= static_cast<size_t>(channels) ? up[i - channels] : 0;
      const int predictions[5] = {0, a, b, (a + b) / 2, PaethReference(a, b, c)};
      raw += static_cast<char>((row[i] - predictions[filter]) & 0xff);
    }
  }
  std::vector<Bytef> packed(compressBound(static_cast<uLong>(raw.size())));
  uLongf packed_size = static_cast<uLongf>(packed.size());
  compress(packed.data(), &packed_size, reinterpret_cast<const Bytef*>(raw.data()),
           static_cast<uLong>(raw.size()));
  const std::string stream(reinterpret_cast<const char*>(packed.data()), packed_size);
  std::string png("\x89PNG\r\n\x1a\n", 8), header;
  AppendBe32(header, static_cast<uint32_t>(width));
  AppendBe32(header, static_cast<uint32_t>(height));
  header += std::string{8, static_cast<char>(colour_type), 0, 0, 0};
  AppendChunk(png, "IHDR", header);
  AppendChunk(png, "IDAT", stream.substr(0, stream.size() / 2));
  AppendChunk(png, "IDAT", stream.substr(stream.size() / 2));
  AppendChunk(png, "IEND", "");
  return png;
}

cv::Mat OpenCvDecoding(const std::string& png, bool grey) {
  // What image_decode did before the fast path: imdecode, composite alpha, then grey.
  cv::Mat image =
      cv::imdecode(cv::Mat(1, static_cast<int>(png.size()), CV_8UC1, const_cast<char*>(png.data())),
                   cv::IMREAD_UNCHANGED);
  if (image.channels() == 2 || image.channels() == 4) {
    const int colours = image.channels() - 1;
    cv::Mat over(image.size(), CV_MAKETYPE(CV_8U, colours));
    for (int r = 0; r < image.rows; ++r) {
      for (int c = 0; c < image.cols; ++c) {
        const uint8_t* in = image.ptr<uint8_t>(r) + c * image.channels();
        for (int k = 0; k < colours; ++k) {
          over.ptr<uint8_t>(r)[c * colours + k] =
              static_cast<uint8_t>((in[k] * in[colours] + 255 * (255 - in[colours]) + 127) / 255);
        }
      }
    }
    image = over;
  }
  if (grey && image.channels() == 3) cv::cvtColor(image, image, cv::COLOR_BGR2GRAY);
  return image;
}

TEST(PngFastDecodeTest, EqualsOpenCvForEveryColourTypeAndFilter) {
  std::mt19937 rng(5);
  const struct { int colour_type, channels; } layouts[] = {{0, 1}, {2, 3}, {4, 2}, {6, 4}};
  for (const auto& layout : layouts) {
    const int width = 37, height = 23;
    std::vector<uint8_t> samples(static_cast<size_t>(width) * height * layout.channels);
    for (size_t i = 0; i < samples.size(); ++i) {
      // Smooth ramps plus noise: every filter meets both small and large differences.
      samples[i] = static_cast<uint8_t>((i * 7 / layout.channels) % 256 ^ (rng() % 64));
    }
    const std::string png =
        EncodeWithEveryFilter(samples, width, height, layout.colour_type, layout.channels);
    for (const bool grey : {true, false}) {
      SCOPED_TRACE("colour type " + std::to_string(layout.colour_type) +
                   (grey ? ", grey" : ", as stored"));
      const std::optional<cv::Mat> fast = DecodeSimplePng(png, grey);
      ASSERT_TRUE(fast.has_value());
      const cv::Mat expected = OpenCvDecoding(png, grey);
      ASSERT_EQ(fast->type(), expected.type());
      ASSERT_EQ(fast->size(), expected.size());
      EXPECT_EQ(cv::norm(*fast, expected, cv::NORM_INF), 0);
      // And through the public decoder, which takes the fast path for these files.
      DecodeOptions options;
      options.grey = grey;
      const DecodedImage decoded = DecodeImageBytes(png, options);
      ASSERT_TRUE(decoded.error.empty()) << decoded.error;
      EXPECT_EQ(cv::norm(decoded.image, expected, cv::NORM_INF), 0);
    }
  }
}

TEST(PngFastDecodeTest, EqualsOpenCvOnPngsOpenCvWrote) {
  cv::Mat photo(61, 83, CV_8UC3);
  cv::randu(photo, 0, 255);
  cv::GaussianBlur(photo, photo, cv::Size(5, 5), 1.5);
  std::vector<uint8_t> encoded;
  ASSERT_TRUE(cv::imencode(".png", photo, encoded));
  const std::string png(encoded.begin(), encoded.end());
  EXPECT_EQ(cv::norm(*DecodeSimplePng(png, false), photo, cv::NORM_INF), 0);
  cv::Mat grey;
  cv::cvtColor(photo, grey, cv::COLOR_BGR2GRAY);
  EXPECT_EQ(cv::norm(*DecodeSimplePng(png, true), grey, cv::NORM_INF), 0);
}

TEST(PngFastDecodeTest, LeavesWhatItDoesNotTakeToOpenCv) {
  std::vector<uint8_t> encoded;
  // 16-bit and palette files go the general way.
  ASSERT_TRUE(cv::imencode(".png", cv::Mat(8, 8, CV_16UC1, cv::Scalar(1000)), encoded));
  EXPECT_FALSE(DecodeSimplePng(std::string(encoded.begin(), encoded.end()), true).has_value());
  const std::vector<uint8_t> samples(8 * 8, 7);
  std::string palette = EncodeWithEveryFilter(samples, 8, 8, 3, 1);
  EXPECT_FALSE(DecodeSimplePng(palette, true).has_value());
  // Damaged pixel data: the general decoder words the error.
  std::string damaged = EncodeWithEveryFilter(samples, 8, 8, 0, 1);
  damaged[damaged.size() - 20] ^= 0x5a;
  EXPECT_FALSE(DecodeSimplePng(damaged, true).has_value());
  EXPECT_FALSE(DecodeSimplePng("not a png at all", true).has_value());
}

}  // namespace
}  // namespace pipeline
