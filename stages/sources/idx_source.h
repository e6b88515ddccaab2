// `idx_source`: streams the images (and labels) of an IDX dataset such as MNIST, one sample per
// message, for a number of epochs, optionally shuffled and split into train/validation parts.
// The files come from its params or from a dataset file (`dataset`, `part`); either way every
// sample carries the dataset's description (DatasetInfo: name, class names, the training images'
// pixel statistics) for the stages downstream.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/payloads.h"
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
  const std::vector<std::string>& class_names() const { return dataset_->class_names; }
  const DatasetInfo& dataset() const { return *dataset_; }
  // How many samples each epoch holds (after split and limit), over all ranks.
  int64_t samples_per_epoch() const { return static_cast<int64_t>(selected_.size()); }

 private:
  void SelectSamples(const Params& params);
  // The image and label files to read, from the params or the dataset file; fills dataset_.
  void ResolveFiles(const Params& params, std::string& images_path, std::string& labels_path);
  void CheckClassNames(const std::string& labels_path) const;
  void StartEpoch();
  // Moves position_ to the next position of the epoch that this rank reads.
  void SkipToOwnShard();

  IdxImages images_;
  std::vector<int32_t> labels_;    // empty when unlabelled
  std::string file_name_;          // the image file's name, for Sample::source
  std::vector<int64_t> selected_;  // file indices of the chosen split, in file order
  std::vector<int64_t> order_;     // the current epoch's order of file indices
  std::shared_ptr<DatasetInfo> dataset_ = std::make_shared<DatasetInfo>();
  int64_t epochs_ = 1;
  bool shuffle_ = false;
  int64_t epoch_ = 0;
  int64_t position_ = 0;
  // Ranks sharing the stream (1: this process reads every sample) and this one's index.
  int shards_ = 1;
  int shard_ = 0;
};

}  // namespace pipeline
