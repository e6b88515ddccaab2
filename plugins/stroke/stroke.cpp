// stroke — makes the pen strokes randomly thicker (dilation) or thinner (erosion), as different
// pens and writers do.
//
// The amount is a distance in pixels drawn from (0, max_thicken] or (0, max_thin] and may be
// fractional: for an amount r + f (whole part r, fraction f) the result is the morphology of
// radius r blended with that of radius r + 1 by f, so thickness varies smoothly rather than in
// whole-pixel steps. One radius step is a 3x3 cross, which grows a stroke by one pixel on each
// side without squaring its corners. Ink is taken to be bright on a dark background (MNIST's
// convention, before and after `normalize`).
#include <cmath>
#include <memory>
#include <opencv2/imgproc.hpp>
#include <random>

#include "pipeline/augment.h"
#include "pipeline/plugin.h"

namespace {

class Stroke : public pipeline::augment::AugmentStage {
 protected:
  void configure(const pipeline::Params& params) override {
    max_thicken_ = params.get_float("max_thicken");
    max_thin_ = params.get_float("max_thin");
    thicken_probability_ = params.get_float("thicken_probability");
    cross_ = cv::getStructuringElement(cv::MORPH_CROSS, cv::Size(3, 3));
  }

  bool augment(const cv::Mat& in, cv::Mat& out, std::mt19937_64& rng) const override {
    const bool thicken = std::bernoulli_distribution(thicken_probability_)(rng);
    const double largest = thicken ? max_thicken_ : max_thin_;
    if (!(largest > 0)) return false;  // this direction is switched off: leave the sample
    // (0, largest]: an amount of exactly 0 would be no change.
    const double amount = largest * (1.0 - std::uniform_real_distribution<double>(0, 1)(rng));
    const int whole = static_cast<int>(std::floor(amount));
    const double fraction = amount - whole;
    const cv::MorphTypes operation = thicken ? cv::MORPH_DILATE : cv::MORPH_ERODE;

    // The outside counts as background: dilation must not pull ink in from beyond the edge,
    // and erosion must eat strokes that touch the edge like any other.
    const cv::Scalar border = pipeline::augment::RangeOf(in).smallest;
    thread_local cv::Mat inner;
    const cv::Mat* base = &in;
    if (whole > 0) {
      cv::morphologyEx(in, inner, operation, cross_, cv::Point(-1, -1), whole, cv::BORDER_CONSTANT,
                       border);
      base = &inner;
    }
    if (fraction <= 0) {
      base->copyTo(out);
      return true;
    }
    cv::morphologyEx(*base, out, operation, cross_, cv::Point(-1, -1), 1, cv::BORDER_CONSTANT,
                     border);
    if (in.depth() == CV_8U) {
      BlendTowards<uint8_t>(*base, static_cast<float>(fraction), out);
    } else {
      BlendTowards<float>(*base, static_cast<float>(fraction), out);
    }
    return true;
  }

 private:
  // step = base + fraction * (step - base), written so that a pixel the last step left alone
  // keeps exactly its value: thickening never darkens a pixel and thinning never brightens one.
  template <typename T>
  static void BlendTowards(const cv::Mat& base, float fraction, cv::Mat& step) {
    const int values_per_row = base.cols * base.channels();
    for (int y = 0; y < base.rows; ++y) {
      const T* from = base.ptr<T>(y);
      T* to = step.ptr<T>(y);
      for (int i = 0; i < values_per_row; ++i) {
        const float start = from[i];
        to[i] = cv::saturate_cast<T>(start + fraction * (static_cast<float>(to[i]) - start));
      }
    }
  }

  double max_thicken_ = 0, max_thin_ = 0, thicken_probability_ = 0.5;
  cv::Mat cross_;
};

void RegisterStroke(pipeline::Registry& registry) {
  using namespace pipeline;
  StageInfo info;
  info.name = "stroke";
  info.kind = StageKind::kTransform;
  info.concurrency = Concurrency::kParallel;
  info.doc = "Random stroke thickness: dilates or erodes the (bright) ink by a fractional radius";
  info.inputs = {{"in", "sample", "images with bright ink, CV_8U or CV_32F, 1 to 4 channels"}};
  info.outputs = {
      {"out", "sample", "the same samples, some thicker or thinner; type and size kept"}};
  info.params = {
      augment::ProbabilityParam(0.5),
      FloatParam("thicken_probability", 0.5, 0, 1,
                 "chance that an augmented sample is thickened rather than thinned"),
      FloatParam("max_thicken", 1.0, 0, 4, "largest growth of a stroke, in pixels per side"),
      FloatParam("max_thin", 0.5, 0, 4, "largest shrinking of a stroke, in pixels per side"),
  };
  info.create = [] { return std::make_unique<Stroke>(); };
  registry.add(std::move(info));
}

}  // namespace

PIPELINE_PLUGIN("augment_stroke", "1.0.0", RegisterStroke)
