// photo_accuracy: how much worse a checkpoint reads realistic photos of digits than MNIST itself.
//
// Generates photos from MNIST *test* digits (tools/digit_photos.h: tinted, unevenly lit paper,
// off-centre, rotated, in perspective, blurred, noisy, JPEG), runs them through the product's
// own graph (image_source → digit_extract → cnn_predict → predictions) and compares with the
// same checkpoint on the plain MNIST test set (idx_source → cnn_predict → predictions). Without
// a checkpoint it reports extraction quality only: digits found, box overlap, and correlation of
// each extracted 28x28 with the MNIST original.
//
// Besides single photos and strips it renders every category of tools/digit_photo_categories.h
// (rows under a lamp, ruled and squared paper, thick marker, low resolution, chalk, small digits
// in a large photo, touching digits) and prints the accuracy of each.
//
//   photo_accuracy --checkpoint runs/mnist/latest.ckpt [--singles 2000] [--strips 300]
//                  [--per-category 200]
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_cli.h"
#include "bench/photo_bench_util.h"
#include "nn/openmp_policy.h"
#include "stages/sources/idx_reader.h"
#include "stages/transforms/digit_extraction.h"
#include "tools/digit_photo_categories.h"
#include "tools/digit_photos.h"

namespace {

namespace fs = std::filesystem;
namespace po = boost::program_options;
using namespace pipeline;

constexpr const char* kAbout =
    "How a checkpoint reads generated photos of MNIST test digits (single digits, strips and the "
    "harder categories) against the plain MNIST test set, through the product's own graph.";

struct Options {
  std::string checkpoint;
  std::string mnist = PIPELINE_MNIST_DIR;
  int singles = 2000;
  int strips = 300;
  int per_category = 200;  // photos of each further category
  int threads = 2;
  uint64_t seed = 7;
  bool keep = false;
};

struct Truth {
  photos::Category category = photos::Category::kPhoto;
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
      "param { key: \"fail_on_error\" value: \"false\" } "
      // Every guess is scored: coverage is reported separately below.
      "param { key: \"uncertain_below\" value: \"0\" } }\n";
  return graph;
}

}  // namespace

