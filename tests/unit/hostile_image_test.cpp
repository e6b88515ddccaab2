// Image files written to get past max_pixels or to hang the reader: the size check must read
// every header exactly as the decoder will, and anything it cannot read is refused with a row.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "stages/sources/image_decode.h"
#include "stages/sources/image_paths.h"
#include "tests/unit/stage_test_util.h"

namespace pipeline {
namespace {

using stage_test::TempDir;
using ::testing::HasSubstr;

std::string Le16(uint32_t v) { return {static_cast<char>(v & 0xFF), static_cast<char>(v >> 8)}; }
std::string Le32(uint32_t v) { return Le16(v & 0xFFFF) + Le16(v >> 16); }

// A little-endian TIFF header and first IFD holding `entries` (tag, LONG, count 1, value).
std::string Tiff(const std::vector<std::pair<uint32_t, uint32_t>>& entries) {
  std::string bytes = std::string("II*\0", 4) + Le32(8) + Le16(entries.size());
  for (const auto& [tag, value] : entries) bytes += Le16(tag) + Le16(4) + Le32(1) + Le32(value);
  return bytes + Le32(0) + std::string(64, '\0');
}

DecodeOptions SmallLimit() {
  DecodeOptions options;
  options.max_pixels = 1'000'000;
  return options;
}

TEST(HostileImage, TiffDuplicateSizeTagsCountAsLibtiffCountsThem) {
  // libtiff takes the first of a duplicated tag; the check used to take the last, so a small
  // second pair hid a huge first one.
  const std::string tiff = Tiff({{256, 50000}, {256, 10}, {257, 50000}, {257, 10}});
  ASSERT_TRUE(PeekImageSize(tiff).has_value());
  EXPECT_EQ(*PeekImageSize(tiff), cv::Size(50000, 50000));
  EXPECT_THAT(DecodeImageBytes(tiff, SmallLimit()).error,
              HasSubstr("50000x50000 pixels is more than max_pixels"));
}

TEST(HostileImage, TiffStripsOrTilesBiggerThanMaxPixelsAreRefused) {
  // OpenCV allocates a whole strip (width x RowsPerStrip, even past the height) or tile before
  // decoding: a 55044x2 image with 14850 rows per strip asked for 3.2 GB (fuzz_image_header).
  const std::string strips = Tiff({{256, 55044}, {257, 2}, {278, 14850}, {279, 8}});
  EXPECT_THAT(DecodeImageBytes(strips, SmallLimit()).error,
              HasSubstr("TIFF strips or tiles of 817403400 pixels are more than max_pixels"));
  const std::string tiles = Tiff({{256, 16}, {257, 16}, {322, 4096}, {323, 4096}});
  EXPECT_THAT(DecodeImageBytes(tiles, SmallLimit()).error,
              HasSubstr("TIFF strips or tiles of 16777216 pixels"));
  // "One strip" (2^32-1 rows per strip) is the height, not a huge strip.
  const std::string one_strip = Tiff({{256, 16}, {257, 16}, {278, 0xFFFFFFFF}});
  EXPECT_THAT(DecodeImageBytes(one_strip, SmallLimit()).error,
              ::testing::Not(HasSubstr("strips or tiles")));
}

TEST(HostileImage, TiffStripsAreMeasuredWhateverIntegerTypeTheTagUses) {
  // libtiff reads RowsPerStrip from any integer type; the check read only SHORT and LONG, so the
  // same 3.2 GB strip written as SSHORT (type 8) got through (fuzz_image_header).
  std::string tiff = Tiff({{256, 55044}, {257, 2}, {278, 14850}, {279, 8}});
  const size_t rows_per_strip_type = 8 + 2 + 2 * 12 + 2;  // the third entry's type field
  for (const uint32_t type : {3u, 8u, 9u}) {              // SHORT, SSHORT, SLONG
    tiff.replace(rows_per_strip_type, 2, Le16(type));
    EXPECT_THAT(DecodeImageBytes(tiff, SmallLimit()).error,
                HasSubstr("TIFF strips or tiles of 817403400 pixels"))
        << "type " << type;
  }
  // A negative SSHORT, which libtiff refuses, does not count as a size.
  tiff.replace(rows_per_strip_type, 2, Le16(8));
  tiff.replace(rows_per_strip_type + 6, 4, Le32(0xFFFF));
  EXPECT_THAT(DecodeImageBytes(tiff, SmallLimit()).error,
              ::testing::Not(HasSubstr("strips or tiles")));
}

TEST(HostileImage, FormatsWhoseHeaderIsNotCheckedAreRefused) {
  const std::vector<std::pair<std::string, std::string>> files = {
      {"BigTIFF", std::string("II+\0\x08\0\0\0", 8) + std::string(64, '\0')},
      {"PGM", "P5\n100000 100000\n255\n" + std::string(64, '\0')},
      {"PFM", "Pf\n100000 100000\n-1.0\n" + std::string(64, '\0')},
      {"HDR", "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 100000 +X 100000\n"},
      {"Sun raster", std::string("\x59\xA6\x6A\x95", 4) + std::string(64, '\x7F')},
      {"JPEG 2000", std::string("\0\0\0\x0CjP  \r\n\x87\n", 12) + std::string(64, '\0')},
      {"GIF", "GIF89a" + std::string(64, '\xFF')},
  };
  for (const auto& [format, bytes] : files) {
    const DecodedImage decoded = DecodeImageBytes(bytes, SmallLimit());
    EXPECT_TRUE(decoded.image.empty()) << format;
    EXPECT_THAT(decoded.error, HasSubstr("cannot decode: ")) << format;
    EXPECT_THAT(decoded.error, ::testing::AnyOf(HasSubstr("not an image in a format this reads"),
                                                HasSubstr("BigTIFF is not supported")))
        << format;
  }
}

TEST(HostileImage, JpegWithTwoFrameHeadersIsCorrupt) {
  auto sof = [](uint32_t rows, uint32_t cols) {
    return std::string("\xFF\xC0\x00\x0B\x08", 5) + static_cast<char>(rows >> 8) +
           static_cast<char>(rows & 0xFF) + static_cast<char>(cols >> 8) +
           static_cast<char>(cols & 0xFF) + std::string("\x01\x01\x11\x00", 4);
  };
  const std::string jpeg = std::string("\xFF\xD8", 2) + sof(8, 8) + sof(60000, 60000) +
                           std::string("\xFF\xDA\x00\x02", 4) + "xx" + "\xFF\xD9";
  EXPECT_FALSE(PeekImageSize(jpeg).has_value());
  EXPECT_THAT(DecodeImageBytes(jpeg, SmallLimit()).error, HasSubstr("corrupt JPEG header"));
}

TEST(HostileImage, FifosAndDevicesAreRefusedWithoutBlocking) {
  // Before, opening the FIFO waited for a writer forever, and /dev/zero was an "empty file".
  TempDir dir;
  const std::string fifo = dir.file("photo.png");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THAT(DecodeImageFile(fifo, {}).error, HasSubstr("not a regular file"));
  EXPECT_THAT(DecodeImageFile("/dev/zero", {}).error, HasSubstr("not a regular file"));
  EXPECT_THAT(DecodeImageFile(dir.file("missing.png"), {}).error,
              HasSubstr("cannot open: No such file or directory"));
  // A /proc file says it is empty but is not: it is read, and refused for what it holds.
  EXPECT_THAT(DecodeImageFile("/proc/self/status", {}).error,
              HasSubstr("not an image in a format this reads"));
}

TEST(HostileImage, FoldersYieldRefusedFormatsSoThatEachGetsARow) {
  TempDir dir;
  for (const std::string name : {"a.png", "b.gif", "c.pgm", "d.hdr", "e.txt"}) {
    std::ofstream(dir.file(name)) << "x";
  }
  const std::vector<std::string> files = ExpandImagePaths(dir.file(""));
  EXPECT_EQ(files, (std::vector<std::string>{dir.file("a.png"), dir.file("b.gif"),
                                             dir.file("c.pgm"), dir.file("d.hdr")}));
}

}  // namespace
}  // namespace pipeline
