// `digit_extract`: photo (or camera frame) in, one MNIST-like 28x28 sample per digit out, left to
// right (see digit_extraction.h for how). Serves files and frames alike.
#include <memory>
#include <string>

#include "pipeline/payloads.h"
#include "pipeline/registry.h"
#include "stages/stage_registrations.h"
#include "stages/transforms/digit_extraction.h"

namespace pipeline {
namespace {

class DigitExtract : public Stage {
 public:
  void open(const Params& params) override {
    options_.max_side = static_cast<int>(params.get_int("max_side"));
    options_.analysis_side = static_cast<int>(params.get_int("analysis_side"));
    options_.min_contrast = params.get_float("min_contrast");
    options_.min_relative_height = params.get_float("min_relative_height");
    options_.min_height_px = static_cast<int>(params.get_int("min_height"));
    options_.max_digits = static_cast<int>(params.get_int("max_digits"));
    keep_origin_ = params.get_bool("keep_origin");
  }

  void process(const Message& msg, Emitter& out) override {
    const Sample& in = msg.as<Sample>();
    if (!in.error.empty()) {  // an unreadable file: its error row must still reach the output
      out.emit_like(msg, msg.payload);
      return;
    }
    if (in.image.empty()) throw std::runtime_error("sample " + in.source + " has no pixels");
    std::shared_ptr<const cv::Mat> origin;
    if (keep_origin_) origin = in.origin ? in.origin : std::make_shared<const cv::Mat>(in.image);

    std::vector<ExtractedDigit> digits = ExtractDigits(in.image, options_);
    if (digits.empty()) {
      auto none = in.with_image(cv::Mat());
      none->error = "no digit found";
      none->origin = origin;
      none->part = 0;
      none->parts = 1;
      out.emit_like(msg, std::move(none));
      return;
    }
    const int parts = static_cast<int>(digits.size());
    for (int part = 0; part < parts; ++part) {
      auto sample = in.with_image(std::move(digits[part].image));
      sample->box = digits[part].box;
      sample->row = digits[part].row;
      sample->origin = origin;
      sample->part = part;
      sample->parts = parts;
      // The source's label names the whole photo; it is the digit's only when there is one.
      if (parts > 1) sample->label = -1;
      out.emit_like(msg, std::move(sample));
    }
  }

 private:
  DigitExtractOptions options_;
  bool keep_origin_ = true;
};

}  // namespace

void RegisterDigitExtract(Registry& registry) {
  const DigitExtractOptions defaults;
  StageInfo info;
  info.name = "digit_extract";
  info.kind = StageKind::kTransform;
  info.concurrency = Concurrency::kParallel;
  info.doc =
      "Finds the digits in a photo and prepares each like MNIST (28x28, white on black, "
      "20 px box, centred by mass), in reading order (rows top to bottom, each left to right)";
  info.inputs = {{"images", "sample", "8-bit photo or frame (grey, BGR or BGRA)"}};
  info.outputs = {{"digits", "sample",
                   "28x28 CV_8UC1 per digit with box (in the photo), part/parts and origin; one "
                   "sample with error \"no digit found\" for a photo without any; error samples "
                   "pass through unchanged"}};
  info.params = {
      IntParam("max_side", defaults.max_side, 64, 100000,
               "larger photos are first scaled down to this longer side (digits are cut at this "
               "detail)"),
      IntParam("analysis_side", defaults.analysis_side, 32, 100000,
               "digits are found on a copy whose shorter side is at most this, then cut from "
               "the full picture"),
      FloatParam("min_contrast", defaults.min_contrast, 0.01, 1,
                 "ink must differ from the paper by this fraction of the paper's brightness"),
      FloatParam("min_relative_height", defaults.min_relative_height, 0, 1,
                 "drop marks shorter than this fraction of the tallest digit (dots, specks)"),
      IntParam("min_height", defaults.min_height_px, 1, 100000,
               "drop marks shorter than this many pixels"),
      IntParam("max_digits", defaults.max_digits, 1, 100000,
               "most digits per photo (the tallest are kept)"),
      BoolParam("keep_origin", true,
                "keep the whole picture with each digit (annotate needs it); false frees each "
                "photo as soon as its digits are cut, for large batches"),
  };
  info.create = [] { return std::make_unique<DigitExtract>(); };
  registry.add(std::move(info));
}

}  // namespace pipeline
