// image_source on real files: every format, depth and alpha variant written with cv::imwrite,
// broken files mixed in (one error row each, the rest go on), and the path forms.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "pipeline/payloads.h"
#include "stages/sources/image_decode.h"
#include "stages/sources/image_paths.h"
#include "tests/unit/stage_test_util.h"

namespace pipeline {
namespace {

namespace fs = std::filesystem;
using stage_test::DrainSource;
using stage_test::OpenStage;
using stage_test::RecordingEmitter;
using stage_test::StandardRegistry;
using stage_test::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A 40x30 picture with distinct regions, so a decode that swaps channels or rows shows.
cv::Mat Picture(int type) {
  cv::Mat eight(30, 40, CV_8UC3, cv::Scalar(200, 180, 160));
  cv::rectangle(eight, cv::Rect(5, 5, 10, 20), cv::Scalar(20, 40, 250), cv::FILLED);
  cv::Mat picture;
  const int channels = CV_MAT_CN(type);
  if (channels == 1) {
    cv::cvtColor(eight, picture, cv::COLOR_BGR2GRAY);
  } else if (channels == 4) {
    cv::cvtColor(eight, picture, cv::COLOR_BGR2BGRA);
  } else {
    picture = eight;
  }
  if (CV_MAT_DEPTH(type) == CV_16U) picture.convertTo(picture, CV_MAKETYPE(CV_16U, channels), 257);
  return picture;
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

RecordingEmitter RunSource(const std::map<std::string, std::string>& overrides) {
  const Registry registry = StandardRegistry();
  auto source = OpenStage(registry, "image_source", overrides);
  return DrainSource(*source);
}

struct Variant {
  std::string name;
  int type;         // what is written
  int expect_type;  // what image_source emits
  bool lossless;
  std::vector<int> write_params;
};

TEST(ImageSourceTest, DecodesEveryFormatDepthAndChannelLayout) {
  const std::vector<Variant> variants = {
      {"grey8.png", CV_8UC1, CV_8UC1, true, {}},
      {"grey16.png", CV_16UC1, CV_8UC1, true, {}},
      {"colour8.png", CV_8UC3, CV_8UC3, true, {}},
      {"colour16.png", CV_16UC3, CV_8UC3, true, {}},
      {"alpha8.png", CV_8UC4, CV_8UC3, true, {}},
      {"colour.jpg", CV_8UC3, CV_8UC3, false, {cv::IMWRITE_JPEG_QUALITY, 95}},
      {"grey.jpg", CV_8UC1, CV_8UC1, false, {cv::IMWRITE_JPEG_QUALITY, 95}},
      {"colour.bmp", CV_8UC3, CV_8UC3, true, {}},
      {"grey8.tif", CV_8UC1, CV_8UC1, true, {}},
      {"colour16.tiff", CV_16UC3, CV_8UC3, true, {}},
      {"lossless.webp", CV_8UC3, CV_8UC3, true, {cv::IMWRITE_WEBP_QUALITY, 101}},
      {"lossy.webp", CV_8UC3, CV_8UC3, false, {cv::IMWRITE_WEBP_QUALITY, 90}},
  };
  TempDir dir;
  for (const Variant& v : variants) {
    ASSERT_TRUE(cv::imwrite(dir.file(v.name), Picture(v.type), v.write_params)) << v.name;
  }
  const RecordingEmitter out = RunSource({{"path", dir.file("")}});
  const std::vector<Message> messages = out.messages();
  ASSERT_EQ(messages.size(), variants.size());
  for (const Message& msg : messages) {
    const Sample& sample = msg.as<Sample>();
    const std::string name = fs::path(sample.source).filename().string();
    const auto variant = std::find_if(variants.begin(), variants.end(),
                                      [&](const Variant& v) { return v.name == name; });
    ASSERT_NE(variant, variants.end()) << sample.source;
    SCOPED_TRACE(name);
    EXPECT_EQ(sample.error, "");
    ASSERT_EQ(sample.image.type(), variant->expect_type);
    ASSERT_EQ(sample.image.size(), cv::Size(40, 30));
    ASSERT_TRUE(sample.origin);
    EXPECT_EQ(sample.origin->data, sample.image.data);  // the decoded image, not a copy
    // The 8-bit picture it was written from (alpha is opaque here, so compositing is a no-op).
    cv::Mat expected = Picture(CV_MAKETYPE(CV_8U, variant->expect_type == CV_8UC1 ? 1 : 3));
    const double tolerance = variant->lossless ? 1.0 : 12.0;
    // Lossy codecs smear the sharp red-on-beige edge; compare the mean error there.
    if (variant->lossless) {
      EXPECT_LE(cv::norm(sample.image, expected, cv::NORM_INF), 1.0);
    }
    EXPECT_LE(
        cv::norm(sample.image, expected, cv::NORM_L1) / expected.total() / expected.channels(),
        tolerance);
  }
}

TEST(ImageSourceTest, CompositesAlphaOverWhite) {
  TempDir dir;
  cv::Mat bgra(2, 3, CV_8UC4);
  bgra.at<cv::Vec4b>(0, 0) = {0, 0, 0, 0};      // transparent black → white paper
  bgra.at<cv::Vec4b>(0, 1) = {0, 0, 0, 255};    // opaque black stays black
  bgra.at<cv::Vec4b>(0, 2) = {0, 0, 0, 128};    // half → mid grey
  bgra.at<cv::Vec4b>(1, 0) = {255, 0, 0, 255};  // opaque blue
  bgra.at<cv::Vec4b>(1, 1) = {255, 0, 0, 0};    // transparent blue → white
  bgra.at<cv::Vec4b>(1, 2) = {40, 80, 120, 255};
  ASSERT_TRUE(cv::imwrite(dir.file("alpha.png"), bgra));
  cv::Mat grey_alpha16(1, 2, CV_16UC4);
  grey_alpha16.at<cv::Vec4w>(0, 0) = {0, 0, 0, 0};
  grey_alpha16.at<cv::Vec4w>(0, 1) = {0, 0, 0, 65535};
  ASSERT_TRUE(cv::imwrite(dir.file("alpha16.png"), grey_alpha16));

  const auto messages = RunSource({{"path", dir.file("alpha.png")}}).messages();
  ASSERT_EQ(messages.size(), 1u);
  const cv::Mat& image = messages[0].as<Sample>().image;
  ASSERT_EQ(image.type(), CV_8UC3);
  EXPECT_EQ(image.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 255, 255));
  EXPECT_EQ(image.at<cv::Vec3b>(0, 1), cv::Vec3b(0, 0, 0));
  EXPECT_NEAR(image.at<cv::Vec3b>(0, 2)[0], 127, 1);
  EXPECT_EQ(image.at<cv::Vec3b>(1, 0), cv::Vec3b(255, 0, 0));
  EXPECT_EQ(image.at<cv::Vec3b>(1, 1), cv::Vec3b(255, 255, 255));
  EXPECT_EQ(image.at<cv::Vec3b>(1, 2), cv::Vec3b(40, 80, 120));

  const auto wide = RunSource({{"path", dir.file("alpha16.png")}}).messages();
  const cv::Mat& image16 = wide.at(0).as<Sample>().image;
  ASSERT_EQ(image16.type(), CV_8UC3);
  EXPECT_EQ(image16.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 255, 255));
  EXPECT_EQ(image16.at<cv::Vec3b>(0, 1), cv::Vec3b(0, 0, 0));
}

TEST(ImageSourceTest, BrokenFilesBecomeOneErrorRowEachAndTheRestGoOn) {
  TempDir dir;
  const cv::Mat picture = Picture(CV_8UC3);
  ASSERT_TRUE(cv::imwrite(dir.file("a_good.png"), picture));
  ASSERT_TRUE(cv::imwrite(dir.file("c_good.jpg"), picture));
  ASSERT_TRUE(cv::imwrite(dir.file("g_good.bmp"), picture));
  std::vector<uint8_t> jpeg;
  cv::imencode(".jpg", picture, jpeg);
  std::vector<uint8_t> png;
  cv::imencode(".png", picture, png);
  WriteBytes(dir.file("b_empty.png"), "");
  WriteBytes(dir.file("d_truncated.jpg"),
             std::string(jpeg.begin(), jpeg.begin() + jpeg.size() / 2));
  WriteBytes(dir.file("e_text.png"), "this is not a picture\n");
  WriteBytes(dir.file("f_truncated.png"), std::string(png.begin(), png.begin() + png.size() / 2));
  // A valid PNG signature and header claiming 100000 x 100000 pixels, and nothing else.
  std::string huge(
      "\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x01\x86\xa0\x00\x01\x86\xa0\x08\x02"
      "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00IEND\xae\x42\x60\x82",
      45);
  WriteBytes(dir.file("h_huge.png"), huge);

  const RecordingEmitter out = RunSource({{"path", dir.file("")}});
  const std::vector<Message> messages = out.messages();
  ASSERT_EQ(messages.size(), 8u);
  std::vector<std::string> names, errors;
  for (size_t i = 0; i < messages.size(); ++i) {
    const Sample& sample = messages[i].as<Sample>();
    EXPECT_EQ(messages[i].index, static_cast<int64_t>(i));
    EXPECT_EQ(sample.epoch_size, 8);
    names.push_back(fs::path(sample.source).filename().string());
    errors.push_back(sample.error);
    EXPECT_EQ(sample.image.empty(), !sample.error.empty()) << sample.source;
  }
  EXPECT_THAT(names, ElementsAre("a_good.png", "b_empty.png", "c_good.jpg", "d_truncated.jpg",
                                 "e_text.png", "f_truncated.png", "g_good.bmp", "h_huge.png"));
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "cannot decode: empty file");
  EXPECT_EQ(errors[2], "");
  EXPECT_THAT(errors[3], StartsWith("cannot decode: truncated"));
  EXPECT_THAT(errors[4], StartsWith("cannot decode: not an image"));
  EXPECT_THAT(errors[5], StartsWith("cannot decode: truncated PNG"));
  EXPECT_EQ(errors[6], "");
  EXPECT_THAT(errors[7], HasSubstr("100000x100000 pixels is more than max_pixels"));
  // The end of the epoch comes after the last file.
  ASSERT_FALSE(out.events.empty());
  EXPECT_TRUE(out.events.back().is_end_epoch());
}

