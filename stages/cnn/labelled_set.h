// A labelled data set that arrives once, as a stream of batches, and is kept for the whole run:
// evaluate's test set and cnn_train's validation set.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/payloads.h"

namespace pipeline::cnn {

class LabelledSet {
 public:
  // `role` names the set in messages ("test", "validation"); `owner` names the stage's part
  // that needs it ("evaluate", "cnn_train").
  LabelledSet(std::string role, std::string owner);

  // Keeps a batch of the stream's first epoch; later epochs are ignored with one console
  // warning. Throws std::runtime_error for a batch whose shape changed, whose data does not
  // match its sample count, or with an unlabelled sample (named).
  void add(const Batch& batch, int64_t epoch);
  // The stream has ended: later batches are ignored.
  void end() { ended_ = true; }
  bool ended() const { return ended_; }

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  std::string shape_text() const;

  int rows = 0, cols = 0, channels = 0;
  Normalization normalization;
  std::vector<float> images;  // size() images of rows x cols x channels floats
  std::vector<int32_t> labels;
  std::vector<std::string> sources;

 private:
  std::string role_, owner_;
  bool ended_ = false;
  int64_t epoch_ = -1;
  bool warned_extra_epochs_ = false;
};

}  // namespace pipeline::cnn
