// image_grid (stages/sinks/image_grid.cpp), the augmentation preview sink: the PNG it writes is
// decoded here (a small reader following the PNG specification, on zlib) and checked pixel by
// pixel against the images that went in.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "pipeline/payloads.h"
#include "pipeline/testing/stage_harness.h"
#include "stages/sources/idx_reader.h"
#include "stages/stage_registrations.h"

namespace pipeline {
namespace {

using ::testing::HasSubstr;

uint32_t BigEndian(const std::string& bytes, size_t at) {
  return (uint32_t{static_cast<uint8_t>(bytes[at])} << 24) |
         (uint32_t{static_cast<uint8_t>(bytes[at + 1])} << 16) |
         (uint32_t{static_cast<uint8_t>(bytes[at + 2])} << 8) |
         uint32_t{static_cast<uint8_t>(bytes[at + 3])};
}

// Decodes an 8-bit greyscale or RGB, non-interlaced PNG into CV_8UC1 or CV_8UC3 (BGR). Fails the
// test on anything malformed: signature, chunk CRCs, header fields, zlib stream, filter types.
cv::Mat ReadPng(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(file)), {});
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  int width = 0, height = 0, channels = 0;
  std::string compressed;
  bool ended = false;
  for (size_t at = 8; at + 12 <= bytes.size() && !ended;) {
    const uint32_t length = BigEndian(bytes, at);
    const std::string type = bytes.substr(at + 4, 4);
    const std::string data = bytes.substr(at + 8, length);
    const uint32_t crc = crc32(0L, reinterpret_cast<const Bytef*>(bytes.data() + at + 4),
                               static_cast<uInt>(4 + length));
    EXPECT_EQ(crc, BigEndian(bytes, at + 8 + length)) << "CRC of chunk " << type;
    if (type == "IHDR") {
      width = static_cast<int>(BigEndian(data, 0));
      height = static_cast<int>(BigEndian(data, 4));
      EXPECT_EQ(data[8], 8) << "bit depth";
      EXPECT_TRUE(data[9] == 0 || data[9] == 2) << "colour type " << int{data[9]};
      channels = data[9] == 0 ? 1 : 3;
      EXPECT_EQ(data.substr(10), std::string(3, '\0'));
    } else if (type == "IDAT") {
      compressed += data;
    } else if (type == "IEND") {
      ended = true;
      EXPECT_EQ(at + 12, bytes.size()) << "bytes after IEND";
    }
    at += 12 + length;
  }
  EXPECT_TRUE(ended) << "no IEND chunk";
  if (width <= 0 || height <= 0 || channels == 0) return {};
  const size_t stride = static_cast<size_t>(width) * channels;
  std::vector<uint8_t> raw((stride + 1) * height);
  uLongf raw_size = raw.size();
  EXPECT_EQ(uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(compressed.data()),
                       compressed.size()),
            Z_OK);
  EXPECT_EQ(raw_size, raw.size());
  // Undo each scanline's filter (PNG specification, section 9).
  cv::Mat image(height, width, CV_8UC(channels));
  for (int y = 0; y < height; ++y) {
    const uint8_t filter = raw[y * (stride + 1)];
    const uint8_t* in = &raw[y * (stride + 1) + 1];
    uint8_t* out = image.ptr<uint8_t>(y);
    const uint8_t* up = y > 0 ? image.ptr<uint8_t>(y - 1) : nullptr;
    for (size_t i = 0; i < stride; ++i) {
      const int a = i >= static_cast<size_t>(channels) ? out[i - channels] : 0;
      const int b = up ? up[i] : 0;
      const int c = up && i >= static_cast<size_t>(channels) ? up[i - channels] : 0;
      int predicted = 0;
      switch (filter) {
        case 0:
          break;
        case 1:
          predicted = a;
          break;
        case 2:
          predicted = b;
          break;
        case 3:
          predicted = (a + b) / 2;
          break;
        case 4: {
          const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          predicted = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          ADD_FAILURE() << "filter type " << int{filter};
          return {};
      }
      out[i] = static_cast<uint8_t>(in[i] + predicted);
    }
  }
  if (channels == 3) cv::cvtColor(image, image, cv::COLOR_RGB2BGR);
  return image;
}

class ImageGridTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& register_stage : StandardStageRegistrations()) register_stage(registry_);
    dir_ = std::filesystem::temp_directory_path() /
           ("image_grid_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    images_ = ReadIdxImages(std::string(PIPELINE_MNIST_DIR) + "/t10k-images-idx3-ubyte.gz");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<StageHarness> Grid(const std::string& output,
                                     std::map<std::string, std::string> params = {}) {
    std::string spec = "plugin: \"image_grid\" param { key: \"output\" value: \"" + output + "\" }";
    for (const auto& [key, value] : params) {
      spec += " param { key: \"" + key + "\" value: \"" + value + "\" }";
    }
    return std::make_unique<StageHarness>(registry_, spec);
  }

  static std::shared_ptr<Sample> SampleOf(const cv::Mat& image) {
    auto sample = std::make_shared<Sample>();
    sample->image = image;
    return sample;
  }

  // The tile of row `row`, column `column` in a grid of 28x28 images drawn `scale` times larger.
  static cv::Mat Tile(const cv::Mat& grid, int row, int column, int scale) {
    const int cell = 28 * scale;
    return grid(
        cv::Rect(scale + column * (cell + scale), scale + row * (cell + scale), cell, cell));
  }

  static cv::Mat Enlarged(const cv::Mat& image, int scale) {
    cv::Mat big;
    cv::resize(image, big, cv::Size(), scale, scale, cv::INTER_NEAREST);
    return big;
  }

  Registry registry_;
  std::filesystem::path dir_;
  IdxImages images_;
};

TEST_F(ImageGridTest, DrawsOriginalsThenOneColumnPerEpoch) {
  const std::string output = (dir_ / "grid.png").string();
  auto grid = Grid(output, {{"scale", "3"}, {"max_rows", "4"}});
  const int original = grid->input_port("original"), augmented = grid->input_port("augmented");
  // 6 digits over 3 epochs; the "augmentation" here is a known one: inverting the digit in epoch
  // 1, flipping it in epoch 2. Only rows 0..3 are drawn (max_rows).
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    for (int64_t i = 0; i < 6; ++i) {
      const cv::Mat digit = images_.image(i);
      cv::Mat changed = digit.clone();
      if (epoch == 1) changed = 255 - digit;
      if (epoch == 2) cv::flip(digit, changed, 1);
      grid->push(augmented, epoch, i, SampleOf(changed));  // either input may be ahead
      grid->push(original, epoch, i, SampleOf(digit));
    }
  }
  EXPECT_FALSE(std::filesystem::exists(output)) << "written before the end of the stream";
  grid->close();
  const cv::Mat png = ReadPng(output);
  ASSERT_EQ(png.type(), CV_8UC1);
  // 4 columns (original + 3 epochs) and 4 rows of 84x84 tiles, 3-pixel grey gaps around each.
  ASSERT_EQ(png.cols, 4 * 84 + 5 * 3);
  ASSERT_EQ(png.rows, 4 * 84 + 5 * 3);
  for (int row = 0; row < 4; ++row) {
    const cv::Mat digit = images_.image(row);
    cv::Mat flipped;
    cv::flip(digit, flipped, 1);
    EXPECT_EQ(cv::norm(Tile(png, row, 0, 3), Enlarged(digit, 3), cv::NORM_INF), 0) << row;
    EXPECT_EQ(cv::norm(Tile(png, row, 1, 3), Enlarged(digit, 3), cv::NORM_INF), 0) << row;
    EXPECT_EQ(cv::norm(Tile(png, row, 2, 3), Enlarged(255 - digit, 3), cv::NORM_INF), 0) << row;
    EXPECT_EQ(cv::norm(Tile(png, row, 3, 3), Enlarged(flipped, 3), cv::NORM_INF), 0) << row;
  }
  // The gaps are mid-grey.
  EXPECT_EQ(png.at<uint8_t>(0, 0), 128);
  EXPECT_EQ(png.at<uint8_t>(100, 1), 128);
  EXPECT_EQ(png.at<uint8_t>(88, 100), 128);
  // Written under a temporary name and renamed: none is left.
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(output).parent_path())) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
  }
}

