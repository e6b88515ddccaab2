// pixelate — a low-resolution scan enlarged again: the digit is shrunk to a few pixels and blown
// back up to its size, blocky (pixel repetition) or soft (linear interpolation).
//
// Blur is not this: a blurred digit keeps its shape and loses its edges, a pixelated one keeps
// hard edges in the wrong places — staircases, strokes merged or broken, a 2-pixel stroke turned
// into a 3-pixel block. A model trained on MNIST alone reads such scans badly (train.graph's
// checkpoint before this stage: 76% of photo_accuracy's `lowres` photos against 99.4% on MNIST).
//
// The small side is drawn from [min_side, max_side] pixels for a 28-pixel image (other sizes in
// proportion) and the shrinking averages (INTER_AREA), as a scanner's sensor does. With chance
// `threshold_probability` the small image is then made two-level, as cheap scanners and fax
// machines do: each of its pixels becomes the image's smallest or largest value, cut at a level
// drawn from [min_threshold, max_threshold] of the way from the one to the other. The
// enlargement repeats pixels, or with chance `linear_probability` interpolates linearly (a
// viewer's smooth zoom).
#include <cmath>
#include <memory>
#include <opencv2/imgproc.hpp>
#include <random>
#include <stdexcept>
#include <string>

#include "pipeline/augment.h"
#include "pipeline/plugin.h"

namespace {

// The parameters' sides are for MNIST's 28x28 frame.
constexpr double kReferenceSide = 28;

class Pixelate : public pipeline::augment::AugmentStage {
 protected:
  void configure(const pipeline::Params& params) override {
    min_side_ = params.get_float("min_side");
    max_side_ = params.get_float("max_side");
    pipeline::augment::CheckOrdered("min_side", min_side_, "max_side", max_side_);
    threshold_probability_ = params.get_float("threshold_probability");
    min_threshold_ = params.get_float("min_threshold");
    max_threshold_ = params.get_float("max_threshold");
    pipeline::augment::CheckOrdered("min_threshold", min_threshold_, "max_threshold",
                                    max_threshold_);
    linear_probability_ = params.get_float("linear_probability");
  }

  bool augment(const cv::Mat& in, cv::Mat& out, std::mt19937_64& rng) const override {
    using pipeline::augment::Uniform;
    const double scale = Uniform(rng, min_side_, max_side_) / kReferenceSide;
    const cv::Size small_size(std::max(1, static_cast<int>(std::lround(in.cols * scale))),
                              std::max(1, static_cast<int>(std::lround(in.rows * scale))));
    const bool threshold = std::bernoulli_distribution(threshold_probability_)(rng);
    const double level = Uniform(rng, min_threshold_, max_threshold_);
    const bool linear = std::bernoulli_distribution(linear_probability_)(rng);

    thread_local cv::Mat small;
    cv::resize(in, small, small_size, 0, 0, cv::INTER_AREA);
    if (threshold) {
      const pipeline::augment::ImageRange range = pipeline::augment::RangeOf(in);
      Binarize(small, range.min, range.max, range.min + level * (range.max - range.min));
    }
    // `out` is always a fresh image (resize allocates it), never the thread's buffer.
    cv::resize(small, out, in.size(), 0, 0, linear ? cv::INTER_LINEAR : cv::INTER_NEAREST);
    return true;
  }

 private:
  // Every value above `cut` becomes `high`, every other `low` (all channels alike).
  static void Binarize(cv::Mat& image, double low, double high, double cut) {
    if (image.depth() == CV_8U) {
      BinarizeAs<uint8_t>(image, low, high, cut);
    } else {
      BinarizeAs<float>(image, low, high, cut);
    }
  }

  template <typename T>
  static void BinarizeAs(cv::Mat& image, double low, double high, double cut) {
    const T low_value = cv::saturate_cast<T>(low), high_value = cv::saturate_cast<T>(high);
    const int values_per_row = image.cols * image.channels();
    for (int y = 0; y < image.rows; ++y) {
      T* row = image.ptr<T>(y);
      for (int i = 0; i < values_per_row; ++i) row[i] = row[i] > cut ? high_value : low_value;
    }
  }

  double min_side_ = 8, max_side_ = 14;
  double threshold_probability_ = 0.5, min_threshold_ = 0.2, max_threshold_ = 0.45;
  double linear_probability_ = 0;
};

void RegisterPixelate(pipeline::Registry& registry) {
  using namespace pipeline;
  StageInfo info;
  info.name = "pixelate";
  info.kind = StageKind::kTransform;
  info.concurrency = Concurrency::kParallel;
  info.doc =
      "Low resolution: shrinks the image to a few pixels (maybe two-level) and enlarges it again, "
      "blocky or smooth";
  info.inputs = {{"in", "sample", "images, CV_8U or CV_32F, 1 to 4 channels"}};
  info.outputs = {{"out", "sample", "the same samples, some pixelated; type and size kept"}};
  info.params = {
      augment::ProbabilityParam(0.3),
      FloatParam("min_side", 8, 1, 28,
                 "smallest side of the shrunk image, in pixels for a 28-pixel image (others "
                 "in proportion)"),
      FloatParam("max_side", 14, 1, 28,
                 "largest side of the shrunk image, in pixels for a 28-pixel image"),
      FloatParam("threshold_probability", 0.5, 0, 1,
                 "chance that the shrunk image is made two-level (ink or paper, as a cheap "
                 "scanner does)"),
      FloatParam("min_threshold", 0.2, 0, 1,
                 "lowest two-level cut, as a fraction of the way from the image's smallest to its "
                 "largest value"),
      FloatParam("max_threshold", 0.45, 0, 1, "highest two-level cut, as the same fraction"),
      FloatParam("linear_probability", 0, 0, 1,
                 "chance that the enlargement interpolates linearly instead of repeating pixels"),
  };
  info.create = [] { return std::make_unique<Pixelate>(); };
  registry.add(std::move(info));
}

}  // namespace

PIPELINE_PLUGIN("augment_pixelate", "1.0.0", RegisterPixelate)
