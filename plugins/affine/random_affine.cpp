// random_affine — rotates, scales, shifts and shears each image by a random amount, keeping the
// digit inside the frame.
//
// The warp is p' = A (p - c) + c + t about the image centre c, with A = rotation · shear · scale
// drawn per sample. With keep_in_frame, the ink's bounding box is pushed through A first: if the
// warped box is larger than the frame A shrinks until it fits, then t is moved just enough that
// the box lies inside, `margin` pixels from the edge. This applies only to content that has a
// margin to begin with (its box fits inside the margins unwarped, as an MNIST digit does): a
// full-frame picture (Fashion-MNIST, a photo) is warped exactly as drawn, never shrunk to fit a
// margin it never had — shrinking it would train on smaller pictures than the test shows. The box
// is grown by the reach of bilinear sampling, so the outermost `margin` rings of pixels receive no
// ink (nothing brighter than the ink threshold, 2% of the image's range): a digit is never cut,
// whatever the draw, and most draws are left exactly as drawn. A margin of 2 leaves room for a
// later elastic distortion.
#include <algorithm>
#include <cmath>
#include <memory>
#include <numbers>
#include <opencv2/imgproc.hpp>
#include <random>

#include "pipeline/augment.h"
#include "pipeline/plugin.h"

namespace {

using pipeline::augment::ImageRange;

// Pixels brighter than this fraction of the way from the image's smallest to its largest value
// count as ink: all of an MNIST stroke's anti-aliased rim, but not faint noise, which would make
// the whole image "ink" and shrink every warp.
constexpr double kInkThreshold = 0.02;
// Where a warped image can show ink, in source pixel coordinates (pixel centres at integers):
// bilinear sampling at a point mixes the pixels whose centres are less than one pixel away in x
// and in y, so an output pixel can receive ink only when its source point falls strictly within
// one pixel of the box around the ink pixels' centres.
struct InkBox {
  bool found = false;
  double left = 0, top = 0, right = 0, bottom = 0;
};

template <typename T>
InkBox FindInkBox(const cv::Mat& image, double threshold) {
  const int channels = image.channels();
  int left = image.cols, right = -1, top = image.rows, bottom = -1;
  for (int y = 0; y < image.rows; ++y) {
    const T* row = image.ptr<T>(y);
    for (int x = 0; x < image.cols; ++x) {
      for (int c = 0; c < channels; ++c) {
        if (row[x * channels + c] > threshold) {
          left = std::min(left, x);
          right = std::max(right, x);
          top = std::min(top, y);
          bottom = std::max(bottom, y);
          break;
        }
      }
    }
  }
  if (right < 0) return {};
  return {true, left - 1.0, top - 1.0, right + 1.0, bottom + 1.0};
}

InkBox FindInkBox(const cv::Mat& image, const ImageRange& range) {
  if (!(range.max > range.min)) return {};  // a flat image has no ink to keep
  const double threshold = range.min + kInkThreshold * (range.max - range.min);
  return image.depth() == CV_8U ? FindInkBox<uint8_t>(image, threshold)
                                : FindInkBox<float>(image, threshold);
}

// The linear part A and the translation t of the warp p' = A (p - c) + c + t.
struct Warp {
  cv::Matx22d linear;
  cv::Vec2d shift;
};

// Shrinks and shifts `warp` so that the warped `box` lies within the centres of the pixels
// `margin` - 1 from the edge: the `margin` outermost rings then sample only outside the ink's
// reach.
void KeepInFrame(const InkBox& box, const cv::Size& size, const cv::Vec2d& centre, int margin,
                 Warp& warp) {
  const cv::Vec2d corners[] = {
      {box.left, box.top}, {box.right, box.top}, {box.left, box.bottom}, {box.right, box.bottom}};
  // The warped box relative to the warped centre (before t).
  cv::Vec2d low(1e300, 1e300), high(-1e300, -1e300);
  for (const cv::Vec2d& corner : corners) {
    const cv::Vec2d warped = warp.linear * (corner - centre);
    for (int i = 0; i < 2; ++i) {
      low[i] = std::min(low[i], warped[i]);
      high[i] = std::max(high[i], warped[i]);
    }
  }
  const cv::Vec2d frame_low(margin - 1, margin - 1);
  const cv::Vec2d frame_high(size.width - margin, size.height - margin);
  // An image of a pixel or two has no room to keep anything in: warp it as drawn.
  if (frame_high[0] <= frame_low[0] || frame_high[1] <= frame_low[1]) return;
  // Content without a margin of its own (its unwarped box does not fit inside the margins) is
  // warped as drawn: there is no frame it was kept in.
  if (box.right - box.left > frame_high[0] - frame_low[0] ||
      box.bottom - box.top > frame_high[1] - frame_low[1]) {
    return;
  }
  double shrink = 1;
  for (int i = 0; i < 2; ++i) {
    const double room = frame_high[i] - frame_low[i];
    if (high[i] - low[i] > room) shrink = std::min(shrink, room / (high[i] - low[i]));
  }
  if (shrink < 1) {
    warp.linear *= shrink;
    low *= shrink;
    high *= shrink;
  }
  for (int i = 0; i < 2; ++i) {
    const double start = centre[i] + warp.shift[i] + low[i];
    const double end = centre[i] + warp.shift[i] + high[i];
    if (start < frame_low[i]) {
      warp.shift[i] += frame_low[i] - start;
    } else if (end > frame_high[i]) {
      warp.shift[i] -= end - frame_high[i];
    }
  }
}

double Radians(double degrees) { return degrees * std::numbers::pi / 180.0; }

class RandomAffine : public pipeline::augment::AugmentStage {
 protected:
  void configure(const pipeline::Params& params) override {
    max_rotation_ = Radians(params.get_float("max_rotation"));
    max_scale_ = params.get_float("max_scale");
    max_translation_ = params.get_float("max_translation");
    max_shear_ = Radians(params.get_float("max_shear"));
    keep_in_frame_ = params.get_bool("keep_in_frame");
    margin_ = static_cast<int>(params.get_int("margin"));
    fill_with_smallest_ = params.get_string("fill") == "smallest";
    mirror_ = params.get_float("mirror");
  }

