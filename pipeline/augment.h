// The base of every augmentation stage, bundled or your own: it does what all of them must do the
// same way, so that a plugin's own file holds only its augmentation — the `probability` gate,
// samples that carry an error passed on as they are, the checks on the incoming image, the
// per-sample random generator, unchanged samples passed on without a copy, and every other Sample
// field copied to the changed one. plugins/template/my_augment.cpp shows a whole plugin on it.
//
// Public API, installed as <pipeline/augment.h>. Header-only (inline), so a plugin library
// compiles its own copy and links nothing but the engine library.
#pragma once

#include <algorithm>
#include <memory>
#include <opencv2/core.hpp>
#include <opencv2/core/check.hpp>
#include <random>
#include <stdexcept>
#include <string>

#include "pipeline/payloads.h"
#include "pipeline/registry.h"

namespace pipeline::augment {

// The smallest value of each channel (the background of a white-on-black digit, before and after
// `normalize`) and the range over all channels.
struct ImageRange {
  cv::Scalar smallest;
  double min = 0;
  double max = 0;
};

template <typename T>
ImageRange RangeOfPixels(const cv::Mat& image) {
  const int channels = image.channels();
  T smallest[4], largest[4];
  for (int c = 0; c < channels; ++c) {
    smallest[c] = largest[c] = image.ptr<T>(0)[c];
  }
  for (int y = 0; y < image.rows; ++y) {
    const T* row = image.ptr<T>(y);
    for (int x = 0; x < image.cols; ++x) {
      for (int c = 0; c < channels; ++c) {
        const T value = row[x * channels + c];
        smallest[c] = std::min(smallest[c], value);
        largest[c] = std::max(largest[c], value);
      }
    }
  }
  ImageRange range;
  range.min = smallest[0];
  range.max = largest[0];
  for (int c = 0; c < channels; ++c) {
    range.smallest[c] = smallest[c];
    range.min = std::min<double>(range.min, smallest[c]);
    range.max = std::max<double>(range.max, largest[c]);
  }
  return range;
}

// For CV_8U and CV_32F images of 1 to 4 channels (what CheckAugmentable lets through).
inline ImageRange RangeOf(const cv::Mat& image) {
  return image.depth() == CV_8U ? RangeOfPixels<uint8_t>(image) : RangeOfPixels<float>(image);
}

// The colour of pixels an augmentation uncovers (a warp's outside, an erased patch):
// "smallest" is the background of a white-on-black digit at any normalization, "zero" is 0.
inline ParamSpec FillParam() {
  return ChoiceParam("fill", "smallest", {"smallest", "zero"},
                     "uncovered pixels: the image's smallest value per channel, or 0");
}

inline cv::Scalar FillValue(const cv::Mat& image, bool fill_with_smallest) {
  return fill_with_smallest ? RangeOf(image).smallest : cv::Scalar::all(0);
}

// Throws std::invalid_argument unless `low_name`'s value does not exceed `high_name`'s: the
// check every pair of "min_X / max_X" parameters needs, which declared ranges cannot express.
inline void CheckOrdered(const char* low_name, double low, const char* high_name, double high) {
  if (low > high) {
    throw std::invalid_argument(std::string(low_name) + " (" + std::to_string(low) +
                                ") must not exceed " + high_name + " (" + std::to_string(high) +
                                ")");
  }
}

inline ParamSpec ProbabilityParam(double default_value) {
  return FloatParam("probability", default_value, 0.0, 1.0,
                    "chance that a sample is augmented; the others pass on unchanged");
}

// Throws (the engine adds stage, epoch and sample) unless `sample` has an image the
// augmentations support: CV_8U (0..255) or CV_32F (any range), 1 to 4 channels.
inline void CheckAugmentable(const Sample& sample) {
  const std::string where = sample.source.empty() ? "" : " (" + sample.source + ")";
  if (sample.image.empty()) throw std::runtime_error("the sample has an empty image" + where);
  const int depth = sample.image.depth();
  if (depth != CV_8U && depth != CV_32F) {
    throw std::runtime_error("the sample's image is " + cv::typeToString(sample.image.type()) +
                             where + "; augmentations take CV_8U or CV_32F images");
  }
  if (sample.image.channels() > 4) {
    throw std::runtime_error("the sample's image has " + std::to_string(sample.image.channels()) +
                             " channels" + where + "; augmentations take 1 to 4");
  }
}

// A parallel sample → sample stage with a `probability` gate. Subclasses read their own
// parameters in configure() and change one image in augment().
class AugmentStage : public Stage {
 public:
  void open(const Params& params) final {
    probability_ = params.get_float("probability");
    configure(params);
  }

  void process(const Message& msg, Emitter& out) final {
    const Sample& sample = msg.as<Sample>();
    // A sample that carries an error (an unreadable file, no digit found) has no image; it goes
    // on as it is, so the error reaches the output.
    if (!sample.error.empty()) {
      out.emit_like(msg, msg.payload);
      return;
    }
    CheckAugmentable(sample);
    // Every random choice comes from (graph seed, stage name, epoch, index): the same sample is
    // augmented the same way in every run, whatever thread runs it.
    std::mt19937_64 rng = rng_for(msg.epoch, msg.index);
    cv::Mat augmented;
    if (!std::bernoulli_distribution(probability_)(rng) || !augment(sample.image, augmented, rng)) {
      // Payloads are immutable and shared: an unchanged sample goes on as the same payload.
      out.emit_like(msg, msg.payload);
      return;
    }
    // Every other field (label, source, box, epoch_size, normalization, ...) is carried over.
    out.emit_like(msg, sample.with_image(std::move(augmented)));
  }

 protected:
  // Reads the stage's own parameters (already validated against its declaration); throws
  // std::invalid_argument for combinations the declared ranges cannot express.
  virtual void configure(const Params& params) = 0;

  // Writes the augmented `in` to `out`, a new image of the same size and type: it becomes the
  // pixels of an immutable payload, so it must not share memory with a reused buffer. Returns
  // false when the draw left the image as it was (the sample is then passed on unchanged).
  // Called concurrently from many threads: no state may change here.
  virtual bool augment(const cv::Mat& in, cv::Mat& out, std::mt19937_64& rng) const = 0;

 private:
  double probability_ = 0;
};

// A uniform draw in [low, high] (low when the range is empty).
inline double Uniform(std::mt19937_64& rng, double low, double high) {
  if (!(high > low)) return low;
  return std::uniform_real_distribution<double>(low, high)(rng);
}

}  // namespace pipeline::augment
