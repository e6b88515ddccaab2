// Realistic photos of handwritten digits made from MNIST digits: dark ink on light, tinted,
// unevenly lit paper; the digit 30-80% of the picture and off-centre; small rotation and
// perspective; blur, sensor noise, JPEG. The fixtures, the accuracy benchmark and the tests all
// draw their photos from here, so "accuracy on photos" means the same thing everywhere.
//
// Header-only so tests (tests/unit) and programs (bench/, tools/) can share it without a library.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <string>
#include <vector>

namespace pipeline::photos {

inline double Uniform(std::mt19937_64& rng, double low, double high) {
  return std::uniform_real_distribution<double>(low, high)(rng);
}

// One MNIST digit to draw: its 28x28 image (white on black) and where its ink goes on the page.
struct PlacedDigit {
  cv::Mat mnist;
  int label = -1;
  cv::Rect2d box;  // the digit's ink box on the page, before the perspective warp
};

// Everything random about one photo, chosen up front so a video can move the digits over the
// same paper and light.
struct Scene {
  cv::Size size;
  std::vector<PlacedDigit> digits;
  cv::Scalar paper;                       // BGR, 0..255
  cv::Scalar ink;                         // BGR
  double ink_strength = 1;                // 1: opaque pen; lower: pencil
  double gradient_x = 0, gradient_y = 0;  // brightness change across the page (fraction)
  cv::Point2d shadow_centre;
  double shadow_radius = 1, shadow_depth = 0;  // a soft dark blob (hand, phone)
  cv::Matx33d warp = cv::Matx33d::eye();       // rotation and perspective of the page
  double blur_sigma = 0;
  double noise_sigma = 0;
  bool grey = false;
  // Printed lines on the paper (ruled or squared), in page pixels before the warp; 0: none.
  double line_spacing = 0;
  bool grid = false;  // vertical lines too (squared paper)
  double line_width = 1;
  cv::Scalar line_colour;  // BGR
};

struct Photo {
  cv::Mat image;                // CV_8UC3 (BGR) or CV_8UC1
  std::vector<int> labels;      // left to right
  std::vector<cv::Rect> boxes;  // the digits' ink in the photo, left to right
};

// The bounding box of the MNIST digit's ink (pixels above a faint level).
inline cv::Rect InkBox(const cv::Mat& mnist) {
  cv::Mat mask = mnist > 24;
  cv::Rect box = cv::boundingRect(mask);
  return box.empty() ? cv::Rect(0, 0, mnist.cols, mnist.rows) : box;
}

// The digit's width for a given ink height, keeping MNIST's aspect ratio.
inline double WidthFor(const cv::Mat& mnist, double height) {
  const cv::Rect box = InkBox(mnist);
  return height * box.width / std::max(1, box.height);
}

// Paper, light, ink, camera: everything but the digits' placement.
inline void RandomLook(Scene& scene, std::mt19937_64& rng) {
  const double paper = Uniform(rng, 165, 245);
  scene.paper = cv::Scalar(paper + Uniform(rng, -14, 10), paper + Uniform(rng, -6, 6),
                           paper + Uniform(rng, -6, 14));  // bluish to yellowish
  const double ink = Uniform(rng, 15, 80);
  const bool blue_pen = Uniform(rng, 0, 1) < 0.3;
  scene.ink = blue_pen ? cv::Scalar(ink + 70, ink + 10, ink) : cv::Scalar(ink, ink, ink);
  scene.ink_strength = Uniform(rng, 0.7, 1.0);
  scene.gradient_x = Uniform(rng, -0.35, 0.35);
  scene.gradient_y = Uniform(rng, -0.35, 0.35);
  scene.shadow_centre = {Uniform(rng, 0, scene.size.width), Uniform(rng, 0, scene.size.height)};
  scene.shadow_radius = Uniform(rng, 0.3, 0.8) * std::max(scene.size.width, scene.size.height);
  scene.shadow_depth = Uniform(rng, 0, 1) < 0.4 ? Uniform(rng, 0.1, 0.3) : 0.0;
  scene.blur_sigma = Uniform(rng, 0, 1) < 0.3 ? 0.0 : Uniform(rng, 0.3, 1.1);
  scene.noise_sigma = Uniform(rng, 1, 5);
  scene.grey = Uniform(rng, 0, 1) < 0.4;

  // A small rotation about the centre and each corner pulled a little: a hand-held phone.
  const cv::Point2f centre(scene.size.width / 2.0f, scene.size.height / 2.0f);
  const cv::Matx23d rotation = cv::getRotationMatrix2D(centre, Uniform(rng, -7, 7), 1.0);
  const float w = static_cast<float>(scene.size.width), h = static_cast<float>(scene.size.height);
  const cv::Point2f corners[4] = {{0, 0}, {w, 0}, {w, h}, {0, h}};
  cv::Point2f moved[4];
  for (int i = 0; i < 4; ++i) {
    moved[i] = {corners[i].x + static_cast<float>(Uniform(rng, -0.04, 0.04) * w),
                corners[i].y + static_cast<float>(Uniform(rng, -0.04, 0.04) * h)};
  }
  const cv::Matx33d perspective = cv::getPerspectiveTransform(corners, moved);
  const cv::Matx33d rotate(rotation(0, 0), rotation(0, 1), rotation(0, 2), rotation(1, 0),
                           rotation(1, 1), rotation(1, 2), 0, 0, 1);
  scene.warp = perspective * rotate;
}

// One digit, 30-80% of the picture's smaller side tall, somewhere off-centre; 80-320 px images.
inline Scene SingleDigitScene(const cv::Mat& mnist, int label, std::mt19937_64& rng) {
  Scene scene;
  const int side = static_cast<int>(Uniform(rng, 80, 320));
  const double aspect = Uniform(rng, 0.75, 1.33);
  scene.size = cv::Size(std::clamp(static_cast<int>(side * aspect), 80, 320), side);
  const double height = Uniform(rng, 0.3, 0.8) * std::min(scene.size.width, scene.size.height);
  const double width = WidthFor(mnist, height);
  // Keep clear of the edges by 8% so the warp does not push ink off the picture.
  const double margin_x = 0.08 * scene.size.width, margin_y = 0.08 * scene.size.height;
  const double x = Uniform(rng, margin_x, std::max(margin_x, scene.size.width - margin_x - width));
  const double y =
      Uniform(rng, margin_y, std::max(margin_y, scene.size.height - margin_y - height));
  scene.digits.push_back({mnist, label, cv::Rect2d(x, y, width, height)});
  RandomLook(scene, rng);
  return scene;
}

// Two to five digits in a row, like a number written on a line.
inline Scene StripScene(const std::vector<cv::Mat>& mnist, const std::vector<int>& labels,
                        std::mt19937_64& rng) {
  Scene scene;
  const double height = Uniform(rng, 32, 70);
  std::vector<double> widths, gaps;
  double total = 0;
  for (const cv::Mat& digit : mnist) {
    widths.push_back(WidthFor(digit, height));
    gaps.push_back(Uniform(rng, 0.25, 0.5) * height);
    total += widths.back() + gaps.back();
  }
  const double margin = Uniform(rng, 0.1, 0.25) * height + 8;
  scene.size = cv::Size(std::clamp(static_cast<int>(total + 2 * margin), 80, 960),
                        std::clamp(static_cast<int>(height * Uniform(rng, 1.5, 2.2)), 80, 320));
  double x = margin;
  for (size_t i = 0; i < mnist.size(); ++i) {
    const double h = height * Uniform(rng, 0.9, 1.1);
    const double y = (scene.size.height - h) / 2 + Uniform(rng, -0.08, 0.08) * height;
    scene.digits.push_back({mnist[i], labels[i], cv::Rect2d(x, y, widths[i] * h / height, h)});
    x += widths[i] * h / height + gaps[i];
  }
  RandomLook(scene, rng);
  return scene;
}

// Draws the scene: ink coverage from the digits (warped), paper and ink colours, light, blur,
// noise. `noise_rng` draws the sensor noise.
inline Photo Render(const Scene& scene, std::mt19937_64& noise_rng) {
  const cv::Size size = scene.size;
  cv::Mat coverage(size, CV_32FC1, cv::Scalar(0));
  Photo photo;
  for (const PlacedDigit& digit : scene.digits) {
    const cv::Rect ink_box = InkBox(digit.mnist);
    cv::Mat ink;
    digit.mnist(ink_box).convertTo(ink, CV_32F, 1.0 / 255.0);
    // MNIST is a 20 px rendering of the pen stroke; scale it up smoothly, then sharpen its edges
    // back to a pen's (the stroke's half-level contour stays where MNIST put it).
    const cv::Matx33d place(digit.box.width / ink_box.width, 0, digit.box.x, 0,
                            digit.box.height / ink_box.height, digit.box.y, 0, 0, 1);
    // Pixel centres: output pixel p shows ink at place^-1(p), shifted by half a pixel each way.
    const cv::Matx33d half_in(1, 0, 0.5, 0, 1, 0.5, 0, 0, 1);
    const cv::Matx33d half_out(1, 0, -0.5, 0, 1, -0.5, 0, 0, 1);
    const cv::Matx33d full = half_out * scene.warp * place * half_in;
    cv::Mat warped;
    cv::warpPerspective(ink, warped, full, size, cv::INTER_CUBIC, cv::BORDER_CONSTANT);
    warped = (warped - 0.3) * (1.0 / 0.4);
    cv::threshold(warped, warped, 1.0, 1.0, cv::THRESH_TRUNC);
    cv::threshold(warped, warped, 0.0, 0.0, cv::THRESH_TOZERO);
    coverage = cv::max(coverage, warped);
    photo.labels.push_back(digit.label);
    cv::Mat strokes = warped > 0.5;
    photo.boxes.push_back(cv::boundingRect(strokes));
  }
  // Printed lines lie on the paper under the ink and are warped with the page.
  cv::Mat lines(size, CV_32FC1, cv::Scalar(0));
  if (scene.line_spacing > 0) {
    cv::Mat page(size, CV_32FC1, cv::Scalar(0));
    const int width = std::max(1, static_cast<int>(std::lround(scene.line_width)));
    for (double y = scene.line_spacing / 2; y < size.height; y += scene.line_spacing) {
      cv::line(page, cv::Point(0, static_cast<int>(y)), cv::Point(size.width, static_cast<int>(y)),
               cv::Scalar(1), width, cv::LINE_AA);
    }
    for (double x = scene.line_spacing / 2; scene.grid && x < size.width; x += scene.line_spacing) {
      cv::line(page, cv::Point(static_cast<int>(x), 0), cv::Point(static_cast<int>(x), size.height),
               cv::Scalar(1), width, cv::LINE_AA);
    }
    const cv::Matx33d half_in(1, 0, 0.5, 0, 1, 0.5, 0, 0, 1);
    const cv::Matx33d half_out(1, 0, -0.5, 0, 1, -0.5, 0, 0, 1);
    cv::warpPerspective(page, lines, half_out * scene.warp * half_in, size, cv::INTER_LINEAR,
                        cv::BORDER_REPLICATE);
  }
  cv::Mat light(size, CV_32FC1);
  for (int r = 0; r < size.height; ++r) {
    float* row = light.ptr<float>(r);
    for (int c = 0; c < size.width; ++c) {
      const double dx = c - scene.shadow_centre.x, dy = r - scene.shadow_centre.y;
      const double shadow =
          scene.shadow_depth *
          std::exp(-(dx * dx + dy * dy) / (scene.shadow_radius * scene.shadow_radius));
      row[c] = static_cast<float>(1.0 + scene.gradient_x * (c / double(size.width) - 0.5) +
                                  scene.gradient_y * (r / double(size.height) - 0.5) - shadow);
    }
  }
  cv::Mat image(size, CV_32FC3);
  for (int r = 0; r < size.height; ++r) {
    const float* cover = coverage.ptr<float>(r);
    const float* lit = light.ptr<float>(r);
    const float* line = lines.ptr<float>(r);
    cv::Vec3f* out = image.ptr<cv::Vec3f>(r);
    for (int c = 0; c < size.width; ++c) {
      const double a = cover[c] * scene.ink_strength;
      for (int k = 0; k < 3; ++k) {
        const double paper = scene.paper[k] * (1 - line[c]) + scene.line_colour[k] * line[c];
        out[c][k] = static_cast<float>(lit[c] * (paper * (1 - a) + scene.ink[k] * a));
      }
    }
  }
  if (scene.blur_sigma > 0) cv::GaussianBlur(image, image, cv::Size(), scene.blur_sigma);
  cv::Mat noise(size, CV_32FC3);
  cv::theRNG().state = noise_rng();
  cv::randn(noise, 0.0, scene.noise_sigma);
  image += noise;
  image.convertTo(photo.image, CV_8UC3);
  if (scene.grey) cv::cvtColor(photo.image, photo.image, cv::COLOR_BGR2GRAY);
  // Left to right, like the extraction reports them.
  std::vector<size_t> order(photo.labels.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return photo.boxes[a].x + photo.boxes[a].width / 2 <
           photo.boxes[b].x + photo.boxes[b].width / 2;
  });
  Photo sorted{photo.image, {}, {}};
  for (size_t i : order) {
    sorted.labels.push_back(photo.labels[i]);
    sorted.boxes.push_back(photo.boxes[i]);
  }
  return sorted;
}

// The photo as a camera or phone would store it: JPEG at a random quality, or PNG.
inline std::vector<uint8_t> Encode(const cv::Mat& image, bool jpeg, int quality) {
  std::vector<uint8_t> bytes;
  if (jpeg) {
    cv::imencode(".jpg", image, bytes, {cv::IMWRITE_JPEG_QUALITY, quality});
  } else {
    cv::imencode(".png", image, bytes);
  }
  return bytes;
}

}  // namespace pipeline::photos
