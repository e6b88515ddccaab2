// my_augment — the template for a pipeline augmentation plugin.
//
// Copy this folder, rename the stage (and the library in CMakeLists.txt), change
// ShiftImage/process to your augmentation, then build against an installed pipeline:
//
//   cmake -S . -B build -DCMAKE_PREFIX_PATH=<pipeline install prefix>
//   cmake --build build
//   pipeline plugins my_augment --plugin-path build      # lists its ports and parameters
//
// and use it in a graph:  stage { name: "aug" plugin: "my_augment" input: "mnist" }
//
// The stage shifts a sample's image by a few pixels (a whole-pixel translation), with
// probability `probability`. It is parallel: the engine runs it on many threads at once and
// restores the order of its outputs, so it keeps no state between samples, and it draws its
// random choices from rng_for(epoch, index): the same sample is shifted the same way in every
// run with the same graph seed, whatever thread runs it.
#include <algorithm>
#include <memory>
#include <random>
#include <stdexcept>
#include <vector>

#include "pipeline/payloads.h"
#include "pipeline/plugin.h"

namespace {

// Fills with the image's own smallest value per channel: the background of a white-on-black
// digit both before `normalize` (0) and after it (-mean/std).
cv::Scalar SmallestValues(const cv::Mat& image) {
  std::vector<cv::Mat> channels;
  cv::split(image, channels);
  cv::Scalar smallest;
  for (size_t c = 0; c < channels.size() && c < 4; ++c) {
    cv::minMaxLoc(channels[c], &smallest[static_cast<int>(c)]);
  }
  return smallest;
}

// `image` moved right by dx and down by dy (negative: left/up); uncovered pixels get `fill`.
// Works for every depth and channel count, so CV_8U and CV_32F samples keep their type.
cv::Mat ShiftImage(const cv::Mat& image, int dx, int dy, const cv::Scalar& fill) {
  cv::Mat shifted(image.size(), image.type(), fill);
  const int width = image.cols - std::abs(dx);
  const int height = image.rows - std::abs(dy);
  if (width <= 0 || height <= 0) return shifted;
  const cv::Rect from(std::max(0, -dx), std::max(0, -dy), width, height);
  const cv::Rect to(std::max(0, dx), std::max(0, dy), width, height);
  image(from).copyTo(shifted(to));
  return shifted;
}

class MyAugment : public pipeline::Stage {
 public:
  // Parameters arrive validated (type, range, choices) against the declaration below.
  void open(const pipeline::Params& params) override {
    probability_ = params.get_float("probability");
    max_shift_ = static_cast<int>(params.get_int("max_shift"));
    fill_with_smallest_ = params.get_string("fill") == "smallest";
  }

  void process(const pipeline::Message& msg, pipeline::Emitter& out) override {
    // Throws, naming both types, if the input is not a sample; the engine adds stage and sample.
    const auto& sample = msg.as<pipeline::Sample>();
    if (sample.image.empty()) throw std::runtime_error("the sample has an empty image");

    std::mt19937_64 rng = rng_for(msg.epoch, msg.index);
    if (!std::bernoulli_distribution(probability_)(rng)) {
      // Payloads are immutable and shared: pass the unchanged sample on without copying it.
      out.emit_like(msg, msg.payload);
      return;
    }
    std::uniform_int_distribution<int> offset(-max_shift_, max_shift_);
    const int dx = offset(rng);
    const int dy = offset(rng);

    // A changed sample is a new payload; label, source and box carry over.
    auto shifted = std::make_shared<pipeline::Sample>(sample);
    const cv::Scalar fill = fill_with_smallest_ ? SmallestValues(sample.image) : cv::Scalar();
    shifted->image = ShiftImage(sample.image, dx, dy, fill);
    out.emit_like(msg, std::move(shifted));
  }

 private:
  double probability_ = 0;
  int max_shift_ = 0;
  bool fill_with_smallest_ = true;
};

void RegisterMyAugment(pipeline::Registry& registry) {
  pipeline::StageInfo info;
  info.name = "my_augment";  // the plugin name graph files use; must be unique
  info.kind = pipeline::StageKind::kTransform;
  info.concurrency = pipeline::Concurrency::kParallel;
  info.doc = "Shifts each image by up to max_shift pixels in x and y, with probability p.";
  info.inputs = {{"in", "sample", "images, CV_8U or CV_32F, any channel count"}};
  info.outputs = {{"out", "sample", "the same samples, some shifted; type and size kept"}};
  info.params = {
      pipeline::FloatParam("probability", 0.5, 0.0, 1.0, "chance that a sample is shifted"),
      pipeline::IntParam("max_shift", 2, 0, 14, "largest shift in pixels, each direction"),
      pipeline::ChoiceParam("fill", "smallest", {"smallest", "zero"},
                            "uncovered pixels: the image's smallest value, or 0"),
  };
  info.create = [] { return std::make_unique<MyAugment>(); };
  registry.add(std::move(info));
}

}  // namespace

// The library's entry point: its name and version as `pipeline plugins` shows them, and the
// function that registers its stages. Exceptions from it are reported, never propagated.
PIPELINE_PLUGIN("my_augment", "1.0.0", RegisterMyAugment)
