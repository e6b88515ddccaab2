// `video_writer`: frames (e.g. from annotate) into a video file — what to use instead of
// `display` where there is no screen.
#include <iostream>
#include <memory>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <stdexcept>
#include <string>

#include "pipeline/payloads.h"
#include "pipeline/registry.h"
#include "stages/stage_registrations.h"

namespace pipeline {
namespace {

class VideoWriterSink : public Stage {
 public:
  void open(const Params& params) override {
    path_ = params.get_string("path");
    fourcc_ = params.get_string("fourcc");
    if (fourcc_.size() != 4) {
      throw std::invalid_argument("fourcc must be 4 characters (MJPG, mp4v, XVID), got \"" +
                                  fourcc_ + "\"");
    }
    fps_ = params.get_float("fps");
  }

  void process(const Message& msg, Emitter& /*out*/) override {
    const Sample& frame = msg.as<Sample>();
    if (frame.image.empty()) {  // an unreadable file or a frame without a picture
      ++skipped_;
      return;
    }
    cv::Mat bgr = ToBgr(frame.image);
    if (!writer_.isOpened()) Start(bgr.size());
    if (bgr.size() != size_) cv::resize(bgr, bgr, size_, 0, 0, cv::INTER_AREA);
    writer_.write(bgr);
    ++written_;
  }

  void close(Emitter& /*out*/) override {
    writer_.release();
    std::cout << "video_writer: " << written_ << " frames to " << path_;
    if (skipped_ > 0) std::cout << " (" << skipped_ << " without a picture skipped)";
    std::cout << std::endl;
  }

 private:
  static cv::Mat ToBgr(const cv::Mat& image) {
    cv::Mat eight = image, bgr;
    if (image.depth() != CV_8U)
      image.convertTo(eight, CV_8U, image.depth() == CV_16U ? 1 / 257.0 : 255.0);
    if (eight.channels() == 3) return eight;
    cv::cvtColor(eight, bgr, eight.channels() == 1 ? cv::COLOR_GRAY2BGR : cv::COLOR_BGRA2BGR);
    return bgr;
  }

  // The size is the first frame's; later frames of another size are scaled to it.
  void Start(cv::Size size) {
    size_ = size;
    const int code = cv::VideoWriter::fourcc(fourcc_[0], fourcc_[1], fourcc_[2], fourcc_[3]);
    // FFmpeg by name: the other backends print their own warnings before failing.
    if (!writer_.open(path_, cv::CAP_FFMPEG, code, fps_, size_, true)) {
      throw std::runtime_error(path_ + ": cannot write a video with fourcc " + fourcc_ +
                               " (the extension must suit the codec: MJPG or XVID in .avi, "
                               "mp4v in .mp4; and the folder must exist)");
    }
  }

  std::string path_, fourcc_;
  double fps_ = 30;
  cv::VideoWriter writer_;
  cv::Size size_;
  int64_t written_ = 0, skipped_ = 0;
};

}  // namespace

void RegisterVideoWriter(Registry& registry) {
  StageInfo info;
  info.name = "video_writer";
  info.kind = StageKind::kSink;
  info.concurrency = Concurrency::kSerial;
  info.doc = "Writes frames to a video file (cv::VideoWriter)";
  info.inputs = {{"frames", "sample", "8-bit grey, BGR or BGRA frames; the first sets the size"}};
  info.params = {
      RequiredStringParam("path", "the video file, e.g. annotated.avi"),
      StringParam("fourcc", "MJPG", "codec: MJPG or XVID (.avi), mp4v (.mp4)"),
      FloatParam("fps", 30, 0.1, 1000, "frame rate written into the file"),
  };
  info.create = [] { return std::make_unique<VideoWriterSink>(); };
  registry.add(std::move(info));
}

}  // namespace pipeline
