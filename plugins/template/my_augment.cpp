// my_augment — the template for a pipeline augmentation plugin.
//
// Copy this folder, rename the stage (and the library in CMakeLists.txt), change ShiftImage and
// augment() to your augmentation, then build against an installed pipeline:
//
//   cmake -S . -B build -DCMAKE_PREFIX_PATH=<pipeline install prefix>
//   cmake --build build
//   pipeline plugins my_augment --plugin-path build      # lists its ports and parameters
//
// and use it in a graph:  stage { name: "aug" plugin: "my_augment" input: "mnist" }
//
// As copied, the stage shifts a sample's image by a few whole pixels, with probability
// `probability`: ShiftImage, augment(), the max_shift parameter and info.doc say so and are the
// parts to change; the rest fits any augmentation. It is built on pipeline::augment::AugmentStage
// (<pipeline/augment.h>), which does what every augmentation must do the same way: the
// `probability` gate, samples that carry an error (an unreadable photo, no digit found) passed on
// as they are so the error reaches the output, the checks on the incoming image, unchanged samples
// passed on without a copy, and every other Sample field (label, source, box, ...) carried over.
// Your class only reads its parameters in configure() and changes one image in augment().
//
// The stage is parallel: the engine runs augment() on many threads at once and restores the order
// of the outputs, so it keeps no state between samples, and it draws every random choice from the
// generator it is given, seeded from (graph seed, stage name, epoch, index): the same sample is
// changed the same way in every run with the same graph seed, whatever thread runs it.
#include <cstdlib>
#include <memory>
#include <random>

#include "pipeline/augment.h"
#include "pipeline/plugin.h"

namespace {

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

class MyAugment : public pipeline::augment::AugmentStage {
 protected:
  // Parameters arrive validated (type, range, choices) against the declaration below.
  void configure(const pipeline::Params& params) override {
    max_shift_ = static_cast<int>(params.get_int("max_shift"));
    fill_with_smallest_ = params.get_string("fill") == "smallest";
  }

  // Writes a new image to `out` (never a view of `in`: it becomes an immutable payload).
  bool augment(const cv::Mat& in, cv::Mat& out, std::mt19937_64& rng) const override {
    std::uniform_int_distribution<int> offset(-max_shift_, max_shift_);
    int dx = 0, dy = 0;
    // A shift of (0, 0) would be no augmentation: draw again.
    while (dx == 0 && dy == 0) {
      dx = offset(rng);
      dy = offset(rng);
    }
    out = ShiftImage(in, dx, dy, pipeline::augment::FillValue(in, fill_with_smallest_));
    return true;
  }

 private:
  int max_shift_ = 1;
  bool fill_with_smallest_ = true;
};

void RegisterMyAugment(pipeline::Registry& registry) {
  pipeline::StageInfo info;
  info.name = "my_augment";  // the plugin name graph files use; must be unique
  info.kind = pipeline::StageKind::kTransform;
  info.concurrency = pipeline::Concurrency::kParallel;
  info.doc = "Shifts each image by 1 to max_shift pixels in x and y, with probability p.";
  info.inputs = {{"in", "sample", "images, CV_8U or CV_32F, 1 to 4 channels"}};
  info.outputs = {{"out", "sample", "the same samples, some augmented; type and size kept"}};
  info.params = {
      pipeline::augment::ProbabilityParam(0.5),
      pipeline::IntParam("max_shift", 2, 1, 14, "largest shift in pixels, each direction"),
      pipeline::augment::FillParam(),
  };
  info.create = [] { return std::make_unique<MyAugment>(); };
  registry.add(std::move(info));
}

}  // namespace

// The library's entry point: its name and version as `pipeline plugins` shows them, and the
// function that registers its stages. Exceptions from it are reported, never propagated.
PIPELINE_PLUGIN("my_augment", "1.0.0", RegisterMyAugment)
