// `camera_source`: frames from a camera, a video file or a stream URL (cv::VideoCapture).
//
// Live sources (a camera, a URL) run a grabbing thread that keeps only the newest frame:
// classifying a frame the camera took a second ago is worse than skipping it, so stale frames
// are dropped (and counted), never queued. Video files are read frame by frame, none dropped.
// A camera that is missing fails the run at open with a clear message; one that stops mid-way
// ends the stream cleanly. Every wait is bounded and watches for Ctrl-C.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <stdexcept>
#include <string>
#include <thread>

#include "pipeline/payloads.h"
#include "pipeline/registry.h"
#include "stages/stage_registrations.h"

namespace pipeline {
namespace {

using Clock = std::chrono::steady_clock;

bool IsUrl(const std::string& path) { return path.find("://") != std::string::npos; }

// One backend each, named: with CAP_ANY OpenCV tries GStreamer and an image-sequence reader
// before giving up on a bad file, each printing its own warnings. FFmpeg reads files and
// streams; V4L2 is the camera interface on Linux.
#ifdef __linux__
constexpr int kCameraBackend = cv::CAP_V4L2;
#else
constexpr int kCameraBackend = cv::CAP_ANY;
#endif

class CameraSource : public Stage {
 public:
  ~CameraSource() override {
    // A run that ended early (a window closed, early stopping) never asked for another frame.
    // One that never started (another stage failed to open) has nothing to report: its own
    // error is what the user needs to see.
    if (opened_ && !ended_ && emitted_ > 0) Finish("finished early");
    StopGrabbing();
  }

  void open(const Params& params) override {
    path_ = params.get_string("path");
    const int64_t device = params.get_int("device");
    max_frames_ = params.get_int("max_frames");
    timeout_ = std::chrono::milliseconds(static_cast<int64_t>(params.get_float("timeout") * 1000));
    size_ = cv::Size(static_cast<int>(params.get_int("width")),
                     static_cast<int>(params.get_int("height")));
    const std::string& live = params.get_string("live");
    if (!path_.empty()) {
      OpenPath();
      // A recorded clip played as if live: what the pipeline keeps up with, as from a camera.
      if (live != "auto") live_ = true;
      realtime_ = live == "realtime";
      file_ = !IsUrl(path_);
    } else if (device >= 0) {
      OpenCamera(static_cast<int>(device), params.get_float("fps"));
    } else {
      throw std::invalid_argument(
          "set path (a video file or stream URL) or device (a camera "
          "index, 0 for the first camera)");
    }
    if (live_) grabber_ = std::thread([this] { Grab(); });
    opened_ = true;
  }

  bool produce(Emitter& out) override {
    if (!ended_ && StopRequested()) Finish("stopped");
    if (!ended_ && max_frames_ > 0 && emitted_ >= max_frames_) Finish("");
    cv::Mat frame;
    if (!ended_) frame = live_ ? TakeNewest() : ReadNext();
    if (ended_ || frame.empty()) {
      if (!ended_) Finish("");
      out.end_epoch(0);
      return false;
    }
    if (size_.width > 0 && size_.height > 0 && frame.size() != size_) {
      cv::resize(frame, frame, size_, 0, 0, cv::INTER_AREA);
    }
    auto sample = std::make_shared<Sample>();
    sample->source = name_ + "#" + std::to_string(emitted_);
    sample->image = frame;
    sample->origin = std::make_shared<const cv::Mat>(frame);
    out.emit(std::move(sample), 0, emitted_);
    ++emitted_;
    return true;
  }

 private:
  bool StopRequested() const {
    return env().stop_requested != nullptr && env().stop_requested->load();
  }

  void OpenPath() {
    name_ = IsUrl(path_) ? path_ : std::filesystem::path(path_).filename().string();
    live_ = IsUrl(path_);
    if (!live_ && !std::filesystem::exists(path_)) {
      throw std::runtime_error(path_ + ": no such video file");
    }
    if (live_) {
      // Bounded connection and read waits: a dead stream must not hang the run.
      const int ms = static_cast<int>(timeout_.count());
      capture_.open(path_, cv::CAP_FFMPEG,
                    {cv::CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv::CAP_PROP_READ_TIMEOUT_MSEC, ms});
    } else {
      capture_.open(path_, cv::CAP_FFMPEG);
    }
    if (!capture_.isOpened()) {
      throw std::runtime_error(path_ + (live_ ? ": cannot open the stream (unreachable, or no "
                                                "backend for it)"
                                              : ": cannot read it as a video (not a video, or "
                                                "no codec for it)"));
    }
  }

  void OpenCamera(int device, double fps) {
    name_ = "camera" + std::to_string(device);
    live_ = true;
    capture_.open(device, kCameraBackend);
    if (!capture_.isOpened()) {
      throw std::runtime_error(
          "cannot open camera " + std::to_string(device) +
          ": no such camera, it is busy, or access is denied (/dev/video" + std::to_string(device) +
          "). To classify a video file instead: --set " +
          (env().name.empty() ? std::string("camera") : env().name) + ".path=clip.avi");
    }
    if (size_.width > 0) capture_.set(cv::CAP_PROP_FRAME_WIDTH, size_.width);
    if (size_.height > 0) capture_.set(cv::CAP_PROP_FRAME_HEIGHT, size_.height);
    if (fps > 0) capture_.set(cv::CAP_PROP_FPS, fps);
  }

  cv::Mat ReadNext() {
    cv::Mat frame;
    if (!capture_.read(frame)) return cv::Mat();
    return frame;
  }

