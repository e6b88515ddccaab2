// video_speed: the webcam graph on a 640x480 video — frames per second through
// camera_source → digit_extract → cnn_predict → annotate (→ video_writer), and the latency from
// a frame leaving the source to its annotated picture arriving at the end.
//
// Throughput runs read the file as fast as possible. Latency is measured with the source paced
// like a live camera (--camera-fps, default 30): a file read flat out queues frames in front of
// the slowest stage, which a live source never does (it drops stale frames instead).
//
//   video_speed --checkpoint runs/mnist/latest.ckpt [--frames 300] [--runs 3] [--threads 2]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bench/bench_cli.h"
#include "bench/photo_bench_util.h"
#include "nn/openmp_policy.h"
#include "pipeline/payloads.h"
#include "pipeline/registry.h"
#include "stages/sources/idx_reader.h"
#include "tools/digit_photos.h"

namespace {

using namespace pipeline;
using Clock = std::chrono::steady_clock;

// When each frame left the source and when its annotated picture arrived, by frame index.
struct Timings {
  std::mutex mutex;
  std::unordered_map<int64_t, Clock::time_point> emitted, arrived;
  double pace_fps = 0;  // 0: as fast as possible
};
Timings g_timings;

class TimingEmitter : public Emitter {
 public:
  explicit TimingEmitter(Emitter& inner) : inner_(inner) {}
  void emit(std::shared_ptr<const Payload> payload, int64_t epoch, int64_t index,
            int port) override {
    {
      std::lock_guard lock(g_timings.mutex);
      g_timings.emitted[index] = Clock::now();
    }
    inner_.emit(std::move(payload), epoch, index, port);
  }
  void end_epoch(int64_t epoch) override { inner_.end_epoch(epoch); }

 private:
  Emitter& inner_;
};

// camera_source, stamped (and optionally paced like a live camera).
class TimedCamera : public Stage {
 public:
  explicit TimedCamera(const StageInfo& camera) : inner_(camera.create()) {}
  void open(const Params& params) override {
    inner_->set_env(env());
    inner_->open(params);
    start_ = Clock::now();
  }
  bool produce(Emitter& out) override {
    if (g_timings.pace_fps > 0) {
      std::this_thread::sleep_until(
          start_ + std::chrono::duration_cast<Clock::duration>(
                       std::chrono::duration<double>(frames_ / g_timings.pace_fps)));
    }
    ++frames_;
    TimingEmitter timing(out);
    return inner_->produce(timing);
  }

 private:
  std::unique_ptr<Stage> inner_;
  Clock::time_point start_;
  int64_t frames_ = 0;
};

// Records arrival, then hands the frame to video_writer when a path is given.
class TimedSink : public Stage {
 public:
  explicit TimedSink(const StageInfo& writer) : writer_info_(writer) {}
  void open(const Params& params) override {
    if (!params.get_string("path").empty()) {
      writer_ = writer_info_.create();
      writer_->set_env(env());
      writer_->open(params);
    }
  }
  void process(const Message& msg, Emitter& out) override {
    if (writer_) writer_->process(msg, out);
    std::lock_guard lock(g_timings.mutex);
    g_timings.arrived[msg.index] = Clock::now();
  }
  void close(Emitter& out) override {
    if (writer_) writer_->close(out);
  }

 private:
  const StageInfo& writer_info_;
  std::unique_ptr<Stage> writer_;
};

void RegisterTimingStages(Registry& registry) {
  bench::RegisterCnnPredictWithFields(registry);
  StageInfo camera = registry.find("camera_source")->info;
  const Registry::Entry* writer = registry.find("video_writer");
  static StageInfo camera_info, writer_info;
  camera_info = camera;
  writer_info = writer->info;
  camera.name = "timed_camera";
  camera.create = [] { return std::make_unique<TimedCamera>(camera_info); };
  registry.add(camera);
  StageInfo sink = writer->info;
  sink.name = "timed_sink";
  for (ParamSpec& param : sink.params) {
    if (param.name == "path") {
      param.required = false;
      param.default_value = "";
    }
  }
  sink.create = [] { return std::make_unique<TimedSink>(writer_info); };
  registry.add(sink);
}

std::string Graph(const std::string& video, const std::string& checkpoint,
                  const std::string& output) {
  return "stage { name: \"camera\" plugin: \"timed_camera\" param { key: \"path\" value: \"" +
         video +
         "\" } }\n"
         "stage { name: \"extract\" plugin: \"digit_extract\" input: \"camera\" }\n"
         "stage { name: \"classify\" plugin: \"cnn_predict_fields\" input: \"extract\" "
         "param { key: \"checkpoint\" value: \"" +
         checkpoint +
         "\" } "
         "param { key: \"batch\" value: \"1\" } }\n"
         "stage { name: \"annotate\" plugin: \"annotate\" input: \"classify\" }\n"
         "stage { name: \"out\" plugin: \"timed_sink\" input: \"annotate\" "
         "param { key: \"path\" value: \"" +
         output + "\" } }\n";
}

struct Measured {
  double fps = 0;
  std::vector<double> latencies_ms;
  RunResult result;
};

Measured Run(const std::string& graph, int threads, double pace_fps) {
  {
    std::lock_guard lock(g_timings.mutex);
    g_timings.emitted.clear();
    g_timings.arrived.clear();
    g_timings.pace_fps = pace_fps;
  }
  Measured m;
  m.result = bench::RunGraphText(graph, threads, RegisterTimingStages);
  std::lock_guard lock(g_timings.mutex);
  m.fps = g_timings.arrived.size() / m.result.wall_seconds;
  for (const auto& [index, arrived] : g_timings.arrived) {
    m.latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(arrived - g_timings.emitted.at(index)).count());
  }
  return m;
}

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[static_cast<size_t>(q * (values.size() - 1))];
}