  bool augment(const cv::Mat& in, cv::Mat& out, std::mt19937_64& rng) const override {
    using pipeline::augment::Uniform;
    const double angle = Uniform(rng, -max_rotation_, max_rotation_);
    const double scale = Uniform(rng, 1 - max_scale_, 1 + max_scale_);
    const double shear = Uniform(rng, -max_shear_, max_shear_);
    const double shift_x = Uniform(rng, -max_translation_, max_translation_) * in.cols;
    const double shift_y = Uniform(rng, -max_translation_, max_translation_) * in.rows;
    // Drawn after the others, so that mirror 0 leaves every earlier draw as it was.
    const bool mirrored = mirror_ > 0 && Uniform(rng, 0, 1) < mirror_;

    const double cos_a = std::cos(angle), sin_a = std::sin(angle);
    const cv::Matx22d rotation(cos_a, -sin_a, sin_a, cos_a);
    const cv::Matx22d horizontal_shear(1, std::tan(shear), 0, 1);
    const cv::Matx22d reflection(mirrored ? -1 : 1, 0, 0, 1);
    Warp warp{rotation * horizontal_shear * reflection * scale, {shift_x, shift_y}};

    const cv::Vec2d centre((in.cols - 1) / 2.0, (in.rows - 1) / 2.0);
    const ImageRange range = pipeline::augment::RangeOf(in);
    if (keep_in_frame_) {
      const InkBox box = FindInkBox(in, range);
      // An image too small for the margin keeps what room it has: at least its outermost ring.
      const int margin = std::max(1, std::min(margin_, (std::min(in.cols, in.rows) - 1) / 2));
      if (box.found) KeepInFrame(box, in.size(), centre, margin, warp);
    }
    // As a 2x3 matrix: p' = A p + (c + t - A c).
    const cv::Vec2d offset = centre + warp.shift - warp.linear * centre;
    const cv::Matx23d matrix(warp.linear(0, 0), warp.linear(0, 1), offset[0],  //
                             warp.linear(1, 0), warp.linear(1, 1), offset[1]);
    const cv::Scalar fill = fill_with_smallest_ ? range.smallest : cv::Scalar::all(0);
    cv::warpAffine(in, out, matrix, in.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, fill);
    return true;
  }

 private:
  double max_rotation_ = 0, max_scale_ = 0, max_translation_ = 0, max_shear_ = 0;
  bool keep_in_frame_ = true;
  int margin_ = 2;
  bool fill_with_smallest_ = true;
  double mirror_ = 0;
};

void RegisterRandomAffine(pipeline::Registry& registry) {
  using namespace pipeline;
  StageInfo info;
  info.name = "random_affine";
  info.kind = StageKind::kTransform;
  info.concurrency = Concurrency::kParallel;
  info.doc = "Random rotation, scale, translation and shear, keeping the digit inside the frame";
  info.inputs = {{"in", "sample", "images, CV_8U or CV_32F, 1 to 4 channels"}};
  info.outputs = {{"out", "sample", "the same samples, some warped; type and size kept"}};
  info.params = {
      augment::ProbabilityParam(0.8),
      FloatParam("max_rotation", 15, 0, 180, "largest rotation in degrees, either way"),
      FloatParam("max_scale", 0.15, 0, 0.9, "scale is drawn from [1 - max_scale, 1 + max_scale]"),
      FloatParam("max_translation", 0.1, 0, 0.5,
                 "largest shift, as a fraction of the width (x) and height (y)"),
      FloatParam("max_shear", 10, 0, 60, "largest horizontal shear angle in degrees, either way"),
      BoolParam("keep_in_frame", true,
                "shrink and shift each warp as needed so that no ink leaves the image; only for "
                "content that fits inside the margins as it is (a centred digit): full-frame "
                "pictures are warped as drawn, never shrunk"),
      IntParam("margin", 2, 1, 10,
               "with keep_in_frame: rings of pixels along the edge that must stay free of ink"),
      augment::FillParam(),
      FloatParam("mirror", 0, 0, 1,
                 "probability of mirroring left to right (for pictures whose class does not "
                 "depend on it, e.g. clothing; never for digits)"),
  };
  info.create = [] { return std::make_unique<RandomAffine>(); };
  registry.add(std::move(info));
}

}  // namespace

PIPELINE_PLUGIN("augment_affine", "1.0.0", RegisterRandomAffine)
