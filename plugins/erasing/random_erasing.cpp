// random_erasing — Random Erasing (Zhong, Zheng, Kang, Li and Yang, "Random Erasing Data
// Augmentation", 2017): a random rectangle of the image is overwritten, which teaches the model
// to recognise a digit from the part that is left (occlusion, smudges, bad scans).
//
// As in the paper the rectangle's area is a uniform fraction of the image, in [min_area,
// max_area], and its aspect ratio (height / width) is drawn log-uniformly from [min_aspect,
// 1 / min_aspect]; a shape that does not fit is redrawn (up to 10 times, then clipped to the
// image). The rectangle is then placed uniformly inside the image.
#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>

#include "pipeline/augment.h"
#include "pipeline/plugin.h"

namespace {

constexpr int kShapeAttempts = 10;

enum class Fill { kSmallest, kValue, kRandom };

class RandomErasing : public pipeline::augment::AugmentStage {
 protected:
  void configure(const pipeline::Params& params) override {
    min_area_ = params.get_float("min_area");
    max_area_ = params.get_float("max_area");
    min_aspect_ = params.get_float("min_aspect");
    const std::string& fill = params.get_string("fill");
    fill_ = fill == "value" ? Fill::kValue : fill == "random" ? Fill::kRandom : Fill::kSmallest;
    value_ = params.get_float("value");
    pipeline::augment::CheckOrdered("min_area", min_area_, "max_area", max_area_);
  }

  bool augment(const cv::Mat& in, cv::Mat& out, std::mt19937_64& rng) const override {
    const cv::Rect patch = DrawRectangle(in.size(), rng);
    out = in.clone();
    cv::Mat erased = out(patch);
    switch (fill_) {
      case Fill::kSmallest:
        erased.setTo(pipeline::augment::RangeOf(in).smallest);
        break;
      case Fill::kValue:
        erased.setTo(cv::Scalar::all(value_));  // saturated into 0..255 for CV_8U
        break;
      case Fill::kRandom: {
        // Uniform noise over the image's own value range, as the paper fills with random pixels.
        const pipeline::augment::ImageRange range = pipeline::augment::RangeOf(in);
        cv::RNG noise_rng(rng());
        noise_rng.fill(erased, cv::RNG::UNIFORM, cv::Scalar::all(range.min),
                       cv::Scalar::all(range.max + (in.depth() == CV_8U ? 1 : 0)));
        break;
      }
    }
    return true;
  }

 private:
  cv::Rect DrawRectangle(const cv::Size& size, std::mt19937_64& rng) const {
    using pipeline::augment::Uniform;
    const double image_area = static_cast<double>(size.area());
    const double log_aspect = std::log(min_aspect_);
    int width = 1, height = 1;
    for (int attempt = 0; attempt < kShapeAttempts; ++attempt) {
      const double area = Uniform(rng, min_area_, max_area_) * image_area;
      const double aspect = std::exp(Uniform(rng, log_aspect, -log_aspect));
      height = std::max(1, static_cast<int>(std::lround(std::sqrt(area * aspect))));
      width = std::max(1, static_cast<int>(std::lround(std::sqrt(area / aspect))));
      if (width <= size.width && height <= size.height) break;
    }
    width = std::min(width, size.width);
    height = std::min(height, size.height);
    const int x = std::uniform_int_distribution<int>(0, size.width - width)(rng);
    const int y = std::uniform_int_distribution<int>(0, size.height - height)(rng);
    return {x, y, width, height};
  }

  double min_area_ = 0, max_area_ = 0, min_aspect_ = 1, value_ = 0;
  Fill fill_ = Fill::kSmallest;
};

void RegisterRandomErasing(pipeline::Registry& registry) {
  using namespace pipeline;
  StageInfo info;
  info.name = "random_erasing";
  info.kind = StageKind::kTransform;
  info.concurrency = Concurrency::kParallel;
  info.doc = "Random Erasing (Zhong et al. 2017): overwrites a random rectangle of the image";
  info.inputs = {{"in", "sample", "images, CV_8U or CV_32F, 1 to 4 channels"}};
  info.outputs = {
      {"out", "sample", "the same samples, some with a patch erased; type and size kept"}};
  info.params = {
      augment::ProbabilityParam(0.25),
      FloatParam("min_area", 0.02, 0.001, 1, "smallest patch, as a fraction of the image area"),
      FloatParam("max_area", 0.06, 0.001, 1,
                 "largest patch, as a fraction of the image area (>= min_area)"),
      FloatParam("min_aspect", 0.3, 0.05, 1,
                 "patch height / width is drawn from [min_aspect, 1 / min_aspect]"),
      ChoiceParam("fill", "smallest", {"smallest", "value", "random"},
                  "patch pixels: the image's smallest value per channel (its background), "
                  "`value`, or uniform noise over the image's value range"),
      FloatParam("value", 0, -1e6, 1e6, "the fill when fill is \"value\""),
  };
  info.create = [] { return std::make_unique<RandomErasing>(); };
  registry.add(std::move(info));
}

}  // namespace

PIPELINE_PLUGIN("augment_erasing", "1.0.0", RegisterRandomErasing)