// A 640x480 MJPG clip: three MNIST test digits on lit paper, drifting across the frame.
void MakeVideo(const std::string& path, int frames, const std::string& mnist) {
  const IdxImages images = ReadIdxImages(mnist + "/t10k-images-idx3-ubyte.gz");
  std::mt19937_64 rng(9);
  photos::Scene scene =
      photos::StripScene({images.image(0), images.image(1), images.image(2)}, {7, 2, 1}, rng);
  scene.size = cv::Size(640, 480);
  double x = 100;
  for (auto& digit : scene.digits) {
    const double width = digit.box.width * 120 / digit.box.height;
    digit.box = cv::Rect2d(x, 170, width, 120);
    x += width + 50;
  }
  photos::RandomLook(scene, rng);
  const std::vector<photos::PlacedDigit> start = scene.digits;
  cv::VideoWriter writer(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 30, scene.size, true);
  if (!writer.isOpened()) throw std::runtime_error(path + ": cannot write");
  for (int f = 0; f < frames; ++f) {
    for (size_t i = 0; i < scene.digits.size(); ++i) {
      scene.digits[i].box =
          start[i].box + cv::Point2d(80 * std::sin(f * 0.05), 40 * std::sin(f * 0.09));
    }
    cv::Mat frame = photos::Render(scene, rng).image;
    if (frame.channels() == 1) cv::cvtColor(frame, frame, cv::COLOR_GRAY2BGR);
    writer.write(frame);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // As the `pipeline` command does: oneDNN's OpenMP threads must not spin next to the
  // engine's workers (stages/cnn/openmp_policy.h).
  pipeline::cnn::reexec_with_passive_openmp(argv);
  std::string checkpoint, mnist = PIPELINE_MNIST_DIR;
  int frames = 300, runs = 3, threads = 2;
  double camera_fps = 30;
  const auto stop = bench::ParseCommandLine(
      argc, argv, "video_speed",
      "video_speed --checkpoint FILE [options]\n\nThe webcam graph on a generated 640x480 video: "
      "frames per second, and the latency of a live-paced camera.",
      [&](bench::OptionAdder& add) {
        add("checkpoint", boost::program_options::value(&checkpoint)->required(),
            "checkpoint that classifies");
        add("frames", bench::IntAtLeast(&frames, 1, "frames"), "frames in the video");
        add("runs", bench::IntAtLeast(&runs, 1, "runs"), "timed runs (median)");
        add("threads", bench::IntAtLeast(&threads, 1, "threads"), "threads");
        add("camera-fps", bench::Defaulted(&camera_fps)->notifier([](double fps) {
          if (!(fps > 0 && fps <= 1000)) {
            throw boost::program_options::error("--camera-fps must be in (0, 1000]");
          }
        }),
            "pace of the live camera in the latency runs");
        add("mnist", bench::Defaulted(&mnist), "MNIST folder (t10k digits are drawn)");
      });
  if (stop) return *stop;
  try {
    const std::string dir = bench::MakeTempDir("video-speed");
    const std::string video = dir + "/clip.avi";
    MakeVideo(video, frames, mnist);
    std::cout << "video: " << frames << " frames 640x480 MJPG, 3 digits each; " << threads
              << " threads\n";
    for (const bool write : {false, true}) {
      const std::string graph = Graph(video, checkpoint, write ? dir + "/annotated.avi" : "");
      std::vector<double> rates, cpu_per_frame;
      Measured m;
      for (int run = 0; run < runs; ++run) {
        // CPU time, not only frames/s: on a shared machine it says what the frames cost.
        const double cpu_before = bench::ProcessCpuSeconds();
        m = Run(graph, threads, 0);
        cpu_per_frame.push_back((bench::ProcessCpuSeconds() - cpu_before) / frames);
        rates.push_back(m.fps);
      }
      const double cpu = bench::Median(cpu_per_frame);
      std::printf(
          "%s: median %.0f frames/s over %d runs (target >= 150); CPU per frame %.0f us: "
          "%.0f frames/s if %d cores were this run's alone\n",
          write ? "decode → extract → classify → annotate → video_writer (MJPG)"
                : "decode → extract → classify → annotate",
          bench::Median(rates), runs, 1e6 * cpu, threads / cpu, threads);
      if (!write) std::cout << "stage busy time, last run:\n" << bench::ProfileLines(m.result);
    }
    const Measured paced = Run(Graph(video, checkpoint, ""), threads, camera_fps);
    std::printf(
        "latency, frame out of the source → annotated frame at the end, source paced at "
        "%.0f fps like a camera: median %.1f ms, 95th percentile %.1f ms, max %.1f ms\n",
        camera_fps, bench::Median(paced.latencies_ms), Percentile(paced.latencies_ms, 0.95),
        Percentile(paced.latencies_ms, 1.0));
    std::filesystem::remove_all(dir);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
