// elastic — elastic distortion (Simard, Steinkraus and Platt, "Best Practices for Convolutional
// Neural Networks Applied to Visual Document Analysis", 2003): each pixel moves by a random
// displacement field, uniform noise in [-1, 1] smoothed with a Gaussian of standard deviation
// `sigma` and scaled by `alpha`. Small sigma gives random jitter, large sigma nearly a shift; in
// between it looks like the natural wobble of handwriting.
#include <cmath>
#include <cstdint>
#include <memory>
#include <opencv2/imgproc.hpp>
#include <random>

#include "pipeline/augment.h"
#include "pipeline/plugin.h"

namespace {

// Scratch images reused across the samples one thread handles; only `out` is allocated anew.
struct Scratch {
  cv::Mat noise;  // CV_32FC2: the raw x and y displacement noise, side by side
  cv::Mat field;  // CV_32FC2: smoothed
  cv::Mat grid;   // CV_32FC2: each pixel's own (x, y), for the image size last seen
  cv::Mat map;    // CV_32FC2: where each output pixel samples the input
};

// Fills `noise` with uniform values in [-1, 1) from SplitMix64 seeded by `seed`: a few times
// cheaper per value than cv::RNG or <random>, which matters at 1,568 values per MNIST digit, and
// plenty random for a displacement field that is smoothed right after.
void FillUniform(uint64_t seed, cv::Mat& noise) {
  uint64_t state = seed;
  for (int y = 0; y < noise.rows; ++y) {
    float* row = noise.ptr<float>(y);
    const int count = noise.cols * noise.channels();
    for (int i = 0; i < count; i += 2) {
      state += 0x9e3779b97f4a7c15ULL;
      uint64_t bits = state;
      bits = (bits ^ (bits >> 30)) * 0xbf58476d1ce4e5b9ULL;
      bits = (bits ^ (bits >> 27)) * 0x94d049bb133111ebULL;
      bits ^= bits >> 31;
      // Two values per draw, 24 bits each: exactly representable floats in [0, 1) mapped to [-1,
      // 1).
      constexpr float kUnit = 2.0f / (1 << 24);
      row[i] = static_cast<float>(bits >> 40) * kUnit - 1.0f;
      if (i + 1 < count) row[i + 1] = static_cast<float>((bits >> 8) & 0xffffff) * kUnit - 1.0f;
    }
  }
}

const cv::Mat& IdentityGrid(const cv::Size& size, cv::Mat& grid) {
  if (grid.size() != size) {
    grid.create(size, CV_32FC2);
    for (int y = 0; y < size.height; ++y) {
      auto* row = grid.ptr<cv::Vec2f>(y);
      for (int x = 0; x < size.width; ++x) row[x] = {static_cast<float>(x), static_cast<float>(y)};
    }
  }
  return grid;
}

class Elastic : public pipeline::augment::AugmentStage {
 protected:
  void configure(const pipeline::Params& params) override {
    alpha_ = params.get_float("alpha");
    const double sigma = params.get_float("sigma");
    fill_with_smallest_ = params.get_string("fill") == "smallest";
    // The smoothing kernel is the same for every sample: built once here, 3 sigma each side.
    const int radius = static_cast<int>(std::ceil(3 * sigma));
    kernel_ = cv::getGaussianKernel(2 * radius + 1, sigma, CV_32F);
  }

  bool augment(const cv::Mat& in, cv::Mat& out, std::mt19937_64& rng) const override {
    thread_local Scratch scratch;
    // Both displacement components at once, as the two channels of one image: uniform noise in
    // [-1, 1], seeded from the sample's own generator, Gaussian-smoothed. Reflecting at the
    // border keeps the field as strong near the edges as in the middle.
    scratch.noise.create(in.size(), CV_32FC2);
    FillUniform(rng(), scratch.noise);
    cv::sepFilter2D(scratch.noise, scratch.field, CV_32F, kernel_, kernel_, cv::Point(-1, -1), 0,
                    cv::BORDER_REFLECT_101);
    // Each output pixel (x, y) samples the input at (x, y) + alpha * field(x, y).
    cv::scaleAdd(scratch.field, alpha_, IdentityGrid(in.size(), scratch.grid), scratch.map);
    const cv::Scalar fill = pipeline::augment::FillValue(in, fill_with_smallest_);
    cv::remap(in, out, scratch.map, cv::noArray(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, fill);
    return true;
  }

 private:
  double alpha_ = 0;
  bool fill_with_smallest_ = true;
  cv::Mat kernel_;
};

void RegisterElastic(pipeline::Registry& registry) {
  using namespace pipeline;
  StageInfo info;
  info.name = "elastic";
  info.kind = StageKind::kTransform;
  info.concurrency = Concurrency::kParallel;
  info.doc = "Elastic distortion (Simard et al. 2003): a smoothed random displacement field";
  info.inputs = {{"in", "sample", "images, CV_8U or CV_32F, 1 to 4 channels"}};
  info.outputs = {{"out", "sample", "the same samples, some distorted; type and size kept"}};
  info.params = {
      augment::ProbabilityParam(0.5),
      FloatParam("alpha", 30, 0, 1000,
                 "displacement scale in pixels per unit of smoothed noise (0: no change)"),
      FloatParam("sigma", 5, 0.5, 20,
                 "smoothness of the field: standard deviation of its Gaussian, in pixels"),
      augment::FillParam(),
  };
  info.create = [] { return std::make_unique<Elastic>(); };
  registry.add(std::move(info));
}

}  // namespace

PIPELINE_PLUGIN("augment_elastic", "1.0.0", RegisterElastic)
