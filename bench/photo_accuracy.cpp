// photo_accuracy: how much worse a checkpoint reads realistic photos of digits than MNIST itself.
//
// Generates photos from MNIST *test* digits (tools/digit_photos.h: tinted, unevenly lit paper,
// off-centre, rotated, in perspective, blurred, noisy, JPEG), runs them through the product's
// own graph (image_source → digit_extract → cnn_predict → predictions) and compares with the
// same checkpoint on the plain MNIST test set (idx_source → cnn_predict → predictions). Without
// a checkpoint it reports extraction quality only: digits found, box overlap, and correlation of
// each extracted 28x28 with the MNIST original.
//
//   photo_accuracy --checkpoint runs/mnist/best.ckpt [--singles 2000] [--strips 300]
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <string>
#include <vector>

#include "bench/photo_bench_util.h"
#include "nn/openmp_policy.h"
#include "stages/sources/idx_reader.h"
#include "stages/transforms/digit_extraction.h"
#include "tools/digit_photos.h"

namespace {

namespace fs = std::filesystem;
using namespace pipeline;

struct Options {
  std::string checkpoint;
  std::string mnist = PIPELINE_MNIST_DIR;
  int singles = 2000;
  int strips = 300;
  int threads = 2;
  uint64_t seed = 7;
  bool keep = false;
};

struct Truth {
  std::string digits;
  std::vector<int> mnist_indices;
  std::vector<cv::Rect> boxes;
};

double Correlation(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat fa, fb;
  a.convertTo(fa, CV_64F);
  b.convertTo(fb, CV_64F);
  cv::Scalar ma, sa, mb, sb;
  cv::meanStdDev(fa, ma, sa);
  cv::meanStdDev(fb, mb, sb);
  if (sa[0] == 0 || sb[0] == 0) return 0;
  return cv::mean((fa - ma[0]).mul(fb - mb[0]))[0] / (sa[0] * sb[0]);
}

double Iou(const cv::Rect& a, const cv::Rect& b) {
  const double inter = (a & b).area();
  const double uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0;
}

std::string Percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f%%", 100 * fraction);
  return text;
}

std::string PredictGraph(const std::string& source_stage, const std::string& checkpoint,
                         const std::string& output, bool extract) {
  std::string graph = "name: \"photo_accuracy\"\n" + source_stage;
  std::string input = "source";
  if (extract) {
    graph += "stage { name: \"extract\" plugin: \"digit_extract\" input: \"source\" }\n";
    input = "extract";
  }
  graph += "stage { name: \"classify\" plugin: \"cnn_predict\" input: \"" + input +
           "\" param { key: \"checkpoint\" value: \"" + checkpoint + "\" } }\n";
  graph +=
      "stage { name: \"out\" plugin: \"predictions\" input: \"classify\" "
      "param { key: \"output\" value: \"" +
      output +
      "\" } "
      "param { key: \"fail_on_error\" value: \"false\" } }\n";
  return graph;
}

}  // namespace

