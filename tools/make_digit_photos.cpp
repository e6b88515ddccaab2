// make_digit_photos: writes realistic photos of handwritten digits made from MNIST *test* digits
// (tools/digit_photos.h): single digits, multi-digit strips, the harder categories of
// tools/digit_photo_categories.h (rows under a lamp, ruled and squared paper, thick marker, low
// resolution, chalk, small digits in a large photo, touching digits) and a short video, with the
// truth in the file names (00012_label7.jpg, 00003_strip_label4271.png,
// 00020_row_lamp_label512.jpg) and in labels.csv.
//
//   make_digit_photos --mnist /path/to/mnist --out photos --singles 1000 --strips 100
//   make_digit_photos --mnist ... --out hard --singles 0 --strips 0 --per-category 50
//   make_digit_photos --mnist ... --out clip --singles 0 --video clip.avi --seconds 4
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <opencv2/videoio.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "stages/sources/idx_reader.h"
#include "tools/digit_photo_categories.h"
#include "tools/digit_photos.h"

namespace {

namespace fs = std::filesystem;
using pipeline::photos::Photo;
using pipeline::photos::Scene;

struct Options {
  std::string mnist = PIPELINE_MNIST_DIR;
  std::string out = "digit_photos";
  int singles = 20;
  int strips = 4;
  int per_category = 0;  // photos of each category beyond single digits and strips
  int first = 0;         // first MNIST test index used
  uint64_t seed = 1;
  std::string video;  // file name inside out; empty: none
  double seconds = 4;
  double png_fraction = 0.3;  // the rest are JPEG
};

void Usage() {
  std::cerr << "usage: make_digit_photos [--mnist DIR] [--out DIR] [--singles N] [--strips N]\n"
               "                         [--per-category N]\n"
               "                         [--first INDEX] [--seed N] [--video NAME.avi] "
               "[--seconds S]\n"
               "                         [--png-fraction F]\n";
}

Options Parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--mnist")
      options.mnist = value;
    else if (flag == "--out")
      options.out = value;
    else if (flag == "--singles")
      options.singles = std::stoi(value);
    else if (flag == "--strips")
      options.strips = std::stoi(value);
    else if (flag == "--per-category")
      options.per_category = std::stoi(value);
    else if (flag == "--first")
      options.first = std::stoi(value);
    else if (flag == "--seed")
      options.seed = std::stoull(value);
    else if (flag == "--video")
      options.video = value;
    else if (flag == "--seconds")
      options.seconds = std::stod(value);
    else if (flag == "--png-fraction")
      options.png_fraction = std::stod(value);
    else
      throw std::invalid_argument("unknown option " + flag);
  }
  return options;
}

std::string Number(int i) {
  char text[16];
  std::snprintf(text, sizeof(text), "%05d", i);
  return text;
}

std::string Digits(const std::vector<int>& labels) {
  std::string text;
  for (int label : labels) text += std::to_string(label);
  return text;
}

std::string Boxes(const std::vector<cv::Rect>& boxes) {
  std::string text;
  for (const cv::Rect& box : boxes) {
    if (!text.empty()) text += ';';
    text += std::to_string(box.x) + " " + std::to_string(box.y) + " " + std::to_string(box.width) +
            " " + std::to_string(box.height);
  }
  return text;
}

void WriteFile(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream file(path, std::ios::binary);
  file.write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  if (!file) throw std::runtime_error(path.string() + ": cannot write");
}

