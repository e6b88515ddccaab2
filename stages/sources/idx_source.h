// `idx_source`: streams the images (and labels) of an IDX dataset such as MNIST, one sample per
// message, for a number of epochs, optionally shuffled and split into train/validation parts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/stage.h"
#include "stages/sources/idx_reader.h"

namespace pipeline {

class IdxSource : public Stage {
 public:
  static StageInfo Info();

  void open(const Params& params) override;
  bool produce(Emitter& out) override;

  // The names from the class_names parameter, one per distinct label in ascending label order
  // (empty when not given); kept for later stages and reports.
  const std::vector<std::string>& class_names() const { return class_names_; }
  // How many samples each epoch holds (after split and limit), over all ranks.
  int64_t samples_per_epoch() const { return static_cast<int64_t>(selected_.size()); }

 private:
  void SelectSamples(const Params& params);
  void ParseClassNames(const std::string& text, const std::string& labels_path);
  void StartEpoch();
  // Moves position_ to the next position of the epoch that this rank reads.
  void SkipToOwnShard();

  IdxImages images_;
  std::vector<int32_t> labels_;    // empty when unlabelled
  std::string file_name_;          // the image file's name, for Sample::source
  std::vector<int64_t> selected_;  // file indices of the chosen split, in file order
  std::vector<int64_t> order_;     // the current epoch's order of file indices
  std::vector<std::string> class_names_;
  int64_t epochs_ = 1;
  bool shuffle_ = false;
  int64_t epoch_ = 0;
  int64_t position_ = 0;
  // Ranks sharing the stream (1: this process reads every sample) and this one's index.
  int shards_ = 1;
  int shard_ = 0;
};

}  // namespace pipeline