TEST_F(ImageGridTest, ShowsNormalizedImagesAsTheyWereBeforeNormalizing) {
  const std::string output = (dir_ / "normalized.png").string();
  auto grid = Grid(output, {{"scale", "1"}});
  const cv::Mat digit = images_.image(0);
  const Normalization mnist{true, 1.0 / 255, 0.1307, 0.3081};
  cv::Mat normalized;
  digit.convertTo(normalized, CV_32F, mnist.scale / mnist.std, -mnist.mean / mnist.std);
  // An "augmentation" that halves the contrast: it must look half as bright, not be stretched
  // back to full range; and one that lifts the background by a tenth.
  const float background = static_cast<float>(-mnist.mean / mnist.std);
  const cv::Mat dimmer = (normalized - background) * 0.5 + background;
  const cv::Mat lifted = normalized + 0.1 / mnist.std;
  auto with = [&](const cv::Mat& image) {
    auto sample = SampleOf(image);
    sample->normalization = mnist;
    return sample;
  };
  grid->push(grid->input_port("original"), 0, 0, with(normalized));
  grid->push(grid->input_port("augmented"), 0, 0, with(dimmer));
  grid->push(grid->input_port("augmented"), 1, 0, with(lifted));
  grid->close();
  const cv::Mat png = ReadPng(output);
  ASSERT_EQ(png.size(), cv::Size(3 * 28 + 4, 28 + 2));
  EXPECT_LE(cv::norm(Tile(png, 0, 0, 1), digit, cv::NORM_INF), 1);
  cv::Mat half;
  digit.convertTo(half, CV_8U, 0.5);
  EXPECT_LE(cv::norm(Tile(png, 0, 1, 1), half, cv::NORM_INF), 1);
  cv::Mat brighter;
  digit.convertTo(brighter, CV_8U, 1, 25.5);  // clipped at 255 like the display
  EXPECT_LE(cv::norm(Tile(png, 0, 2, 1), brighter, cv::NORM_INF), 1);
}

TEST_F(ImageGridTest, ScalesOtherFloatRowsByTheirOriginalsRange) {
  const std::string output = (dir_ / "float.png").string();
  auto grid = Grid(output, {{"scale", "1"}});
  const cv::Mat digit = images_.image(0);
  // Floats of unknown origin: 0..255 mapped to 10..30.
  cv::Mat original;
  digit.convertTo(original, CV_32F, 20.0 / 255, 10);
  const cv::Mat dimmer = (original - 10) * 0.5 + 10;
  grid->push(grid->input_port("original"), 0, 0, SampleOf(original));
  grid->push(grid->input_port("augmented"), 0, 0, SampleOf(dimmer));
  grid->close();
  const cv::Mat png = ReadPng(output);
  ASSERT_EQ(png.size(), cv::Size(2 * 28 + 3, 28 + 2));
  // The original spans black to white (digit 0 has both 0 and 255), the dimmer one half of it.
  EXPECT_LE(cv::norm(Tile(png, 0, 0, 1), digit, cv::NORM_INF), 1);
  cv::Mat half;
  digit.convertTo(half, CV_8U, 0.5);
  EXPECT_LE(cv::norm(Tile(png, 0, 1, 1), half, cv::NORM_INF), 1);
}

TEST_F(ImageGridTest, ColourTilesMakeAColourGrid) {
  const std::string output = (dir_ / "colour.png").string();
  auto grid = Grid(output, {{"scale", "2"}});
  const cv::Mat digit = images_.image(3);
  cv::Mat colour;
  cv::merge(std::vector<cv::Mat>{digit, cv::Mat::zeros(28, 28, CV_8U), 255 - digit}, colour);
  grid->push(grid->input_port("original"), 0, 0, SampleOf(digit));
  grid->push(grid->input_port("augmented"), 0, 0, SampleOf(colour));
  grid->close();
  const cv::Mat png = ReadPng(output);
  ASSERT_EQ(png.type(), CV_8UC3);
  cv::Mat grey_as_colour;
  cv::cvtColor(digit, grey_as_colour, cv::COLOR_GRAY2BGR);
  EXPECT_EQ(cv::norm(Tile(png, 0, 0, 2), Enlarged(grey_as_colour, 2), cv::NORM_INF), 0);
  EXPECT_EQ(cv::norm(Tile(png, 0, 1, 2), Enlarged(colour, 2), cv::NORM_INF), 0);
}

TEST_F(ImageGridTest, RefusesToDrawNothingOrTheUndrawable) {
  const std::string output = (dir_ / "none.png").string();
  auto empty = Grid(output);
  EXPECT_THROW(empty->close(), std::runtime_error);
  EXPECT_FALSE(std::filesystem::exists(output));

  auto grid = Grid(output);
  try {
    grid->push(0, 0, 0, SampleOf(cv::Mat(28, 28, CV_8UC2, cv::Scalar::all(0))));
    ADD_FAILURE() << "a 2-channel image was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("CV_8UC2"));
  }
  EXPECT_THROW(StageHarness(registry_, R"(plugin: "image_grid")"), std::invalid_argument)
      << "output is required";
  EXPECT_THROW(Grid(output, {{"scale", "0"}}), std::invalid_argument);
}

TEST_F(ImageGridTest, ReportsAnUnwritablePath) {
  auto grid = Grid((dir_ / "no_such_folder" / "grid.png").string());
  grid->push(0, 0, 0, SampleOf(images_.image(0)));
  try {
    grid->close();
    ADD_FAILURE() << "writing into a missing folder succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("no_such_folder"));
  }
}

}  // namespace
}  // namespace pipeline