  // The grabbing thread: reads as fast as the device delivers, keeps the newest frame. A file
  // played in real time is read at its own frame rate, as a camera would deliver it.
  void Grab() {
    const Clock::time_point start = Clock::now();
    Clock::time_point last_frame = start;
    const double fps = file_ && realtime_ ? capture_.get(cv::CAP_PROP_FPS) : 0.0;
    int64_t read = 0;
    while (!stop_grabbing_.load()) {
      if (fps > 0 && fps < 1000 && !WaitUntil(start + FrameTime(read, fps))) break;
      cv::Mat frame;
      if (capture_.read(frame) && !frame.empty()) {
        ++read;
        last_frame = Clock::now();
        std::lock_guard lock(mutex_);
        if (!newest_.empty()) ++dropped_;
        newest_ = frame;
        ++grabbed_;
        fresh_.notify_one();
      } else if (file_ || Clock::now() - last_frame > timeout_) {
        break;  // the file ended, or the device stopped delivering
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    std::lock_guard lock(mutex_);
    grabber_done_ = true;
    fresh_.notify_one();
  }

  static Clock::duration FrameTime(int64_t frame, double fps) {
    return std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(static_cast<double>(frame) / fps));
  }

  // Sleeps until `due` in short slices; false when asked to stop meanwhile.
  bool WaitUntil(Clock::time_point due) {
    while (Clock::now() < due) {
      if (stop_grabbing_.load()) return false;
      std::this_thread::sleep_for(
          std::min<Clock::duration>(due - Clock::now(), std::chrono::milliseconds(20)));
    }
    return true;
  }

  // Waits (in short slices, watching Ctrl-C) for a frame newer than the last one taken.
  cv::Mat TakeNewest() {
    const Clock::time_point deadline = Clock::now() + timeout_;
    std::unique_lock lock(mutex_);
    while (newest_.empty()) {
      if (grabber_done_) {
        lock.unlock();
        Finish(file_ ? "" : emitted_ == 0 ? "delivered no frame" : "stopped delivering frames");
        return cv::Mat();
      }
      if (StopRequested()) {
        lock.unlock();
        Finish("stopped");
        return cv::Mat();
      }
      if (Clock::now() > deadline) {
        lock.unlock();
        Finish("delivered no frame for " + std::to_string(timeout_.count() / 1000.0).substr(0, 4) +
               " s");
        return cv::Mat();
      }
      fresh_.wait_for(lock, std::chrono::milliseconds(50));
    }
    cv::Mat frame;
    std::swap(frame, newest_);
    return frame;
  }

  void Finish(const std::string& why) {
    ended_ = true;
    StopGrabbing();
    capture_.release();
    std::cerr << "camera_source: " << name_ << (why.empty() ? "" : " " + why) << "; " << emitted_
              << " frames";
    if (live_) std::cerr << ", " << dropped_ << " dropped (a newer frame was ready)";
    std::cerr << std::endl;
  }

  void StopGrabbing() {
    stop_grabbing_.store(true);
    if (grabber_.joinable()) grabber_.join();
  }

  std::string path_, name_;
  bool live_ = false;
  bool file_ = false;      // a video file, not a camera or stream
  bool realtime_ = false;  // a file read at its frame rate
  int64_t max_frames_ = 0;
  std::chrono::milliseconds timeout_{5000};
  cv::Size size_;
  cv::VideoCapture capture_;
  int64_t emitted_ = 0;
  bool opened_ = false;
  bool ended_ = false;

  std::thread grabber_;
  std::atomic<bool> stop_grabbing_{false};
  std::mutex mutex_;
  std::condition_variable fresh_;
  cv::Mat newest_;  // the newest frame not yet taken
  bool grabber_done_ = false;
  int64_t grabbed_ = 0, dropped_ = 0;
};

}  // namespace

void RegisterCameraSource(Registry& registry) {
  StageInfo info;
  info.name = "camera_source";
  info.kind = StageKind::kSource;
  info.concurrency = Concurrency::kSerial;
  info.doc = "Frames from a camera, video file or stream URL; live sources drop stale frames";
  info.outputs = {{"frames", "sample", "CV_8UC3 BGR frame, source NAME#FRAME, origin = the frame"}};
  info.params = {
      IntParam("device", 0, -1, 1000,
               "camera index (0: the first camera); used when path is empty, -1: none"),
      InputFile(
          StringParam("path", "",
                      "a video file (frames read in order, none dropped) or a stream URL "
                      "(rtsp://, http://; live like a camera); takes precedence over device")),
      IntParam("width", 0, 0, 16384,
               "capture width asked of a camera; frames of other sizes are scaled (0: as given)"),
      IntParam("height", 0, 0, 16384, "capture height, as width"),
      FloatParam("fps", 0, 0, 1000, "frame rate asked of a camera (0: its default)"),
      IntParam("max_frames", 0, 0, 1e12, "stop after this many frames (0: all)"),
      ChoiceParam("live", "auto", {"auto", "yes", "realtime"},
                  "auto: cameras and stream URLs are live (stale frames dropped), files are read "
                  "frame by frame; yes: a file too is played as if live, as fast as it decodes; "
                  "realtime: as yes, at the file's own frame rate (as a camera delivers)"),
      FloatParam("timeout", 5, 0.1, 3600,
                 "seconds without a frame after which a live source counts as stopped"),
  };
  info.create = [] { return std::make_unique<CameraSource>(); };
  registry.add(std::move(info));
}

}  // namespace pipeline