int main(int argc, char** argv) {
  // As the `pipeline` command does: oneDNN's OpenMP threads must not spin next to the
  // engine's workers (stages/cnn/openmp_policy.h).
  pipeline::cnn::reexec_with_passive_openmp(argv);
  Options options;
  int seed = static_cast<int>(options.seed);
  const auto stop = bench::ParseCommandLine(
      argc, argv, "photo_accuracy", "photo_accuracy [options]\n\n" + std::string(kAbout),
      [&](bench::OptionAdder& add) {
        add("checkpoint", bench::Defaulted(&options.checkpoint),
            "checkpoint to score (without one: extraction quality only)");
        add("mnist", bench::Defaulted(&options.mnist), "MNIST folder (t10k digits are drawn)");
        add("singles", bench::IntAtLeast(&options.singles, 0, "singles"), "single-digit photos");
        add("strips", bench::IntAtLeast(&options.strips, 0, "strips"), "strips of 2-5 digits");
        add("per-category", bench::IntAtLeast(&options.per_category, 0, "per-category"),
            "photos of each further category");
        add("threads", bench::IntAtLeast(&options.threads, 1, "threads"), "threads");
        add("seed", bench::IntAtLeast(&seed, 0, "seed"), "seed of the digits and scenes drawn");
        add("keep", po::bool_switch(&options.keep), "keep the generated photos");
      });
  if (stop) return *stop;
  options.seed = static_cast<uint64_t>(seed);
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
    int jpegs = 0, greys = 0, total = 0;
    for (const photos::Category category : photos::AllCategories()) {
      const int count = category == photos::Category::kPhoto   ? options.singles
                        : category == photos::Category::kStrip ? options.strips
                                                               : options.per_category;
      for (int i = 0; i < count; ++i, ++total) {
        const int digit_count = photos::DigitCount(category, rng);
        std::vector<cv::Mat> digits;
        std::vector<int> digit_labels, indices;
        for (int k = 0; k < digit_count; ++k) {
          const int index = order[next++ % order.size()];
          indices.push_back(index);
          digits.push_back(images.image(index));
          digit_labels.push_back(labels[static_cast<size_t>(index)]);
        }
        const photos::Scene scene = photos::CategoryScene(category, digits, digit_labels, rng);
        const photos::Photo photo = photos::Render(scene, rng);
        const bool jpeg = photos::Uniform(rng, 0, 1) < 0.7;
        const int quality = static_cast<int>(photos::Uniform(rng, 60, 95));
        jpegs += jpeg;
        greys += photo.image.channels() == 1;
        char name[96];
        std::snprintf(name, sizeof(name), "%s%05d.%s", photos::CategoryName(category).c_str(),
                      total, jpeg ? "jpg" : "png");
        const std::vector<uint8_t> bytes = photos::Encode(photo.image, jpeg, quality);
        std::ofstream(photos + "/" + name, std::ios::binary)
            .write(reinterpret_cast<const char*>(bytes.data()),
                   static_cast<std::streamsize>(bytes.size()));
        Truth& t = truth[photos + "/" + name];
        t.category = category;
        for (int label : photo.labels) t.digits += std::to_string(label);
        t.boxes = photo.boxes;
        if (category == photos::Category::kPhoto) t.mnist_indices = indices;
      }
    }
    std::cout << "generated " << total << " photos: " << options.singles << " single-digit photos, "
              << options.strips << " strips of 2-5 digits, " << options.per_category
              << " of each further category (" << jpegs << " JPEG, " << greys << " grey) in "
              << photos << "\n";

    // Extraction alone: digits found, box overlap, likeness to the MNIST original.
    int one_found = 0, boxes_ok = 0, strips_count_ok = 0;
    std::vector<double> correlations;
    for (const auto& [path, t] : truth) {
      const cv::Mat image = cv::imread(path, cv::IMREAD_UNCHANGED);
      const std::vector<ExtractedDigit> found = ExtractDigits(image, DigitExtractOptions{});
      if (t.category == photos::Category::kStrip) {
        strips_count_ok += found.size() == t.digits.size();
        continue;
      }
      if (t.mnist_indices.empty() || found.size() != 1) continue;
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
      struct Tally {
        int photos = 0, photos_ok = 0, digits = 0, digits_ok = 0, not_found = 0, miscounted = 0;
      };
      std::map<photos::Category, Tally> tallies;
      // (confidence, right) of every digit of a photo read with the right digit count.
      std::vector<std::pair<double, bool>> scored;
      for (const auto& row : bench::ReadPredictionsCsv(photo_csv)) {
        const Truth& t = truth.at(row.file);
        Tally& tally = tallies[t.category];
        ++tally.photos;
        tally.photos_ok += row.error.empty() && row.digits == t.digits;
        tally.not_found += row.error == "no digit found";
        tally.digits += static_cast<int>(t.digits.size());
        if (row.digits.size() == t.digits.size()) {
          std::stringstream confidences(row.confidence);
          std::string confidence;
          for (size_t k = 0; k < t.digits.size(); ++k) {
            tally.digits_ok += row.digits[k] == t.digits[k];
            std::getline(confidences, confidence, ';');
            scored.emplace_back(std::stod(confidence), row.digits[k] == t.digits[k]);
          }
        } else if (row.error.empty()) {
          ++tally.miscounted;
        }
      }
      int mnist_ok = 0, mnist_rows = 0;
      for (const auto& row : bench::ReadPredictionsCsv(mnist_csv)) {
        ++mnist_rows;
        mnist_ok += row.digits == row.label;
      }
      const Tally& single = tallies[photos::Category::kPhoto];
      const Tally& strip = tallies[photos::Category::kStrip];
      const double photo_accuracy = single.photos ? double(single.photos_ok) / single.photos : 0;
      const double mnist_accuracy = double(mnist_ok) / mnist_rows;
      std::cout << "MNIST test (" << mnist_rows << " images):        " << Percent(mnist_accuracy)
                << "\nsingle-digit photos (" << single.photos << "): " << Percent(photo_accuracy)
                << "\ngap: " << std::fixed;
      std::printf("%.2f points (must be under 1.5)\n", 100 * (mnist_accuracy - photo_accuracy));
      std::cout << "strips (" << strip.photos << "): all digits right "
                << Percent(strip.photos ? double(strip.photos_ok) / strip.photos : 0)
                << ", per digit "
                << Percent(strip.digits ? double(strip.digits_ok) / strip.digits : 0)
                << "\n\nper category: photos read exactly, digits right, photos with no digit "
                   "found, photos with the wrong digit count\n";
      for (const auto& [category, tally] : tallies) {
        std::printf("  %-15s %5d photos  %7s exact  %7s of %5d digits  %4d none  %4d miscounted\n",
                    photos::CategoryName(category).c_str(), tally.photos,
                    Percent(double(tally.photos_ok) / tally.photos).c_str(),
                    Percent(double(tally.digits_ok) / tally.digits).c_str(), tally.digits,
                    tally.not_found, tally.miscounted);
      }
      // What predictions' uncertain_below trades: digits accepted against accuracy among them.
      std::cout << "\naccuracy against coverage (all categories, " << scored.size()
                << " digits of photos with the right digit count):\n";
      for (const double threshold : {0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}) {
        int accepted = 0, right = 0;
        for (const auto& [confidence, ok] : scored) {
          if (confidence < threshold) continue;
          ++accepted;
          right += ok;
        }
        std::printf("  uncertain_below %.1f: %7s of digits accepted, %7s of them right\n",
                    threshold, Percent(double(accepted) / scored.size()).c_str(),
                    Percent(accepted ? double(right) / accepted : 0).c_str());
      }
    }
    if (!options.keep) fs::remove_all(dir);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