TEST(ImageSourceTest, DecodingAheadOnThreadsKeepsTheOrderAndTheErrors) {
  TempDir dir;
  for (int i = 0; i < 40; ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "%02d.%s", i, i % 7 == 3 ? "png" : "jpg");
    if (i % 7 == 3) {
      WriteBytes(dir.file(name), "broken");
    } else {
      ASSERT_TRUE(cv::imwrite(dir.file(name), cv::Mat(10 + i, 20, CV_8UC3, cv::Scalar(i, 0, 0))));
    }
  }
  const auto serial = RunSource({{"path", dir.file("")}, {"decode_threads", "0"}}).messages();
  const auto ahead = RunSource({{"path", dir.file("")}, {"decode_threads", "3"}}).messages();
  ASSERT_EQ(serial.size(), 40u);
  ASSERT_EQ(ahead.size(), 40u);
  for (size_t i = 0; i < 40; ++i) {
    const Sample& a = serial[i].as<Sample>();
    const Sample& b = ahead[i].as<Sample>();
    EXPECT_EQ(ahead[i].index, static_cast<int64_t>(i));
    EXPECT_EQ(a.source, b.source);
    EXPECT_EQ(a.error, b.error);
    EXPECT_EQ(b.error.empty(), i % 7 != 3) << b.source;
    EXPECT_EQ(b.image.rows, a.image.rows);
  }
}

