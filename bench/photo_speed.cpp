// photo_speed: end-to-end folder prediction throughput — decode, extract, classify, write the
// CSV — on small photos (80-320 px, JPEG and PNG, tools/digit_photos.h), through the engine with
// the product's graph. Prints the median of several runs and each stage's busy time.
//
//   photo_speed --checkpoint runs/mnist/latest.ckpt [--photos 3000] [--runs 5] [--threads 2]
//               [--precision int8]    # cnn_predict's precision (auto, fp32, bf16, int8)
//               [--max-side 128]      # photos scaled down to at most 128 px
//               [--dir DIR]           # keep the photos in DIR (reused when it holds them), e.g.
//                                     # to profile `pipeline run predict.graph` on the same set
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_cli.h"
#include "bench/photo_bench_util.h"
#include "nn/openmp_policy.h"
#include "stages/sources/idx_reader.h"
#include "tools/digit_photos.h"

int main(int argc, char** argv) {
  // As the `pipeline` command does: oneDNN's OpenMP threads must not spin next to the
  // engine's workers (stages/cnn/openmp_policy.h).
  pipeline::cnn::reexec_with_passive_openmp(argv);
  using namespace pipeline;
  std::string checkpoint, mnist = PIPELINE_MNIST_DIR;
  std::string kept_dir, precision = "auto";
  int count = 3000, runs = 5, threads = 2, max_side = 0;
  const auto stop = bench::ParseCommandLine(
      argc, argv, "photo_speed",
      "photo_speed --checkpoint FILE [options]\n\nFolder prediction throughput (decode, extract, "
      "classify, write the CSV) on generated photos of MNIST test digits, through the product's "
      "graph: the median of several runs and each stage's busy time.",
      [&](bench::OptionAdder& add) {
        add("checkpoint", boost::program_options::value(&checkpoint)->required(),
            "checkpoint (or .onnx model) that classifies");
        add("photos", bench::IntAtLeast(&count, 1, "photos"), "photos generated");
        add("runs", bench::IntAtLeast(&runs, 1, "runs"), "timed runs (median)");
        add("threads", bench::IntAtLeast(&threads, 1, "threads"), "threads");
        add("max-side", bench::IntAtLeast(&max_side, 0, "max-side"),
            "photos scaled down to at most this many px (0: as generated)");
        add("mnist", bench::Defaulted(&mnist), "MNIST folder (t10k digits are drawn)");
        add("dir", bench::Defaulted(&kept_dir),
            "keep the photos in this folder (reused when it holds as many)");
        add("precision", bench::OneOf(&precision, {"auto", "fp32", "bf16", "int8"}, "precision"),
            "cnn_predict's precision");
      });
  if (stop) return *stop;
  try {
    const IdxImages images = ReadIdxImages(mnist + "/t10k-images-idx3-ubyte.gz");
    const std::string dir = kept_dir.empty() ? bench::MakeTempDir("photo-speed") : kept_dir;
    std::filesystem::create_directories(dir);
    // A kept folder holding as many photos as asked for is reused as it is.
    const auto files = std::distance(std::filesystem::directory_iterator(dir),
                                     std::filesystem::directory_iterator());
    const bool reuse = !kept_dir.empty() && files == count;
    std::mt19937_64 rng(3);
    int64_t bytes = 0, pixels = 0;
    for (int i = 0; i < count && !reuse; ++i) {
      photos::Scene scene = photos::SingleDigitScene(images.image(i % images.count), -1, rng);
      const bool jpeg = i % 2 == 0;
      // PNGs are what scanners and screenshots give (as in make_digit_photos): little noise.
      if (!jpeg) scene.noise_sigma = std::min(scene.noise_sigma, 1.0);
      photos::Photo photo = photos::Render(scene, rng);
      const int longer = std::max(photo.image.rows, photo.image.cols);
      if (max_side > 0 && longer > max_side) {  // smaller photos, same content
        const double factor = static_cast<double>(max_side) / longer;
        cv::resize(photo.image, photo.image, cv::Size(), factor, factor, cv::INTER_AREA);
      }
      const std::vector<uint8_t> encoded = photos::Encode(photo.image, jpeg, 85);
      char name[32];
      std::snprintf(name, sizeof(name), "/%05d.%s", i, jpeg ? "jpg" : "png");
      std::ofstream(dir + name, std::ios::binary)
          .write(reinterpret_cast<const char*>(encoded.data()),
                 static_cast<std::streamsize>(encoded.size()));
      bytes += static_cast<int64_t>(encoded.size());
      pixels += photo.image.total();
    }
    if (reuse) {
      std::cout << count << " photos reused from " << dir << "; " << threads << " threads, "
                << precision << "\n";
    } else {
      std::cout << count << " photos (half JPEG, half PNG), mean " << pixels / count << " pixels, "
                << bytes / count / 1024.0 << " KiB each; " << threads << " threads, " << precision
                << "\n";
    }
    const std::string graph =
        "stage { name: \"source\" plugin: \"image_source\" param { key: \"path\" value: \"" + dir +
        "\" } param { key: \"grey\" value: \"true\" } }\n"
        "max_in_flight: 32\n"
        "stage { name: \"extract\" plugin: \"digit_extract\" input: \"source\" "
        "param { key: \"keep_origin\" value: \"false\" } }\n"
        "stage { name: \"classify\" plugin: \"cnn_predict\" input: \"extract\" "
        "param { key: \"checkpoint\" value: \"" +
        checkpoint + "\" } param { key: \"precision\" value: \"" + precision +
        "\" } }\n"
        "stage { name: \"output\" plugin: \"predictions\" input: \"classify\" "
        "param { key: \"output\" value: \"" +
        dir +
        ".csv\" } "
        "param { key: \"fail_on_error\" value: \"false\" } }\n";
    std::vector<double> rates, cpu_per_image;
    RunResult last;
    for (int run = 0; run < runs; ++run) {
      const double cpu_before = bench::ProcessCpuSeconds();
      last = bench::RunGraphText(graph, threads);
      const double cpu = bench::ProcessCpuSeconds() - cpu_before;
      rates.push_back(count / last.wall_seconds);
      cpu_per_image.push_back(cpu / count);
      std::printf("run %d: %.0f images/s (%.2f s wall, %.2f s CPU: %.0f us CPU per image)\n",
                  run + 1, rates.back(), last.wall_seconds, cpu, 1e6 * cpu / count);
    }
    const double cpu = bench::Median(cpu_per_image);
    std::printf(
        "median: %.0f images/s end to end on %d threads (target >= 3000 on 2 cores)\n"
        "CPU per image %.0f us: %.0f images/s if %d cores were this run's alone\n",
        bench::Median(rates), threads, 1e6 * cpu, threads / cpu, threads);
    std::cout << "stage busy time, last run:\n" << bench::ProfileLines(last);
    // Where the CPU goes: the same photos through the first stages only (into `count`).
    const std::string source =
        "max_in_flight: 32\n"
        "stage { name: \"source\" plugin: \"image_source\" param { key: \"path\" value: \"" +
        dir + "\" } param { key: \"grey\" value: \"true\" } }\n";
    const std::string extract =
        "stage { name: \"extract\" plugin: \"digit_extract\" input: \"source\" "
        "param { key: \"keep_origin\" value: \"false\" } }\n";
    const auto cpu_of = [&](const std::string& stages, const std::string& last_stage) {
      std::vector<double> per_image;
      for (int run = 0; run < runs; ++run) {
        const double before = bench::ProcessCpuSeconds();
        bench::RunGraphText(
            stages + "stage { name: \"count\" plugin: \"count\" input: \"" + last_stage + "\" }\n",
            threads);
        per_image.push_back((bench::ProcessCpuSeconds() - before) / count);
      }
      return bench::Median(per_image);
    };
    const double decode = cpu_of(source, "source");
    const double extracted = cpu_of(source + extract, "extract");
    std::printf(
        "CPU per image by step (median of %d runs each): decode %.0f us, digit_extract "
        "%.0f us, cnn_predict + predictions %.0f us\n",
        runs, 1e6 * decode, 1e6 * (extracted - decode), 1e6 * (cpu - extracted));
    if (kept_dir.empty()) std::filesystem::remove_all(dir);
    std::filesystem::remove(dir + ".csv");
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