// A 640x480 clip: three digits on one sheet drifting across the frame, new sensor noise each
// frame, MJPG. The truth per frame is the same digits.
void WriteVideo(const Options& options, const pipeline::IdxImages& images,
                const std::vector<int32_t>& labels, std::mt19937_64& rng, std::ofstream& truth) {
  std::vector<cv::Mat> digits;
  std::vector<int> digit_labels;
  for (int i = 0; i < 3; ++i) {
    const int index = options.first + options.singles + 5 * options.strips + i;
    digits.push_back(images.image(index));
    digit_labels.push_back(labels[static_cast<size_t>(index)]);
  }
  Scene scene = pipeline::photos::StripScene(digits, digit_labels, rng);
  // Re-lay the strip on a 640x480 page, 120 px tall digits.
  const double scale = 120.0 / scene.digits[0].box.height;
  scene.size = cv::Size(640, 480);
  for (auto& digit : scene.digits) {
    digit.box = cv::Rect2d(digit.box.x * scale + 60, 180, digit.box.width * scale,
                           digit.box.height * scale);
  }
  pipeline::photos::RandomLook(scene, rng);
  const fs::path path = fs::path(options.out) / options.video;
  cv::VideoWriter writer(path.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 30, scene.size,
                         true);
  if (!writer.isOpened()) throw std::runtime_error(path.string() + ": cannot write MJPG video");
  const int frames = static_cast<int>(options.seconds * 30);
  const std::vector<cv::Rect2d> start = [&] {
    std::vector<cv::Rect2d> boxes;
    for (const auto& digit : scene.digits) boxes.push_back(digit.box);
    return boxes;
  }();
  for (int f = 0; f < frames; ++f) {
    const double t = static_cast<double>(f) / std::max(1, frames - 1);
    for (size_t i = 0; i < scene.digits.size(); ++i) {
      scene.digits[i].box =
          start[i] + cv::Point2d(120 * std::sin(6.28 * t), 60 * std::sin(12.57 * t));
    }
    Photo frame = pipeline::photos::Render(scene, rng);
    cv::Mat bgr = frame.image;
    if (bgr.channels() == 1) cv::cvtColor(bgr, bgr, cv::COLOR_GRAY2BGR);
    writer.write(bgr);
    truth << options.video << "#" << f << "," << Digits(frame.labels) << "," << Boxes(frame.boxes)
          << "\n";
  }
  std::cout << "wrote " << path.string() << ": " << frames << " frames, 640x480, digits "
            << Digits(digit_labels) << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options options = Parse(argc, argv);
    const std::string dir = options.mnist + "/";
    const pipeline::IdxImages images = pipeline::ReadIdxImages(dir + "t10k-images-idx3-ubyte.gz");
    const std::vector<int32_t> labels = pipeline::ReadIdxLabels(dir + "t10k-labels-idx1-ubyte.gz");
    fs::create_directories(options.out);
    std::ofstream truth(fs::path(options.out) / "labels.csv");
    truth << "file,digits,boxes\n";
    std::mt19937_64 rng(options.seed);
    int index = options.first;
    for (int i = 0; i < options.singles; ++i, ++index) {
      const int label = labels[static_cast<size_t>(index)];
      Scene scene = pipeline::photos::SingleDigitScene(images.image(index), label, rng);
      const bool jpeg = pipeline::photos::Uniform(rng, 0, 1) >= options.png_fraction;
      // PNGs are what scanners give: grey, no sensor noise (and files of a few KB).
      if (!jpeg) {
        scene.noise_sigma = 0;
        scene.grey = true;
      }
      const Photo photo = pipeline::photos::Render(scene, rng);
      const int quality = static_cast<int>(pipeline::photos::Uniform(rng, 60, 95));
      const std::string name =
          Number(index) + "_label" + std::to_string(label) + (jpeg ? ".jpg" : ".png");
      WriteFile(fs::path(options.out) / name, pipeline::photos::Encode(photo.image, jpeg, quality));
      truth << name << "," << label << "," << Boxes(photo.boxes) << "\n";
    }
    for (int i = 0; i < options.strips; ++i) {
      const int count = 2 + static_cast<int>(pipeline::photos::Uniform(rng, 0, 4));
      std::vector<cv::Mat> digits;
      std::vector<int> digit_labels;
      for (int k = 0; k < count; ++k, ++index) {
        digits.push_back(images.image(index));
        digit_labels.push_back(labels[static_cast<size_t>(index)]);
      }
      Scene scene = pipeline::photos::StripScene(digits, digit_labels, rng);
      const bool jpeg = pipeline::photos::Uniform(rng, 0, 1) >= options.png_fraction;
      if (!jpeg) {
        scene.noise_sigma = 0;
        scene.grey = true;
      }
      const Photo photo = pipeline::photos::Render(scene, rng);
      const std::string name =
          Number(index - count) + "_strip_label" + Digits(photo.labels) + (jpeg ? ".jpg" : ".png");
      WriteFile(fs::path(options.out) / name, pipeline::photos::Encode(photo.image, jpeg, 85));
      truth << name << "," << Digits(photo.labels) << "," << Boxes(photo.boxes) << "\n";
    }
    for (const pipeline::photos::Category category : pipeline::photos::AllCategories()) {
      if (category == pipeline::photos::Category::kPhoto ||
          category == pipeline::photos::Category::kStrip) {
        continue;  // written above
      }
      for (int i = 0; i < options.per_category; ++i) {
        const int count = pipeline::photos::DigitCount(category, rng);
        std::vector<cv::Mat> digits;
        std::vector<int> digit_labels;
        for (int k = 0; k < count; ++k, ++index) {
          digits.push_back(images.image(index % images.count));
          digit_labels.push_back(labels[static_cast<size_t>(index % images.count)]);
        }
        const Scene scene = pipeline::photos::CategoryScene(category, digits, digit_labels, rng);
        const Photo photo = pipeline::photos::Render(scene, rng);
        const bool jpeg = pipeline::photos::Uniform(rng, 0, 1) >= options.png_fraction;
        const std::string name = Number(index - count) + "_" +
                                 pipeline::photos::CategoryName(category) + "_label" +
                                 Digits(photo.labels) + (jpeg ? ".jpg" : ".png");
        WriteFile(fs::path(options.out) / name, pipeline::photos::Encode(photo.image, jpeg, 85));
        truth << name << "," << Digits(photo.labels) << "," << Boxes(photo.boxes) << "\n";
      }
    }
    if (!options.video.empty()) WriteVideo(options, images, labels, rng, truth);
    std::cout << "wrote " << options.singles << " single-digit photos and " << options.strips
              << " strips";
    if (options.per_category > 0) {
      std::cout << " and " << options.per_category << " of each further category";
    }
    std::cout << " to " << options.out << " (truth in labels.csv)\n";
    return 0;
  } catch (const std::exception& e) {
    Usage();
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
