// `normalize`: turns a sample's pixels into floats in [0, 1], then (x - mean) / std. With mean or
// std "auto" (the default), they are the statistics of the dataset's training images that the
// source measured and attached to every sample (DatasetInfo), so a graph need not know them and
// the test stream is normalized with the training data's figures, as the model expects.
#include <memory>
#include <opencv2/core/check.hpp>
#include <stdexcept>
#include <string>

#include "pipeline/payloads.h"
#include "pipeline/registry.h"
#include "stages/stage_registrations.h"

namespace pipeline {
namespace {

// The factor that maps the image's full integer range onto [0, 1]; floats are taken as they are.
double UnitScale(const Sample& sample) {
  switch (sample.image.depth()) {
    case CV_8U:
      return 1.0 / 255.0;
    case CV_16U:
      return 1.0 / 65535.0;
    case CV_32F:
    case CV_64F:
      return 1.0;
    default:
      throw std::runtime_error("sample " + sample.source + ": unsupported pixel depth " +
                               cv::depthToString(sample.image.depth()) +
                               " (normalize takes 8-bit, 16-bit unsigned or float images)");
  }
}

class Normalize : public Stage {
 public:
  void open(const Params& params) override {
    auto_mean_ = params.get_string("mean") == kAuto;
    auto_std_ = params.get_string("std") == kAuto;
    if (!auto_mean_) mean_ = params.get_float("mean");
    if (!auto_std_) std_ = params.get_float("std");
    // The engine checks the declared range first; this guards direct use of the stage.
    if (!(std_ > 0)) throw std::invalid_argument("std must be > 0, got " + std::to_string(std_));
  }

  void process(const Message& msg, Emitter& out) override {
    const Sample& in = msg.as<Sample>();
    if (in.image.empty()) throw std::runtime_error("sample " + in.source + " has no pixels");
    if (in.normalization.applied) {
      throw std::runtime_error("sample " + in.source + " is already normalized");
    }
    // Samples without dataset statistics (photos, a camera) are only scaled to [0, 1] under auto.
    const bool measured = in.dataset != nullptr && in.dataset->has_statistics;
    const double mean = auto_mean_ ? (measured ? in.dataset->mean : 0.0) : mean_;
    const double std = auto_std_ ? (measured ? in.dataset->std : 1.0) : std_;
    const Normalization normalization{true, UnitScale(in), mean, std};
    auto result = in.with_image(normalization.Apply(in.image));
    result->normalization = normalization;
    out.emit_like(msg, std::move(result));
  }

 private:
  static constexpr const char* kAuto = "auto";
  bool auto_mean_ = true;
  bool auto_std_ = true;
  double mean_ = 0;
  double std_ = 1;
};

}  // namespace

void RegisterNormalize(Registry& registry) {
  StageInfo info;
  info.name = "normalize";
  info.kind = StageKind::kTransform;
  info.concurrency = Concurrency::kParallel;
  info.doc =
      "Converts pixels to float in [0, 1] (8-bit / 255, 16-bit / 65535), then (x - mean) / std";
  info.inputs = {{"in", "sample", "image of any depth and channel count"}};
  info.outputs = {{"out", "sample", "the same image as CV_32F"}};
  info.params = {
      FloatOrKeywordParam("mean", "auto", -1e6, 1e6,
                          "subtracted after scaling to [0, 1] (MNIST: 0.1307); auto: the mean "
                          "the source measured on the training images (idx_source does), 0 "
                          "for samples that carry none"),
      FloatOrKeywordParam("std", "auto", 1e-12, 1e6,
                          "divides after subtracting mean; > 0 (MNIST: 0.3081); auto: the "
                          "training images' standard deviation, 1 for samples that carry none"),
  };
  info.create = [] { return std::make_unique<Normalize>(); };
  registry.add(std::move(info));
}

}  // namespace pipeline