TEST(ImageSourceTest, DecodesStraightToGreyWhenAsked) {
  TempDir dir;
  ASSERT_TRUE(cv::imwrite(dir.file("a.jpg"), Picture(CV_8UC3), {cv::IMWRITE_JPEG_QUALITY, 95}));
  ASSERT_TRUE(cv::imwrite(dir.file("b.png"), Picture(CV_8UC4)));
  const auto messages = RunSource({{"path", dir.file("")}, {"grey", "true"}}).messages();
  ASSERT_EQ(messages.size(), 2u);
  cv::Mat expected;
  cv::cvtColor(Picture(CV_8UC3), expected, cv::COLOR_BGR2GRAY);
  for (const auto& msg : messages) {
    const cv::Mat& image = msg.as<Sample>().image;
    ASSERT_EQ(image.type(), CV_8UC1) << msg.as<Sample>().source;
    EXPECT_LE(cv::norm(image, expected, cv::NORM_L1) / expected.total(), 3.0);
  }
}

// Phones store photos as the sensor saw them and say in EXIF how to turn them upright.
TEST(ImageSourceTest, TurnsJpegsUprightAsTheirExifSays) {
  std::vector<uint8_t> jpeg;
  ASSERT_TRUE(cv::imencode(".jpg", Picture(CV_8UC3), jpeg));  // 40 wide, 30 tall
  // An APP1 segment whose IFD0 holds one entry: Orientation (0x0112) = 6, "rotate 90° CW".
  const std::string exif(
      "\xFF\xE1\x00\x22"
      "Exif\0\0II*\0\x08\x00\x00\x00\x01\x00"
      "\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00\x00",
      36);
  std::string bytes(jpeg.begin(), jpeg.end());
  bytes.insert(2, exif);  // right after the start-of-image marker
  TempDir dir;
  WriteBytes(dir.file("sideways.jpg"), bytes);
  const auto messages = RunSource({{"path", dir.file("sideways.jpg")}}).messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].as<Sample>().image.size(), cv::Size(30, 40));
}

