// `display`: shows frames in a window. All window calls happen on one thread: the process's main
// thread where the engine offers it (StageEnv::main_thread: Qt, behind HighGUI, must be driven
// from there, or it warns at exit), else a thread the stage owns — never the engine's changing
// worker threads. The engine only hands over the newest frame, so a slow screen drops frames
// instead of slowing the pipeline.
// q or Esc in the window, or closing it, ends the run normally.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <opencv2/highgui.hpp>
#include <stdexcept>
#include <string>

#include "pipeline/payloads.h"
#include "pipeline/registry.h"
#include "stages/sinks/display_server.h"
#include "stages/stage_registrations.h"

namespace pipeline {
namespace {

class Display : public Stage {
 public:
  ~Display() override { Stop(); }

  void open(const Params& params) override {
    const std::string problem = DisplayServerProblem();
    if (!problem.empty()) {
      throw std::runtime_error(problem +
                               ". Write the frames to a file instead: `pipeline run "
                               "webcam_to_file.graph`, or a video_writer / image_writer stage in "
                               "place of display");
    }
    title_ = params.get_string("title");
    wait_at_end_ = params.get_bool("wait_at_end");
    if (env().main_thread != nullptr) {
      gui_done_ = env().main_thread->post([this] { Loop(); });
    } else {
      gui_done_ = std::async(std::launch::async, [this] { Loop(); });
    }
  }

  void process(const Message& msg, Emitter& /*out*/) override {
    // A window that failed (or was closed) has ended its loop: say what went wrong now rather
    // than at the end of a camera's endless stream.
    if (gui_done_.valid() &&
        gui_done_.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
      gui_done_.get();
    }
    const Sample& frame = msg.as<Sample>();
    if (frame.image.empty()) return;
    std::lock_guard lock(mutex_);
    if (!pending_.empty()) ++dropped_;
    pending_ = frame.image;
    ++received_;
    wake_.notify_one();
  }

  void close(Emitter& /*out*/) override {
    {
      std::unique_lock lock(mutex_);
      ending_ = true;
      wake_.notify_one();
    }
    if (gui_done_.valid()) gui_done_.get();  // rethrows what went wrong in the window
    std::cout << "display: " << received_ << " frames";
    if (dropped_ > 0) std::cout << ", " << dropped_ << " dropped (the screen was slower)";
    std::cout << std::endl;
  }

 private:
  // Shows the newest frame and polls the keyboard about every 10 ms.
  void Loop() {
    cv::namedWindow(title_, cv::WINDOW_AUTOSIZE);
    bool shown_any = false;
    while (true) {
      cv::Mat frame;
      bool ending = false;
      {
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, std::chrono::milliseconds(10),
                       [this] { return !pending_.empty() || ending_ || quit_; });
        std::swap(frame, pending_);
        ending = ending_ || quit_;
      }
      if (!frame.empty()) {
        cv::imshow(title_, frame);
        shown_any = true;
      }
      const int key = cv::waitKey(1);
      const bool closed = shown_any && cv::getWindowProperty(title_, cv::WND_PROP_VISIBLE) < 1;
      if (key == 'q' || key == 'Q' || key == 27 || closed) RequestStop();
      if (ending && frame.empty()) break;
    }
    if (wait_at_end_ && !quit_) {
      while (true) {  // until a key or the window is closed
        const int key = cv::waitKey(50);
        if (key >= 0 || cv::getWindowProperty(title_, cv::WND_PROP_VISIBLE) < 1) break;
      }
    }
    cv::destroyWindow(title_);
    cv::waitKey(1);
  }

  // Ends the sources feeding the window; the run then finishes normally (every stage closes,
  // exit code 0), as when a video file ends.
  void RequestStop() {
    quit_ = true;
    request_finish();
  }

  void Stop() {
    {
      std::lock_guard lock(mutex_);
      ending_ = true;
    }
    wake_.notify_one();
    if (gui_done_.valid()) gui_done_.wait();
  }

  std::string title_;
  bool wait_at_end_ = false;
  std::future<void> gui_done_;  // the window's loop, wherever it runs
  std::mutex mutex_;
  std::condition_variable wake_;
  cv::Mat pending_;
  bool ending_ = false;
  std::atomic<bool> quit_{false};
  int64_t received_ = 0, dropped_ = 0;
};

}  // namespace

void RegisterDisplay(Registry& registry) {
  StageInfo info;
  info.name = "display";
  info.kind = StageKind::kSink;
  info.concurrency = Concurrency::kSerial;
  info.doc = "Shows frames in a window (needs DISPLAY or WAYLAND_DISPLAY); q or Esc ends the run";
  info.inputs = {{"frames", "sample", "8-bit grey or BGR frames, e.g. from annotate"}};
  info.params = {
      StringParam("title", "pipeline", "window title"),
      BoolParam("wait_at_end", false,
                "keep the last frame on screen until a key is pressed (for photos)"),
  };
  info.create = [] { return std::make_unique<Display>(); };
  registry.add(std::move(info));
}

}  // namespace pipeline
