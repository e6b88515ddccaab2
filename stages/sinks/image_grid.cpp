// `image_grid`: a PNG contact sheet of original and augmented samples, so a user sees what an
// augmentation does before training with it (graphs/augment_preview.graph).
//
// Row r shows the sample with index r: column 0 the image that arrived on "original", columns
// 1..E the images that arrived on "augmented" in epochs 0..E-1. Augmentations draw anew each
// epoch, so a source run for E epochs (unshuffled, so index r is the same digit every epoch)
// shows E different augmentations of each digit.
//
// Pixels: 8-bit images are shown as they are, 16-bit ones divided by 257. Float images that
// `normalize` made (Sample::normalization) are shown by undoing it, so [0, 1] before normalizing
// is black to white again and what an augmentation did to intensities (noise, an erased patch, a
// dimming) shows unexaggerated. Other float images have no known range: each row is scaled
// linearly from its original's smallest..largest value to 0..255 (the original spans black to
// white, its augmentations are shown on the same scale), or, without a usable original, each
// image by its own smallest..largest value. Values beyond the range are clipped. 1-channel images
// are grey, 3- and 4-channel ones BGR(A); the grid is colour when any tile is.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <opencv2/core/check.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <stdexcept>
#include <string>

#include "pipeline/payloads.h"
#include "pipeline/registry.h"
#include "pipeline/temp_files.h"
#include "stages/sinks/png_writer.h"
#include "stages/stage_registrations.h"

namespace pipeline {
namespace {

constexpr int kOriginalPort = 0;
constexpr int kSeparatorGrey = 128;

struct Range {
  double low = 0, high = 0;
};

Range RangeOf(const cv::Mat& image) {
  Range range;
  cv::minMaxLoc(image.reshape(1), &range.low, &range.high);
  return range;
}

// An image as it arrived, with how it was normalized.
struct Picture {
  cv::Mat image;
  Normalization normalization;

  bool empty() const { return image.empty(); }
  bool unknown_float_range() const {
    return (image.depth() == CV_32F || image.depth() == CV_64F) && !normalization.applied;
  }
};

// One tile as 8-bit (1 or 3 channels), before scaling up.
cv::Mat ToDisplay(const Picture& picture, const std::optional<Range>& row_range) {
  const cv::Mat& image = picture.image;
  const Normalization& normalization = picture.normalization;
  cv::Mat display;
  switch (image.depth()) {
    case CV_8U:
      display = image;
      break;
    case CV_16U:
      image.convertTo(display, CV_8U, 1.0 / 257.0);
      break;
    default: {  // float: see the file comment
      if (normalization.applied) {
        // x was (u - mean) / std with u in [0, 1]; shown: 255 u.
        image.convertTo(display, CV_8U, 255.0 * normalization.std, 255.0 * normalization.mean);
        break;
      }
      Range range = row_range.value_or(RangeOf(image));
      if (!(range.high > range.low)) range = RangeOf(image);
      if (!(range.high > range.low)) range.high = range.low + 1;  // flat: black
      const double gain = 255.0 / (range.high - range.low);
      image.convertTo(display, CV_8U, gain, -range.low * gain);  // saturates: clipped
    }
  }
  if (display.channels() == 4) cv::cvtColor(display, display, cv::COLOR_BGRA2BGR);
  return display;
}

class ImageGrid : public Stage {
 public:
  void open(const Params& params) override {
    output_ = params.get_string("output");
    scale_ = static_cast<int>(params.get_int("scale"));
    max_rows_ = params.get_int("max_rows");
    max_columns_ = params.get_int("max_columns");
  }

  void process(const Message& msg, Emitter& /*out*/) override {
    const Sample& sample = msg.as<Sample>();
    if (msg.index < 0 || msg.index >= max_rows_) return;
    if (!sample.error.empty()) return;  // nothing to draw (an unreadable file): leave a gap
    CheckImage(sample);
    Row& row = rows_[msg.index];
    const Picture picture{sample.image.clone(), sample.normalization};
    if (msg.port == kOriginalPort) {
      // The same digit arrives every epoch; the first one seen is drawn.
      if (row.original.empty()) row.original = picture;
    } else if (msg.epoch >= 0 && msg.epoch < max_columns_) {
      row.augmented[msg.epoch] = picture;
    }
  }

  void close(Emitter& /*out*/) override {
    if (rows_.empty()) {
      throw std::runtime_error(output_ + ": no samples arrived, so there is no grid to draw");
    }
    const cv::Mat grid = Compose();
    Write(EncodePng(grid));
    std::cout << "image_grid: wrote " << rows_.size() << " row(s) of 1 original + " << epochs_
              << " augmented to " << output_ << " (" << grid.cols << "x" << grid.rows << ")"
              << std::endl;
  }

 private:
  struct Row {
    Picture original;
    std::map<int64_t, Picture> augmented;  // by epoch
  };

