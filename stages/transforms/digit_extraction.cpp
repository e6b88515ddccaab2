#include "stages/transforms/digit_extraction.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <numeric>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "stages/transforms/digit_layout.h"
#include "stages/transforms/ink_components.h"

namespace pipeline {
namespace {

constexpr int kField = 28;  // MNIST's image size
constexpr int kBox = 20;    // MNIST's digit box (longest side)
// Polarity and background are judged on a copy at most this large: lighting varies slowly,
// and the morphology that removes the ink is cheap there.
constexpr int kOverviewSide = 64;

cv::Mat ToGrey(const cv::Mat& image) {
  cv::Mat eight = image;
  if (image.depth() != CV_8U) {
    const double scale = image.depth() == CV_16U ? 1.0 / 257.0 : 255.0;
    image.convertTo(eight, CV_MAKETYPE(CV_8U, image.channels()), scale);
  }
  cv::Mat grey;
  switch (eight.channels()) {
    case 1:
      return eight;
    case 3:
      cv::cvtColor(eight, grey, cv::COLOR_BGR2GRAY);
      return grey;
    case 4:
      cv::cvtColor(eight, grey, cv::COLOR_BGRA2GRAY);
      return grey;
    default:
      cv::extractChannel(eight, grey, 0);
      return grey;
  }
}

using Histogram = std::array<int64_t, 256>;

Histogram HistogramOf(const cv::Mat& grey, const cv::Mat& mask = cv::Mat()) {
  Histogram histogram{};
  for (int r = 0; r < grey.rows; ++r) {
    const uint8_t* row = grey.ptr<uint8_t>(r);
    const uint8_t* keep = mask.empty() ? nullptr : mask.ptr<uint8_t>(r);
    for (int c = 0; c < grey.cols; ++c) {
      if (keep == nullptr || keep[c] != 0) ++histogram[row[c]];
    }
  }
  return histogram;
}

// The smallest value v with at least `fraction` of the counted pixels <= v.
int Percentile(const Histogram& histogram, double fraction) {
  const int64_t total = std::accumulate(histogram.begin(), histogram.end(), int64_t{0});
  const auto wanted = static_cast<int64_t>(std::ceil(fraction * static_cast<double>(total)));
  int64_t seen = 0;
  for (int v = 0; v < 256; ++v) {
    seen += histogram[v];
    if (seen >= std::max<int64_t>(wanted, 1)) return v;
  }
  return 255;
}

// The picture's border: mostly paper, whatever the digits do.
Histogram BorderHistogram(const cv::Mat& grey) {
  const int margin = std::max(1, std::min(grey.rows, grey.cols) / 20);
  Histogram histogram{};
  for (int r = 0; r < grey.rows; ++r) {
    const uint8_t* row = grey.ptr<uint8_t>(r);
    const bool whole_row = r < margin || r >= grey.rows - margin;
    for (int c = 0; c < grey.cols; ++c) {
      if (whole_row || c < margin || c >= grey.cols - margin) ++histogram[row[c]];
    }
  }
  return histogram;
}

// Ink is whichever side of the paper's level holds more deviation beyond the paper's own
// spread: far darker pixels mean dark ink (pen on paper), far brighter ones light ink (chalk on
// a board, MNIST itself). Uneven light spreads the paper's values both ways; ink only one way.
bool InkIsDark(const cv::Mat& overview) {
  const Histogram border = BorderHistogram(overview);
  const int paper = Percentile(border, 0.5);
  Histogram spread{};
  for (int v = 0; v < 256; ++v) spread[std::abs(v - paper)] += border[v];
  const int beyond = std::max(6, 3 * Percentile(spread, 0.5));
  const Histogram all = HistogramOf(overview);
  int64_t darker = 0, brighter = 0;
  for (int v = 0; v < 256; ++v) {
    if (v < paper - beyond) darker += all[v] * (paper - v);
    if (v > paper + beyond) brighter += all[v] * (v - paper);
  }
  return darker >= brighter;
}

// A copy shrunk by the smallest whole factor that brings `side_of(picture)` to at most `limit`
// (the picture itself when it already is). Whole factors keep INTER_AREA a fast box average.
int ShrinkFactor(int side, int limit) { return std::max(1, (side + limit - 1) / limit); }

// The last (side % factor) rows and columns are left out, so the factor is exact.
cv::Mat Shrunk(const cv::Mat& grey, int factor) {
  if (factor == 1 || grey.rows < factor || grey.cols < factor) return grey;
  const cv::Size size(grey.cols / factor, grey.rows / factor);
  cv::Mat small;
  cv::resize(grey(cv::Rect(0, 0, size.width * factor, size.height * factor)), small, size, 0, 0,
             cv::INTER_AREA);
  return small;
}

// `image` with `pad` pixels added on every side by continuing each row and column linearly
// (odd reflection: value(-x) = 2 value(0) - value(x)). Light falling off towards a corner keeps
// falling off beyond it, so the background filters below see no false dip or bump at the edges.
cv::Mat ExtendLinearly(const cv::Mat& image, int pad) {
  cv::Mat wide(image.rows + 2 * pad, image.cols + 2 * pad, CV_16SC1);
  for (int r = 0; r < image.rows; ++r) {
    const uint8_t* in = image.ptr<uint8_t>(r);
    int16_t* out = wide.ptr<int16_t>(r + pad) + pad;
    for (int c = 0; c < image.cols; ++c) out[c] = in[c];
    for (int k = 1; k <= pad; ++k) {
      out[-k] = static_cast<int16_t>(2 * out[0] - out[k]);
      out[image.cols - 1 + k] =
          static_cast<int16_t>(2 * out[image.cols - 1] - out[image.cols - 1 - k]);
    }
  }
  const int first = pad, last = pad + image.rows - 1;
  for (int k = 1; k <= pad; ++k) {
    int16_t* above = wide.ptr<int16_t>(first - k);
    int16_t* below = wide.ptr<int16_t>(last + k);
    const int16_t* top = wide.ptr<int16_t>(first);
    const int16_t* bottom = wide.ptr<int16_t>(last);
    const int16_t* inside_top = wide.ptr<int16_t>(first + k);
    const int16_t* inside_bottom = wide.ptr<int16_t>(last - k);
    for (int c = 0; c < wide.cols; ++c) {
      above[c] = static_cast<int16_t>(2 * top[c] - inside_top[c]);
      below[c] = static_cast<int16_t>(2 * bottom[c] - inside_bottom[c]);
    }
  }
  cv::Mat extended;
  wide.convertTo(extended, CV_8U);  // saturates
  return extended;
}

// The paper's brightness everywhere on `overview`: the picture with the ink removed by a
// morphological closing (dark ink) or opening (light ink) wider than any stroke, then smoothed.
cv::Mat Background(const cv::Mat& overview, bool dark_ink, bool shrunk) {
  // A quarter of the picture's shorter side: wider than the strokes of the largest digit that
  // fits (a digit is at most as tall as the picture), yet as narrow as the digits allow, so that
  // light falling off along a wide strip is followed at the digits' scale.
  const int size = std::max(3, std::min(overview.rows, overview.cols) / 4) | 1;
  const cv::Mat kernel = cv::getStructuringElement(cv::MORPH_RECT, cv::Size(size, size));
  // Single noisy pixels would otherwise lift the closing's upper envelope (or lower the
  // opening's) everywhere; a shrunk overview has averaged them away already.
  cv::Mat smooth = overview;
  if (!shrunk) cv::medianBlur(overview, smooth, 3);
  const int pad = std::min(size, std::min(overview.rows, overview.cols) - 1);
  cv::Mat background;
  cv::morphologyEx(ExtendLinearly(smooth, pad), background,
                   dark_ink ? cv::MORPH_CLOSE : cv::MORPH_OPEN, kernel, cv::Point(-1, -1), 1,
                   cv::BORDER_REPLICATE);
  cv::blur(background, background, cv::Size(size, size), cv::Point(-1, -1), cv::BORDER_REPLICATE);
  return background(cv::Rect(pad, pad, overview.cols, overview.rows)).clone();
}

// The background of `region` of a picture of size `full`, interpolated bilinearly from the
// overview's (what resizing the whole background to `full` and cropping would give, without doing
// that). The arithmetic is cv::warpAffine's (coordinates in 1/1024 then 1/32 pixel, weights in
// 1/1024, edges replicated), so the result is the same to the bit, at a fraction of its cost on
// these small regions: each row is two overview rows blended, then sampled along precomputed
// columns.
cv::Mat BackgroundOf(const cv::Mat& background, cv::Size full, cv::Rect region) {
  constexpr int kScale = 1024, kFraction = 32;  // warpAffine's AB_SCALE, INTER_TAB_SIZE
  const double sx = static_cast<double>(background.cols) / full.width;
  const double sy = static_cast<double>(background.rows) / full.height;
  const auto clamp_column = [&](int x) { return std::clamp(x, 0, background.cols - 1); };
  const auto clamp_row = [&](int y) { return std::clamp(y, 0, background.rows - 1); };
  const int x_origin = cvRound(((region.x + 0.5) * sx - 0.5) * kScale) + kScale / kFraction / 2;
  std::vector<int> left(region.width), right(region.width), x_weight(region.width);
  for (int c = 0; c < region.width; ++c) {
    const int x = (x_origin + cvRound(sx * c * kScale)) >> 5;  // in 1/32 pixel
    left[c] = clamp_column(x >> 5);
    right[c] = clamp_column((x >> 5) + 1);
    x_weight[c] = x & (kFraction - 1);
  }
  cv::Mat part(region.size(), CV_8UC1);
  std::vector<int> blended(static_cast<size_t>(background.cols));
  for (int r = 0; r < region.height; ++r) {
    const int y =
        (cvRound(((region.y + 0.5) * sy - 0.5 + sy * r) * kScale) + kScale / kFraction / 2) >> 5;
    const uint8_t* top = background.ptr<uint8_t>(clamp_row(y >> 5));
    const uint8_t* bottom = background.ptr<uint8_t>(clamp_row((y >> 5) + 1));
    const int y_weight = y & (kFraction - 1);
    for (int c = 0; c < background.cols; ++c) {
      blended[c] = top[c] * (kFraction - y_weight) + bottom[c] * y_weight;
    }
    uint8_t* out = part.ptr<uint8_t>(r);
    for (int c = 0; c < region.width; ++c) {
      const int value =
          blended[left[c]] * (kFraction - x_weight[c]) + blended[right[c]] * x_weight[c];
      out[c] = static_cast<uint8_t>((value + 512) >> 10);
    }
  }
  return part;
}

// How strongly each pixel differs from the paper behind it, 0 (paper) to 255 (a difference as
// large as the paper's distance to black or white, whichever is further). Dividing by the local
// background undoes uneven lighting, which scales paper and ink alike; the same divisor for
// both polarities keeps a blank bright page misread as "light ink" from amplifying its noise.
cv::Mat InkOf(const cv::Mat& grey, const cv::Mat& background, bool dark_ink) {
  cv::Mat difference, ink;
  if (dark_ink) {
    cv::subtract(background, grey, difference);  // saturates: brighter than paper is no ink
  } else {
    cv::subtract(grey, background, difference);
  }
  const cv::Mat divisor = cv::max(background, 255 - background);
  cv::divide(difference, divisor, ink, 255.0);
  return ink;
}

struct Component {
  cv::Rect box;
  int area = 0;
  int label = 0;
};

int VerticalGap(const cv::Rect& a, const cv::Rect& b) {
  return std::max(0, std::max(a.y, b.y) - std::min(a.y + a.height, b.y + b.height));
}

int HorizontalOverlap(const cv::Rect& a, const cv::Rect& b) {
  return std::max(0, std::min(a.x + a.width, b.x + b.width) - std::max(a.x, b.x));
}

bool IsLineLike(const cv::Rect& box) { return box.width > 4 * box.height; }

// Pieces of one digit (the bar of a broken 5 or 7, a 4 written in two strokes) lie above one
// another: they share most of their horizontal extent and are close vertically. A long line
// (an underline, a ruled line) under several digits is not merged into any of them.
bool BelongTogether(const Component& a, const Component& b) {
  const int narrower = std::min(a.box.width, b.box.width);
  if (2 * HorizontalOverlap(a.box, b.box) < narrower) return false;
  if (2 * VerticalGap(a.box, b.box) > std::max(a.box.height, b.box.height)) return false;
  const int wider = std::max(a.box.width, b.box.width);
  const Component& wide = a.box.width >= b.box.width ? a : b;
  return !(IsLineLike(wide.box) && wider > 2 * narrower);
}

int Find(std::vector<int>& parent, int i) {
  while (parent[i] != i) i = parent[i] = parent[parent[i]];
  return i;
}

struct Group {
  cv::Rect box;
  std::vector<int> labels;
};

// Connected components of the thresholded ink, cleaned of specks and lines and merged into
// digits (in no particular order: ExtractDigits puts them in reading order).
std::vector<Group> FindDigitGroups(const cv::Mat& binary, const InkComponents& ink,
                                   const DigitExtractOptions& options, double scale) {
  std::vector<Component> components;
  int largest = 0;
  for (size_t i = 0; i < ink.components().size(); ++i) {
    const InkComponent& found = ink.components()[i];
    components.push_back({found.box, found.area, static_cast<int>(i)});
    largest = std::max(largest, found.area);
  }
  // Specks: noise, dust, JPEG blocks — a fiftieth of the largest component's ink or less.
  std::erase_if(components, [&](const Component& c) { return 50 * c.area < largest; });

  std::vector<int> parent(components.size());
  std::iota(parent.begin(), parent.end(), 0);
  for (size_t i = 0; i < components.size(); ++i) {
    for (size_t j = i + 1; j < components.size(); ++j) {
      if (BelongTogether(components[i], components[j])) {
        parent[Find(parent, static_cast<int>(i))] = Find(parent, static_cast<int>(j));
      }
    }
  }
  std::vector<Group> groups(components.size());
  for (size_t i = 0; i < components.size(); ++i) {
    Group& group = groups[Find(parent, static_cast<int>(i))];
    group.box = group.labels.empty() ? components[i].box : (group.box | components[i].box);
    group.labels.push_back(components[i].label);
  }
  std::erase_if(groups, [](const Group& g) { return g.labels.empty(); });

  // Not digits: lines and dashes (no digit is four times wider than tall), thin strokes spanning
  // the whole picture (page edges; a "1" cropped tightly spans it too, but is not thin next to
  // the picture), anything much shorter than the tallest digit (dots, commas).
  const cv::Size size = binary.size();
  std::erase_if(groups, [&](const Group& g) {
    const bool spans = (g.box.height >= size.height - 1 && 4 * g.box.width < g.box.height &&
                        10 * g.box.width < size.width) ||
                       (g.box.width >= size.width - 1 && 4 * g.box.height < g.box.width &&
                        10 * g.box.height < size.height);
    return IsLineLike(g.box) || spans || g.box.height < options.min_height_px * scale;
  });
  int tallest = 0;
  for (const Group& g : groups) tallest = std::max(tallest, g.box.height);
  std::erase_if(
      groups, [&](const Group& g) { return g.box.height < options.min_relative_height * tallest; });
  if (static_cast<int>(groups.size()) > options.max_digits) {
    std::sort(groups.begin(), groups.end(),
              [](const Group& a, const Group& b) { return a.box.height > b.box.height; });
    groups.resize(static_cast<size_t>(options.max_digits));
  }
  return groups;
}

// Answers "is (r, c) within cv::dilate(core, ellipse of 2 radius + 1)?" inside `box`, which holds
// every nonzero pixel of `core` (so nothing outside it reaches in; beyond the picture counts as
// empty, as with cv::dilate's default border). StretchDigit needs the answer only where the ink
// is strong enough to keep, a small part of the box; dilating the whole box visited each of
// the ellipse's ~3 radius^2 points at every pixel. Here a pixel is a lookup per ellipse row (in
// that row's running count of set pixels), the row nearest the pixel first, where ink usually is.
class EllipseNeighbourhood {
 public:
  EllipseNeighbourhood(const cv::Mat& core, cv::Rect box, int radius)
      : radius_(radius), height_(box.height), stride_(box.width + 2 * radius + 1) {
    const int side = 2 * radius + 1;
    const cv::Mat element = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(side, side));
    for (int i = 0; i < side; ++i) {
      const uint8_t* row = element.ptr<uint8_t>(i);
      int left = side, right = -1;
      for (int j = 0; j < side; ++j) {
        if (row[j] != 0) left = std::min(left, j), right = std::max(right, j);
      }
      if (right >= 0) rows_.push_back({i - radius, left - radius, right - radius});
    }
    // Centre row first, then outwards.
    std::stable_sort(rows_.begin(), rows_.end(), [](const Reach& a, const Reach& b) {
      return std::abs(a.offset) < std::abs(b.offset);
    });
    // counts_[r][radius + c]: set pixels of box row r left of column c; the `radius` entries
    // padding each end repeat the edge counts, so lookups need no clamping.
    counts_.resize(static_cast<size_t>(box.height) * stride_);
    for (int r = 0; r < box.height; ++r) {
      const uint8_t* in = core.ptr<uint8_t>(box.y + r) + box.x;
      int* count = counts_.data() + static_cast<size_t>(r) * stride_;
      std::fill_n(count, radius + 1, 0);
      int total = 0;
      for (int c = 0; c < box.width; ++c) {
        total += in[c] != 0;
        count[radius + c + 1] = total;
      }
      std::fill_n(count + radius + box.width + 1, radius, total);
    }
  }

