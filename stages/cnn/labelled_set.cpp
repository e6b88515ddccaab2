#include "stages/cnn/labelled_set.h"

#include <stdexcept>
#include <utility>

#include "stages/cnn/console.h"

namespace pipeline::cnn {

LabelledSet::LabelledSet(std::string role, std::string owner)
    : role_(std::move(role)), owner_(std::move(owner)) {}

std::string LabelledSet::shape_text() const { return ShapeText(rows, cols, channels); }

void LabelledSet::add(const Batch& batch, int64_t epoch) {
  if (ended_ || (epoch_ >= 0 && epoch != epoch_)) {
    if (!warned_extra_epochs_) {
      warned_extra_epochs_ = true;
      ConsoleLine(owner_ + ": the " + role_ +
                  " stream has more than one epoch; only the first is used");
    }
    return;
  }
  epoch_ = epoch;
  if (batch.size() == 0) return;
  if (rows == 0) {
    rows = batch.rows;
    cols = batch.cols;
    channels = batch.channels;
    normalization = batch.normalization;
  } else if (batch.rows != rows || batch.cols != cols || batch.channels != channels) {
    throw std::runtime_error(role_ + " batches change shape from " + shape_text() + " to " +
                             ShapeText(batch.rows, batch.cols, batch.channels));
  }
  if (static_cast<int64_t>(batch.data.size()) != batch.size() * batch.sample_elements()) {
    throw std::runtime_error(role_ + " batch holds " + std::to_string(batch.data.size()) +
                             " floats for " + std::to_string(batch.size()) + " samples");
  }
  for (size_t i = 0; i < batch.labels.size(); ++i) {
    std::string source = i < batch.sources.size()
                             ? batch.sources[i]
                             : role_ + " sample " + std::to_string(sources.size());
    if (batch.labels[i] < 0) {
      throw std::runtime_error(role_ + " sample " + source + " has no label; " + owner_ +
                               " needs labelled " + role_ + " data");
    }
    sources.push_back(std::move(source));
  }
  images.insert(images.end(), batch.data.begin(), batch.data.end());
  labels.insert(labels.end(), batch.labels.begin(), batch.labels.end());
}

}  // namespace pipeline::cnn