  static void CheckImage(const Sample& sample) {
    if (sample.image.empty()) throw std::runtime_error("the sample has an empty image");
    const int channels = sample.image.channels();
    const int depth = sample.image.depth();
    if ((channels != 1 && channels != 3 && channels != 4) ||
        (depth != CV_8U && depth != CV_16U && depth != CV_32F && depth != CV_64F)) {
      throw std::runtime_error("cannot draw a " + cv::typeToString(sample.image.type()) +
                               " image (image_grid takes 1, 3 or 4 channels of 8-bit, 16-bit "
                               "unsigned or float pixels)");
    }
  }

  // The grid, tiles scaled up `scale_` times with `scale_` pixels of grey between them.
  cv::Mat Compose() {
    int64_t last_row = 0;
    int tile_rows = 0, tile_cols = 0;
    bool colour = false;
    epochs_ = 0;
    auto measure = [&](const Picture& picture) {
      const cv::Mat& image = picture.image;
      tile_rows = std::max(tile_rows, image.rows);
      tile_cols = std::max(tile_cols, image.cols);
      colour = colour || image.channels() > 1;
    };
    for (const auto& [index, row] : rows_) {
      last_row = std::max(last_row, index);
      if (!row.original.empty()) measure(row.original);
      for (const auto& [epoch, image] : row.augmented) {
        measure(image);
        epochs_ = std::max(epochs_, epoch + 1);
      }
    }
    const int row_count = static_cast<int>(last_row + 1);
    const int column_count = static_cast<int>(epochs_ + 1);
    const int cell_width = tile_cols * scale_, cell_height = tile_rows * scale_;
    const int gap = scale_;
    cv::Mat grid(row_count * cell_height + (row_count + 1) * gap,
                 column_count * cell_width + (column_count + 1) * gap, colour ? CV_8UC3 : CV_8UC1,
                 cv::Scalar::all(kSeparatorGrey));
    for (const auto& [index, row] : rows_) {
      std::optional<Range> row_range;
      if (!row.original.empty() && row.original.unknown_float_range()) {
        row_range = RangeOf(row.original.image);
      }
      auto place = [&](const Picture& picture, int column) {
        cv::Mat tile = ToDisplay(picture, row_range);
        if (colour && tile.channels() == 1) cv::cvtColor(tile, tile, cv::COLOR_GRAY2BGR);
        cv::resize(tile, tile, cv::Size(), scale_, scale_, cv::INTER_NEAREST);
        const cv::Rect where(gap + column * (cell_width + gap),
                             gap + static_cast<int>(index) * (cell_height + gap), tile.cols,
                             tile.rows);
        tile.copyTo(grid(where));
      };
      if (!row.original.empty()) place(row.original, 0);
      for (const auto& [epoch, image] : row.augmented) place(image, static_cast<int>(epoch) + 1);
    }
    return grid;
  }

  // Written to a temporary file and renamed, so a reader never sees half a picture.
  void Write(const std::string& png) const {
    const std::string temporary = CreateTempFileFor(output_);  // unique: runs never share it
    {
      std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
      if (!file) throw std::runtime_error(output_ + ": cannot write " + temporary);
      file.write(png.data(), static_cast<std::streamsize>(png.size()));
      file.flush();
      if (!file) throw std::runtime_error(output_ + ": write to " + temporary + " failed");
    }
    std::error_code error;
    std::filesystem::rename(temporary, output_, error);
    if (error) {
      throw std::runtime_error(output_ + ": cannot rename " + temporary + ": " + error.message());
    }
  }

  std::string output_;
  int scale_ = 4;
  int64_t max_rows_ = 8, max_columns_ = 16;
  std::map<int64_t, Row> rows_;  // by sample index
  int64_t epochs_ = 0;
};

}  // namespace

void RegisterImageGrid(Registry& registry) {
  StageInfo info;
  info.name = "image_grid";
  info.kind = StageKind::kSink;
  info.concurrency = Concurrency::kSerial;
  info.doc = "Writes a PNG grid: per sample index, the original then its augmentation per epoch";
  info.inputs = {
      {"original", "sample", "the samples before augmentation: column 0"},
      {"augmented", "sample", "the same samples after it: column 1 + epoch"},
  };
  info.params = {
      RequiredStringParam("output", "the PNG file to write (replaced atomically at the end)"),
      IntParam("scale", 4, 1, 32, "each image pixel becomes scale x scale grid pixels"),
      IntParam("max_rows", 8, 1, 1000, "draw the samples with index 0 .. max_rows - 1"),
      IntParam("max_columns", 16, 1, 1000, "draw the augmented images of epochs 0 .. this - 1"),
  };
  info.create = [] { return std::make_unique<ImageGrid>(); };
  registry.add(std::move(info));
}

}  // namespace pipeline