  // (r, c) relative to the box.
  bool Contains(int r, int c) const {
    for (const Reach& reach : rows_) {
      const int source = r + reach.offset;
      if (source < 0 || source >= height_) continue;
      const int* count = counts_.data() + static_cast<size_t>(source) * stride_ + radius_ + c;
      if (count[reach.right + 1] > count[reach.left]) return true;
    }
    return false;
  }

 private:
  struct Reach {
    int offset, left, right;  // ellipse row offset and its columns [left, right], around the anchor
  };
  int radius_, height_, stride_;
  std::vector<Reach> rows_;
  std::vector<int> counts_;
};

struct Cut {
  cv::Mat ink;   // the digit's ink, stretched, cropped to `box`
  cv::Rect box;  // within the region that was cut from
};

// One digit's ink: `ink` covers a region around it, `core` marks its thresholded strokes there.
// The ink near the strokes (the anti-aliased edge belongs to the digit) is kept and everything
// else — other digits' ink, noise — dropped; it is stretched so that a typical stroke pixel is
// 255 (MNIST strokes are saturated) while edges keep their grey levels.
Cut StretchDigit(const cv::Mat& ink, const cv::Mat& core, int threshold) {
  Cut cut;
  cut.box = cv::boundingRect(core);
  if (cut.box.empty()) return cut;
  // Within the box: core is empty outside it.
  const int level =
      std::max(threshold + 1, Percentile(HistogramOf(ink(cut.box), core(cut.box)), 0.5));
  const int radius = std::max(1, cut.box.height / 25);
  const EllipseNeighbourhood near(core, cut.box, radius);
  const int floor = threshold / 4;
  std::array<uint8_t, 256> stretch{};
  for (int v = 0; v < 256; ++v) {
    stretch[v] = cv::saturate_cast<uint8_t>(255.0 * (v - floor) / (level - floor));
  }
  cut.ink.create(cut.box.size(), CV_8UC1);
  for (int r = 0; r < cut.box.height; ++r) {
    const uint8_t* in = ink.ptr<uint8_t>(cut.box.y + r) + cut.box.x;
    uint8_t* out = cut.ink.ptr<uint8_t>(r);
    for (int c = 0; c < cut.box.width; ++c) {
      const uint8_t value = stretch[in[c]];  // 0 for faint ink: no need to ask `near`
      out[c] = value != 0 && near.Contains(r, c) ? value : 0;
    }
  }
  return cut;
}

cv::Rect Scaled(const cv::Rect& box, double factor) {
  const int x = static_cast<int>(std::floor(box.x * factor));
  const int y = static_cast<int>(std::floor(box.y * factor));
  return cv::Rect(x, y, static_cast<int>(std::ceil(box.br().x * factor)) - x,
                  static_cast<int>(std::ceil(box.br().y * factor)) - y);
}

// Below this height in `work` pixels digits blur into each other and into the paper.
constexpr int kMinWorkDigitHeight = 12;

// Digits found at one analysis resolution: `work` is `grey` shrunk by `factor`.
struct Analysis {
  int factor = 1;
  cv::Mat work, background, ink;  // background: the overview's paper level
  bool dark_ink = true;
  int threshold = 0;
  std::unique_ptr<InkComponents> components;
  std::vector<Group> groups;  // in work pixels
};

std::unique_ptr<Analysis> Analyse(const cv::Mat& grey, int factor,
                                  const DigitExtractOptions& options, double full_scale) {
  auto a = std::make_unique<Analysis>();
  a->factor = factor;
  a->work = Shrunk(grey, factor);
  const double work_scale = static_cast<double>(a->work.cols) / grey.cols;  // work px / grey px
  // The overview's shorter side sets the scale of the lighting estimate: a strip 8 times wider
  // than tall keeps 8 times as many overview pixels along its length, so light falling off
  // along it is followed as closely as across a square photo.
  const cv::Mat overview =
      Shrunk(a->work, ShrinkFactor(std::min(a->work.rows, a->work.cols), kOverviewSide));
  a->dark_ink = InkIsDark(overview);
  a->background = Background(overview, a->dark_ink, overview.data != grey.data);
  cv::Mat work_background;
  cv::resize(a->background, work_background, a->work.size(), 0, 0, cv::INTER_LINEAR);
  a->ink = InkOf(a->work, work_background, a->dark_ink);
  cv::Mat binary;
  const double otsu = cv::threshold(a->ink, binary, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
  a->threshold = static_cast<int>(std::max(otsu, std::ceil(options.min_contrast * 255.0)));
  if (a->threshold > otsu) cv::threshold(a->ink, binary, a->threshold, 255, cv::THRESH_BINARY);
  a->components = std::make_unique<InkComponents>(binary);
  a->groups = FindDigitGroups(binary, *a->components, options, work_scale * full_scale);
  return a;
}

int TallestHeight(const std::vector<Group>& groups) {
  int tallest = 0;
  for (const Group& g : groups) tallest = std::max(tallest, g.box.height);
  return tallest;
}

// Groups wider than a digit cut where their ink profile says touching digits meet.
std::vector<Group> SplitTouching(const std::vector<Group>& groups, const InkComponents& ink) {
  std::vector<cv::Rect> boxes;
  for (const Group& group : groups) boxes.push_back(group.box);
  std::vector<Group> split;
  for (size_t i = 0; i < groups.size(); ++i) {
    const Group& group = groups[i];
    const std::vector<int> cuts =
        TouchingDigitCuts(ink.Mask(group.labels, group.box), TypicalDigitWidth(boxes, i));
    int left = 0;
    for (size_t k = 0; k <= cuts.size(); ++k) {
      const int right = k < cuts.size() ? cuts[k] : group.box.width;
      split.push_back({cv::Rect(group.box.x + left, group.box.y, right - left, group.box.height),
                       group.labels});
      left = right;
    }
  }
  return split;
}

}  // namespace

cv::Mat NormalizeDigit(const cv::Mat& ink) {
  cv::Mat field(kField, kField, CV_8UC1, cv::Scalar(0));
  if (ink.empty()) return field;
  const double factor = static_cast<double>(kBox) / std::max(ink.rows, ink.cols);
  const cv::Size size(std::max(1, static_cast<int>(std::lround(ink.cols * factor))),
                      std::max(1, static_cast<int>(std::lround(ink.rows * factor))));
  cv::Mat boxed;
  cv::resize(ink, boxed, size, 0, 0, factor < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  const cv::Moments moments = cv::moments(boxed);
  double cx = (size.width - 1) / 2.0, cy = (size.height - 1) / 2.0;
  if (moments.m00 > 0) {
    cx = moments.m10 / moments.m00;
    cy = moments.m01 / moments.m00;
  }
  // Pixel i's centre is at i, so this puts the centre of mass on pixel (14, 14).
  const int left = static_cast<int>(std::lround(kField / 2 - cx));
  const int top = static_cast<int>(std::lround(kField / 2 - cy));
  const cv::Rect target =
      cv::Rect(left, top, size.width, size.height) & cv::Rect(0, 0, kField, kField);
  if (target.empty()) return field;
  boxed(cv::Rect(target.x - left, target.y - top, target.width, target.height))
      .copyTo(field(target));
  return field;
}

std::vector<ExtractedDigit> ExtractDigits(const cv::Mat& image,
                                          const DigitExtractOptions& options) {
  std::vector<ExtractedDigit> digits;
  if (image.empty()) return digits;
  // Three resolutions: `grey` (the picture, brought down to max_side when huge), `work` (where
  // digits are found: small enough to be fast, large enough to see every digit) and the
  // overview (polarity, background). Each digit is then cut from `grey`, at full detail.
  cv::Mat grey = ToGrey(image);
  double full_scale = 1.0;  // grey pixels per original pixel
  if (std::max(grey.rows, grey.cols) > options.max_side) {
    full_scale = static_cast<double>(options.max_side) / std::max(grey.rows, grey.cols);
    cv::resize(grey, grey, cv::Size(), full_scale, full_scale, cv::INTER_AREA);
  }
  const int first_factor = ShrinkFactor(std::min(grey.rows, grey.cols), options.analysis_side);
  std::unique_ptr<Analysis> analysis = Analyse(grey, first_factor, options, full_scale);
  // Digits that came out only a few pixels tall in `work` (a short number written small on a
  // large page) are found again where they are large enough to separate and threshold; the
  // photos that need this are the ones that would otherwise read wrong or not at all.
  const int found_height = TallestHeight(analysis->groups);
  if (first_factor > 1 && found_height < kMinWorkDigitHeight) {
    const int finer = found_height == 0
                          ? std::max(1, first_factor / 4)
                          : std::max(1, first_factor * found_height / (2 * kMinWorkDigitHeight));
    if (finer < first_factor) {
      std::unique_ptr<Analysis> second = Analyse(grey, finer, options, full_scale);
      if (!second->groups.empty()) analysis = std::move(second);
    }
  }
  const Analysis& a = *analysis;
  std::vector<Group> groups = SplitTouching(a.groups, *a.components);
  std::vector<cv::Rect> group_boxes;
  for (const Group& group : groups) group_boxes.push_back(group.box);
  const std::vector<int> rows = RowsOf(group_boxes);
  for (const int index : ReadingOrder(group_boxes, rows)) {
    const Group& group = groups[static_cast<size_t>(index)];
    Cut cut;
    cv::Rect region = group.box;  // where `cut.box` is relative to, in grey pixels
    if (a.work.data == grey.data) {
      cut =
          StretchDigit(a.ink(group.box), a.components->Mask(group.labels, group.box), a.threshold);
    } else {
      // The digit's strokes found in `work`, widened by a pixel, mark where its ink may be at
      // full detail; other digits' ink stays out.
      const cv::Rect around =
          (group.box + cv::Size(2, 2) - cv::Point(1, 1)) & cv::Rect({}, a.work.size());
      cv::Mat allowed;
      cv::dilate(a.components->Mask(group.labels, around), allowed, cv::Mat());
      region = Scaled(around, a.factor) & cv::Rect({}, grey.size());
      cv::resize(allowed, allowed, region.size(), 0, 0, cv::INTER_NEAREST);
      const cv::Mat detail =
          InkOf(grey(region), BackgroundOf(a.background, grey.size(), region), a.dark_ink);
      cut = StretchDigit(detail, (detail > a.threshold) & allowed, a.threshold);
    }
    if (cut.box.empty()) continue;
    ExtractedDigit digit;
    digit.image = NormalizeDigit(cut.ink);
    digit.box = Scaled(cut.box + region.tl(), 1.0 / full_scale) & cv::Rect({}, image.size());
    digit.row = rows[static_cast<size_t>(index)];
    digits.push_back(std::move(digit));
  }
  return digits;
}

}  // namespace pipeline
