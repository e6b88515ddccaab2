// noise_blur — sensor and focus trouble: Gaussian blur and/or additive Gaussian noise.
//
// A sample passing the `probability` gate is blurred with chance `blur_probability` (sigma drawn
// from [min_blur_sigma, max_blur_sigma]) and then gets noise with chance `noise_probability`
// (standard deviation drawn from (0, max_noise]). Noise strength is a fraction of the image's own
// value range (largest minus smallest value), so the same setting means the same thing for CV_8U
// images and for `normalize`d ones; noisy pixels are clipped to that range again.
#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <opencv2/imgproc.hpp>
#include <random>
#include <stdexcept>
#include <string>

#include "pipeline/augment.h"
#include "pipeline/plugin.h"

namespace {

// Blur strengths are drawn from this many evenly spaced sigmas, so every kernel is built once.
constexpr int kBlurLevels = 16;

class NoiseBlur : public pipeline::augment::AugmentStage {
 protected:
  void configure(const pipeline::Params& params) override {
    noise_probability_ = params.get_float("noise_probability");
    max_noise_ = params.get_float("max_noise");
    blur_probability_ = params.get_float("blur_probability");
    const double min_sigma = params.get_float("min_blur_sigma");
    const double max_sigma = params.get_float("max_blur_sigma");
    pipeline::augment::CheckOrdered("min_blur_sigma", min_sigma, "max_blur_sigma", max_sigma);
    for (int level = 0; level < kBlurLevels; ++level) {
      const double sigma = min_sigma + (max_sigma - min_sigma) * level / (kBlurLevels - 1);
      const int radius = std::max(1, static_cast<int>(std::ceil(3 * sigma)));
      blur_kernels_[level] = cv::getGaussianKernel(2 * radius + 1, sigma, CV_32F);
    }
  }

  bool augment(const cv::Mat& in, cv::Mat& out, std::mt19937_64& rng) const override {
    const bool blur = std::bernoulli_distribution(blur_probability_)(rng);
    const bool noise = std::bernoulli_distribution(noise_probability_)(rng) && max_noise_ > 0;
    if (!blur && !noise) return false;

    const cv::Mat* source = &in;
    thread_local cv::Mat blurred;
    if (blur) {
      const cv::Mat& kernel =
          blur_kernels_[std::uniform_int_distribution<int>(0, kBlurLevels - 1)(rng)];
      // The output is `out` itself when no noise follows (it must be a new image).
      cv::Mat& target = noise ? blurred : out;
      cv::sepFilter2D(in, target, in.depth(), kernel, kernel, cv::Point(-1, -1), 0,
                      cv::BORDER_REFLECT_101);
      if (!noise) return true;
      source = &blurred;
    }
    AddNoise(*source, pipeline::augment::RangeOf(in), rng, out);
    return true;
  }

 private:
  void AddNoise(const cv::Mat& in, const pipeline::augment::ImageRange& range, std::mt19937_64& rng,
                cv::Mat& out) const {
    // A flat image has no range to measure noise by: use the depth's nominal one.
    double span = range.max - range.min;
    if (!(span > 0)) span = in.depth() == CV_8U ? 255.0 : 1.0;
    const double deviation =
        span * max_noise_ * (1.0 - std::uniform_real_distribution<double>(0, 1)(rng));
    thread_local cv::Mat noisy;
    in.convertTo(noisy, CV_32F);
    cv::RNG noise_rng(rng());
    thread_local cv::Mat noise;
    noise.create(noisy.size(), noisy.type());
    noise_rng.fill(noise, cv::RNG::NORMAL, cv::Scalar::all(0), cv::Scalar::all(deviation));
    noisy += noise;
    // Back into the image's own range (and, for CV_8U, rounded into a byte).
    const auto low = static_cast<float>(range.min), high = static_cast<float>(range.max);
    for (int y = 0; y < noisy.rows; ++y) {
      float* row = noisy.ptr<float>(y);
      const int count = noisy.cols * noisy.channels();
      for (int i = 0; i < count; ++i) row[i] = std::clamp(row[i], low, high);
    }
    noisy.convertTo(out, in.depth());
  }

  double noise_probability_ = 0, max_noise_ = 0, blur_probability_ = 0;
  std::array<cv::Mat, kBlurLevels> blur_kernels_;
};

void RegisterNoiseBlur(pipeline::Registry& registry) {
  using namespace pipeline;
  StageInfo info;
  info.name = "noise_blur";
  info.kind = StageKind::kTransform;
  info.concurrency = Concurrency::kParallel;
  info.doc = "Gaussian blur and/or Gaussian noise, each with its own chance and strength";
  info.inputs = {{"in", "sample", "images, CV_8U or CV_32F, 1 to 4 channels"}};
  info.outputs = {{"out", "sample", "the same samples, some blurred or noisy; type and size kept"}};
  info.params = {
      augment::ProbabilityParam(0.5),
      FloatParam("blur_probability", 0.5, 0, 1, "chance that an augmented sample is blurred"),
      FloatParam("min_blur_sigma", 0.4, 0.05, 5,
                 "smallest blur, Gaussian sigma in pixels (below about 0.3 nothing shows)"),
      FloatParam("max_blur_sigma", 1.0, 0.05, 5, "largest blur, Gaussian sigma in pixels"),
      FloatParam("noise_probability", 0.7, 0, 1, "chance that an augmented sample gets noise"),
      FloatParam("max_noise", 0.1, 0, 1,
                 "largest noise standard deviation, as a fraction of the image's value range"),
  };
  info.create = [] { return std::make_unique<NoiseBlur>(); };
  registry.add(std::move(info));
}

}  // namespace

PIPELINE_PLUGIN("augment_noise_blur", "1.0.0", RegisterNoiseBlur)