TEST(ImageSourceTest, RefusesImagesAboveTheLimitsBeforeDecoding) {
  TempDir dir;
  ASSERT_TRUE(cv::imwrite(dir.file("wide.png"), cv::Mat(10, 300, CV_8UC1, cv::Scalar(9))));
  auto messages = RunSource({{"path", dir.file("wide.png")}, {"max_pixels", "2999"}}).messages();
  EXPECT_EQ(messages.at(0).as<Sample>().error,
            "cannot decode: 300x10 pixels is more than max_pixels (2999)");
  messages = RunSource({{"path", dir.file("wide.png")}, {"max_file_bytes", "10"}}).messages();
  EXPECT_THAT(messages.at(0).as<Sample>().error, HasSubstr("more than max_file_bytes (10)"));
  messages = RunSource({{"path", dir.file("wide.png")}, {"max_pixels", "3000"}}).messages();
  EXPECT_EQ(messages.at(0).as<Sample>().error, "");
}

TEST(ImageSourceTest, PeeksTheSizeFromEveryHeader) {
  const cv::Mat picture(37, 53, CV_8UC3, cv::Scalar(1, 2, 3));
  for (const std::string extension : {".png", ".jpg", ".bmp", ".tif", ".webp"}) {
    std::vector<uint8_t> bytes;
    ASSERT_TRUE(cv::imencode(extension, picture, bytes)) << extension;
    const auto size =
        PeekImageSize(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    ASSERT_TRUE(size.has_value()) << extension;
    EXPECT_EQ(*size, cv::Size(53, 37)) << extension;
  }
  EXPECT_FALSE(PeekImageSize("GIF89a....").has_value());
}

TEST(ImageSourceTest, TakesTheLabelFromTheFileName) {
  TempDir dir;
  const cv::Mat picture = Picture(CV_8UC1);
  for (const std::string name : {"00012_label7.png", "00013_strip_label42.png", "plain.png"}) {
    ASSERT_TRUE(cv::imwrite(dir.file(name), picture));
  }
  std::vector<int> labels;
  for (const auto& msg : RunSource({{"path", dir.file("")}}).messages()) {
    labels.push_back(msg.as<Sample>().label);
  }
  EXPECT_THAT(labels, ElementsAre(7, -1, -1));
  labels.clear();
  for (const auto& msg :
       RunSource({{"path", dir.file("")}, {"label_from_name", "false"}}).messages()) {
    labels.push_back(msg.as<Sample>().label);
  }
  EXPECT_THAT(labels, ElementsAre(-1, -1, -1));
}

TEST(ImagePathsTest, ExpandsFoldersGlobsListsAndCommaSeparatedItems) {
  TempDir dir;
  fs::create_directories(dir.file("photos/sub"));
  fs::create_directories(dir.file("photos/.thumbnails"));
  for (const std::string name :
       {"photos/b.png", "photos/a.JPG", "photos/sub/c.webp", "photos/.hidden.png",
        "photos/.thumbnails/t.png", "photos/notes.txt", "other/x.png", "other/y.jpg"}) {
    fs::create_directories(fs::path(dir.file(name)).parent_path());
    WriteBytes(dir.file(name), "x");
  }
  const std::string root = dir.file("");
  EXPECT_THAT(
      ExpandImagePaths(root + "photos"),
      ElementsAre(root + "photos/a.JPG", root + "photos/b.png", root + "photos/sub/c.webp"));
  EXPECT_THAT(ExpandImagePaths(root + "other/*.png, " + root + "photos/notes.txt"),
              ElementsAre(root + "other/x.png", root + "photos/notes.txt"));
  WriteBytes(dir.file("other/list.txt"),
             "# photos to read\ny.jpg\n\n../photos/b.png\nmissing.png\n");
  EXPECT_THAT(ExpandImagePaths("@" + root + "other/list.txt"),
              ElementsAre(root + "other/y.jpg", root + "photos/b.png", root + "other/missing.png"));

  EXPECT_THROW(
      {
        try {
          ExpandImagePaths(root + "nowhere");
        } catch (const std::runtime_error& e) {
          EXPECT_THAT(e.what(), HasSubstr("nowhere: no such file or folder"));
          throw;
        }
      },
      std::runtime_error);
  EXPECT_THROW(ExpandImagePaths(root + "other/*.gif"), std::runtime_error);
  fs::create_directories(dir.file("empty"));
  EXPECT_THROW(ExpandImagePaths(root + "empty"), std::runtime_error);
  EXPECT_THROW(ExpandImagePaths("@" + root + "no_list.txt"), std::runtime_error);
}

TEST(ImageSourceTest, AMissingFileInAListIsAnErrorRow) {
  TempDir dir;
  ASSERT_TRUE(cv::imwrite(dir.file("good.png"), Picture(CV_8UC1)));
  WriteBytes(dir.file("list.txt"), "good.png\ngone.png\n");
  const auto messages = RunSource({{"path", "@" + dir.file("list.txt")}}).messages();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].as<Sample>().error, "");
  EXPECT_THAT(messages[1].as<Sample>().error, StartsWith("cannot decode: cannot open"));
}

TEST(ImageSourceTest, StopsWhenAskedTo) {
  TempDir dir;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(cv::imwrite(dir.file(std::to_string(i) + ".png"), Picture(CV_8UC1)));
  }
  const Registry registry = StandardRegistry();
  auto source = OpenStage(registry, "image_source", {{"path", dir.file("")}});
  std::atomic<bool> stop{false};
  StageEnv env = source->env();
  env.stop_requested = &stop;
  source->set_env(env);
  RecordingEmitter out;
  EXPECT_TRUE(source->produce(out));
  stop = true;
  EXPECT_FALSE(source->produce(out));
  EXPECT_EQ(out.messages().size(), 1u);
}

}  // namespace
}  // namespace pipeline