int main(int argc, char** argv) {
  // As the `pipeline` command does: oneDNN's OpenMP threads must not spin next to the
  // engine's workers (stages/cnn/openmp_policy.h).
  pipeline::cnn::reexec_with_passive_openmp(argv);
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--checkpoint")
      options.checkpoint = value;
    else if (flag == "--mnist")
      options.mnist = value;
    else if (flag == "--singles")
      options.singles = std::stoi(value);
    else if (flag == "--strips")
      options.strips = std::stoi(value);
    else if (flag == "--threads")
      options.threads = std::stoi(value);
    else if (flag == "--seed")
      options.seed = std::stoull(value);
    else if (flag == "--keep")
      options.keep = value == "1";
    else {
      std::cerr << "unknown option " << flag << "\n";
      return 2;
    }
  }
  try {
    const IdxImages images = ReadIdxImages(options.mnist + "/t10k-images-idx3-ubyte.gz");
    const std::vector<int32_t> labels = ReadIdxLabels(options.mnist + "/t10k-labels-idx1-ubyte.gz");
    const std::string dir = bench::MakeTempDir("photo-accuracy");
    const std::string photos = dir + "/photos";
    fs::create_directories(photos);

    // Photos: single digits and strips drawn from a seeded permutation of the test set.
    std::mt19937_64 rng(options.seed);
    std::vector<int> order(static_cast<size_t>(images.count));
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    std::shuffle(order.begin(), order.end(), rng);
    std::map<std::string, Truth> truth;
    size_t next = 0;
    int jpegs = 0, greys = 0;
    for (int i = 0; i < options.singles + options.strips; ++i) {
      const bool single = i < options.singles;
      const int count = single ? 1 : 2 + static_cast<int>(photos::Uniform(rng, 0, 4));
      std::vector<cv::Mat> digits;
      std::vector<int> digit_labels, indices;
      for (int k = 0; k < count; ++k) {
        const int index = order[next++ % order.size()];
        indices.push_back(index);
        digits.push_back(images.image(index));
        digit_labels.push_back(labels[static_cast<size_t>(index)]);
      }
      const photos::Scene scene = single ? photos::SingleDigitScene(digits[0], digit_labels[0], rng)
                                         : photos::StripScene(digits, digit_labels, rng);
      const photos::Photo photo = photos::Render(scene, rng);
      const bool jpeg = photos::Uniform(rng, 0, 1) < 0.7;
      const int quality = static_cast<int>(photos::Uniform(rng, 60, 95));
      jpegs += jpeg;
      greys += photo.image.channels() == 1;
      char name[64];
      std::snprintf(name, sizeof(name), "%s%05d.%s", single ? "single" : "strip", i,
                    jpeg ? "jpg" : "png");
      const std::vector<uint8_t> bytes = photos::Encode(photo.image, jpeg, quality);
      std::ofstream(photos + "/" + name, std::ios::binary)
          .write(reinterpret_cast<const char*>(bytes.data()),
                 static_cast<std::streamsize>(bytes.size()));
      Truth& t = truth[photos + "/" + name];
      for (int label : photo.labels) t.digits += std::to_string(label);
      // Render sorts left to right; map the indices the same way (by label order is ambiguous
      // for repeated digits, so keep the boxes' order, which Render also returns).
      t.boxes = photo.boxes;
      if (single) t.mnist_indices = indices;
    }
    std::cout << "generated " << options.singles << " single-digit photos and " << options.strips
              << " strips of 2-5 digits (" << jpegs << " JPEG, " << greys << " grey) in " << photos
              << "\n";

    // Extraction alone: digits found, box overlap, likeness to the MNIST original.
    int one_found = 0, boxes_ok = 0, strips_count_ok = 0;
    std::vector<double> correlations;
    for (const auto& [path, t] : truth) {
      const cv::Mat image = cv::imread(path, cv::IMREAD_UNCHANGED);
      const std::vector<ExtractedDigit> found = ExtractDigits(image, DigitExtractOptions{});
      if (t.mnist_indices.empty()) {
        strips_count_ok += found.size() == t.digits.size();
        continue;
      }
      if (found.size() != 1) continue;
      ++one_found;
      boxes_ok += Iou(found[0].box, t.boxes[0]) > 0.6;
      correlations.push_back(Correlation(found[0].image, images.image(t.mnist_indices[0])));
    }
    int above = 0;
    for (double c : correlations) above += c > 0.8;
    std::cout << "extraction: single photos with exactly one digit found "
              << Percent(double(one_found) / options.singles) << ", box IoU > 0.6 "
              << Percent(double(boxes_ok) / options.singles) << "; correlation with the MNIST "
              << "original: median " << bench::Median(correlations) << ", > 0.8 for "
              << Percent(correlations.empty() ? 0 : double(above) / correlations.size())
              << "; strips with the right digit count "
              << Percent(options.strips ? double(strips_count_ok) / options.strips : 0) << "\n";

    if (options.checkpoint.empty()) {
      std::cout << "no --checkpoint: classification accuracy not measured\n";
    } else {
      const std::string photo_csv = dir + "/photos.csv", mnist_csv = dir + "/mnist.csv";
      bench::RunGraphText(
          PredictGraph("stage { name: \"source\" plugin: \"image_source\" param { key: \"path\" "
                       "value: \"" +
                           photos + "\" } }\n",
                       options.checkpoint, photo_csv, true),
          options.threads);
      bench::RunGraphText(
          PredictGraph("stage { name: \"source\" plugin: \"idx_source\" param { key: \"images\" "
                       "value: \"" +
                           options.mnist +
                           "/t10k-images-idx3-ubyte.gz\" } param { key: "
                           "\"labels\" value: \"" +
                           options.mnist + "/t10k-labels-idx1-ubyte.gz\" } }\n",
                       options.checkpoint, mnist_csv, false),
          options.threads);
      int single_ok = 0, strip_ok = 0, strip_digits = 0, strip_digits_ok = 0;
      for (const auto& row : bench::ReadPredictionsCsv(photo_csv)) {
        const Truth& t = truth.at(row.file);
        if (!t.mnist_indices.empty()) {
          single_ok += row.error.empty() && row.digits == t.digits;
          continue;
        }
        strip_ok += row.error.empty() && row.digits == t.digits;
        strip_digits += static_cast<int>(t.digits.size());
        if (row.digits.size() == t.digits.size()) {
          for (size_t k = 0; k < t.digits.size(); ++k)
            strip_digits_ok += row.digits[k] == t.digits[k];
        }
      }
      int mnist_ok = 0, mnist_rows = 0;
      for (const auto& row : bench::ReadPredictionsCsv(mnist_csv)) {
        ++mnist_rows;
        mnist_ok += row.digits == row.label;
      }
      const double photo_accuracy = double(single_ok) / options.singles;
      const double mnist_accuracy = double(mnist_ok) / mnist_rows;
      std::cout << "MNIST test (" << mnist_rows << " images):        " << Percent(mnist_accuracy)
                << "\nsingle-digit photos (" << options.singles << "): " << Percent(photo_accuracy)
                << "\ngap: " << std::fixed;
      std::printf("%.2f points (must be under 1.5)\n", 100 * (mnist_accuracy - photo_accuracy));
      std::cout << "strips (" << options.strips << "): all digits right "
                << Percent(options.strips ? double(strip_ok) / options.strips : 0) << ", per digit "
                << Percent(strip_digits ? double(strip_digits_ok) / strip_digits : 0) << "\n";
    }
    if (!options.keep) fs::remove_all(dir);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
