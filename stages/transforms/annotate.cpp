// `annotate`: draws what was read onto the picture it was read from — a box, the digit and its
// confidence per digit, and the frame rate — for a window, a video file or PNGs.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <memory>
#include <opencv2/imgproc.hpp>
#include <string>

#include "pipeline/payloads.h"
#include "pipeline/registry.h"
#include "stages/stage_registrations.h"
#include "stages/transforms/prediction_groups.h"

namespace pipeline {
namespace {

using Clock = std::chrono::steady_clock;

const cv::Scalar kSure(60, 200, 60);    // green: confidence at or above min_confidence
const cv::Scalar kUnsure(0, 140, 255);  // orange: a guess
const cv::Scalar kError(40, 40, 230);   // red: nothing read
const cv::Scalar kInfo(255, 255, 255);

// Text with a dark outline, readable on paper and on dark frames alike.
void Label(cv::Mat& image, const std::string& text, cv::Point at, double scale,
           const cv::Scalar& colour) {
  const int thickness = std::max(1, static_cast<int>(std::lround(scale * 2)));
  cv::putText(image, text, at, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(0, 0, 0), thickness + 2,
              cv::LINE_AA);
  cv::putText(image, text, at, cv::FONT_HERSHEY_SIMPLEX, scale, colour, thickness, cv::LINE_AA);
}

class Annotate : public Stage {
 public:
  void open(const Params& params) override {
    min_confidence_ = params.get_float("min_confidence");
    show_fps_ = params.get_bool("fps");
  }

  void process(const Message& msg, Emitter& out) override {
    for (const PredictionGroup& group : grouper_.add(msg)) Draw(group, out);
  }

  void end_epoch(int /*port*/, int64_t /*epoch*/, Emitter& out) override { Flush(out); }
  void close(Emitter& out) override { Flush(out); }

 private:
  void Flush(Emitter& out) {
    if (auto group = grouper_.flush()) Draw(*group, out);
  }

  void Draw(const PredictionGroup& group, Emitter& out) {
    const Prediction& first = group.first();
    auto sample = std::make_shared<Sample>();
    sample->source = first.source;
    if (!first.origin || first.origin->empty()) {
      // Nothing to draw on (an unreadable file): pass the error on so sinks can report it.
      sample->error = first.error.empty() ? "no image to annotate" : first.error;
      out.emit(std::move(sample), group.epoch, group.index);
      return;
    }
    cv::Mat canvas;
    if (first.origin->channels() == 1) {
      cv::cvtColor(*first.origin, canvas, cv::COLOR_GRAY2BGR);
    } else if (first.origin->channels() == 4) {
      cv::cvtColor(*first.origin, canvas, cv::COLOR_BGRA2BGR);
    } else {
      canvas = first.origin->clone();
    }
    const double base = std::max(canvas.cols, canvas.rows) / 640.0;
    for (const auto& part : group.parts) {
      if (!part->error.empty()) {
        Label(canvas, part->error, cv::Point(8, canvas.rows - 10), std::max(0.35, 0.6 * base),
              kError);
        continue;
      }
      const cv::Rect box = part->box.empty() ? cv::Rect(0, 0, canvas.cols, canvas.rows) : part->box;
      const cv::Scalar& colour = part->confidence >= min_confidence_ ? kSure : kUnsure;
      cv::rectangle(canvas, box, colour, std::max(1, static_cast<int>(std::lround(2 * base))));
      char text[48];
      std::snprintf(text, sizeof(text), "%d %.0f%%", part->predicted, 100.0 * part->confidence);
      // As tall as a quarter of the digit, never smaller than reads at this picture's size. Not
      // from the box's width: a narrow "1" would get unreadable text.
      int baseline = 0;
      const cv::Size unit = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, 1.0, 2, &baseline);
      const double readable = std::max(0.45, 0.5 * base);
      const double scale =
          std::clamp(box.height / 4.0 / unit.height, readable, std::max(readable, 2.0 * base));
      const int baseline_y = box.y > 20 * scale ? box.y - 4 : box.y + box.height + 18 * scale;
      Label(canvas, text, cv::Point(box.x, baseline_y), scale, colour);
    }
    if (show_fps_) {
      const double fps = Tick();
      if (fps > 0) {
        char text[32];
        std::snprintf(text, sizeof(text), "%.1f fps", fps);
        Label(canvas, text, cv::Point(8, static_cast<int>(22 * std::max(0.6, base))),
              std::max(0.4, 0.6 * base), kInfo);
      }
    }
    sample->image = canvas;
    sample->origin = first.origin;
    sample->epoch_size = 0;
    out.emit(std::move(sample), group.epoch, group.index);
  }

  // Frames per second over the last second or 30 frames, whichever is shorter; 0 until known.
  double Tick() {
    const Clock::time_point now = Clock::now();
    times_.push_back(now);
    while (times_.size() > 30 ||
           (times_.size() > 2 && now - times_.front() > std::chrono::seconds(1))) {
      times_.pop_front();
    }
    if (times_.size() < 2) return 0;
    const double seconds = std::chrono::duration<double>(now - times_.front()).count();
    return seconds > 0 ? (times_.size() - 1) / seconds : 0;
  }

  double min_confidence_ = 0.5;
  bool show_fps_ = true;
  PredictionGrouper grouper_{/*trust_parts=*/true};
  std::deque<Clock::time_point> times_;
};

}  // namespace

void RegisterAnnotate(Registry& registry) {
  StageInfo info;
  info.name = "annotate";
  info.kind = StageKind::kTransform;
  info.concurrency = Concurrency::kSerial;
  info.doc =
      "Draws each digit's box, value and confidence (and the frame rate) on a copy of the "
      "picture it came from";
  info.inputs = {{"predictions", "prediction",
                  "predictions carrying origin, box and part/parts (from digit_extract → "
                  "cnn_predict)"}};
  info.outputs = {{"frames", "sample",
                   "the annotated picture, CV_8UC3 BGR, one per photo or frame; error set and "
                   "no pixels when there was no picture"}};
  info.params = {
      FloatParam("min_confidence", 0.5, 0, 1,
                 "boxes below this confidence are drawn orange instead of green"),
      BoolParam("fps", true, "draw the frame rate in the top-left corner"),
  };
  info.create = [] { return std::make_unique<Annotate>(); };
  registry.add(std::move(info));
}

}  // namespace pipeline
