#include "stages/sources/idx_source.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <set>
#include <stdexcept>

#include "pipeline/payloads.h"
#include "pipeline/registry.h"
#include "stages/sources/dataset_file.h"
#include "stages/stage_registrations.h"

namespace pipeline {
namespace {

// A uniform integer in [0, bound) from the raw engine output. std::uniform_int_distribution is
// implementation-defined, and the shuffle order must be the same with every standard library.
uint64_t UniformBelow(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  const uint64_t limit = max - max % bound;  // a multiple of bound: no modulo bias below it
  uint64_t value = rng();
  while (value >= limit) value = rng();
  return value % bound;
}

std::string Trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    parts.push_back(Trim(text.substr(start, comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return parts;
}

// Measures `images` (read from `path`) and records the figures in `dataset`.
void SetStatistics(DatasetInfo& dataset, const IdxImages& images, const std::string& path) {
  const PixelStatistics statistics = MeasurePixelStatistics(images);
  dataset.has_statistics = true;
  dataset.mean = statistics.mean;
  dataset.std = statistics.std;
  dataset.statistics_source = path;
}

}  // namespace

StageInfo IdxSource::Info() {
  StageInfo info;
  info.name = "idx_source";
  info.kind = StageKind::kSource;
  info.concurrency = Concurrency::kSerial;
  info.doc = "Streams an IDX image dataset (e.g. MNIST), raw or gzip, one 8-bit sample at a time";
  info.outputs = {{"samples", "sample", "one CV_8UC1 image with its label (-1 if unlabelled)"}};
  info.params = {
      InputFile(StringParam("images", "",
                            "IDX image file (magic 0x00000803, or 0x00000804 for colour), raw or "
                            "gzip; give this or `dataset`")),
      InputFile(StringParam("labels", "", "IDX label file (0x00000801); empty: unlabelled (-1)")),
      InputFile(StringParam("dataset", "",
                            "dataset file (datasets/*.dataset: files, class names, statistics) "
                            "to read instead of images/labels/class_names")),
      ChoiceParam("part", "train", {"train", "test"}, "with `dataset`: which part to stream"),
      IntParam("epochs", 1, 1, 1e6,
               "passes over the data; travels with the samples, so a `cnn_train` downstream "
               "plans its schedule over this many epochs"),
      BoolParam("shuffle", false,
                "shuffle each epoch; the order follows the graph seed, stage name and epoch"),
      ChoiceParam("split", "all", {"all", "train", "validation"},
                  "which part to stream: all, train (the file minus the validation part) or "
                  "validation (the last validation_fraction of the file)"),
      FloatParam("validation_fraction", 0, 0, 0.9,
                 "share of the file, taken from its end, that forms the validation part (split "
                 "all ignores it); fixed by the file alone, so train and validation never "
                 "overlap"),
      IntParam("limit", 0, 0, 1e12, "stream only the first N samples of the split (0: all)"),
      StringParam("class_names", "",
                  "comma-separated class names, label 0 first (reports, checkpoints and "
                  "predictions use them); with `dataset`, the file's"),
      ChoiceParam("shard", "auto", {"auto", "on", "off"},
                  "under mpirun, whether each rank reads only its share of every epoch (every "
                  "N-th position of the shuffled order, N ranks): auto shards shuffled streams "
                  "(training data) and gives every rank all of an unshuffled one (test and "
                  "validation sets); without mpirun there is one rank and nothing changes"),
  };
  info.create = [] { return std::make_unique<IdxSource>(); };
  return info;
}

void IdxSource::open(const Params& params) {
  std::string images_path, labels_path;
  ResolveFiles(params, images_path, labels_path);
  images_ = ReadIdxImages(images_path);
  file_name_ = std::filesystem::path(images_path).filename().string();
  labels_.clear();
  if (!labels_path.empty()) {
    labels_ = ReadIdxLabels(labels_path);
    if (static_cast<int64_t>(labels_.size()) != images_.count) {
      throw std::runtime_error(labels_path + ": has " + std::to_string(labels_.size()) +
                               " labels but " + images_path + " has " +
                               std::to_string(images_.count) + " images");
    }
  }
  if (images_.count == 0) throw std::runtime_error(images_path + ": holds no images");
  CheckClassNames(labels_path);
  // Without a dataset file (or one without statistics) of which this is the training part,
  // the figures are this file's own.
  if (!dataset_->has_statistics) SetStatistics(*dataset_, images_, images_path);
  SelectSamples(params);

  epochs_ = params.get_int("epochs");
  shuffle_ = params.get_bool("shuffle");
  const std::string& shard = params.get_string("shard");
  const bool sharded = shard == "on" || (shard == "auto" && shuffle_);
  shards_ = sharded ? world().size() : 1;
  shard_ = sharded ? world().rank() : 0;
  if (shards_ > samples_per_epoch()) {
    throw std::runtime_error("an epoch of " + std::to_string(samples_per_epoch()) +
                             " samples cannot be shared by " + std::to_string(shards_) +
                             " ranks (set shard off, or run fewer ranks)");
  }
  epoch_ = 0;
  position_ = 0;
  StartEpoch();
}

// The validation part is the last round(count * validation_fraction) samples of the file and the
// train part is everything before it. Only the file and the fraction decide the partition — not
// limit, shuffle or the seed — so two sources over the same file with the same fraction, one
// "train" and one "validation", never share a sample. limit then takes the first N of the part.
void IdxSource::SelectSamples(const Params& params) {
  const std::string& split = params.get_string("split");
  const double fraction = params.get_float("validation_fraction");
  const int64_t count = images_.count;
  const auto validation_count = static_cast<int64_t>(std::llround(count * fraction));
  int64_t begin = 0, end = count;
  if (split == "train") {
    end = count - validation_count;
  } else if (split == "validation") {
    begin = count - validation_count;
  }
  if (begin == end) {
    throw std::runtime_error("split \"" + split + "\" of " + params.get_string("images") +
                             " is empty: validation_fraction " + std::to_string(fraction) + " of " +
                             std::to_string(count) + " samples gives " +
                             std::to_string(validation_count) + " validation samples");
  }
  const int64_t limit = params.get_int("limit");
  if (limit > 0 && limit < end - begin) end = begin + limit;
  selected_.resize(static_cast<size_t>(end - begin));
  std::iota(selected_.begin(), selected_.end(), begin);
}

void IdxSource::ResolveFiles(const Params& params, std::string& images_path,
                             std::string& labels_path) {
  dataset_ = std::make_shared<DatasetInfo>();
  const std::string& dataset_path = params.get_string("dataset");
  if (dataset_path.empty()) {
    images_path = params.get_string("images");
    labels_path = params.get_string("labels");
    if (images_path.empty()) {
      throw std::invalid_argument(
          "give `images` (an IDX image file) or `dataset` (a dataset file)");
    }
    const std::string& names = params.get_string("class_names");
    if (!names.empty()) dataset_->class_names = SplitCommas(names);
    return;
  }
  for (const char* name : {"images", "labels", "class_names"}) {
    if (!params.get_string(name).empty()) {
      throw std::invalid_argument(std::string("`") + name +
                                  "` and `dataset` both given: the dataset file " + dataset_path +
                                  " names the files and classes");
    }
  }
  const proto::DatasetSpec spec = ReadDatasetFile(dataset_path);
  const bool test = params.get_string("part") == "test";
  if (test && spec.test().images().empty()) {
    throw std::runtime_error(dataset_path + ": gives no test { images: ... } for part test");
  }
  const proto::DatasetPart& part = test ? spec.test() : spec.train();
  images_path = part.images();
  labels_path = part.labels();
  dataset_->name = spec.name();
  dataset_->class_names.assign(spec.class_names().begin(), spec.class_names().end());
  if (spec.has_mean()) {
    dataset_->has_statistics = true;
    dataset_->mean = spec.mean();
    dataset_->std = spec.std();
    dataset_->statistics_source = dataset_path;
  } else if (test) {
    // The test part is normalized with the training images' figures, as the model will be.
    SetStatistics(*dataset_, ReadIdxImages(spec.train().images()), spec.train().images());
  }
}

void IdxSource::CheckClassNames(const std::string& labels_path) const {
  const std::vector<std::string>& names = dataset_->class_names;
  if (names.empty()) return;
  std::set<std::string> unique;
  for (const auto& name : names) {
    if (name.empty()) throw std::runtime_error("class_names has an empty name");
    if (!unique.insert(name).second) {
      throw std::runtime_error("class_names names \"" + name + "\" twice");
    }
  }
  if (labels_.empty()) return;  // unlabelled data: nothing to check the names against
  const int32_t largest = *std::max_element(labels_.begin(), labels_.end());
  if (largest >= static_cast<int32_t>(names.size())) {
    throw std::runtime_error("class_names gives " + std::to_string(names.size()) +
                             " names (labels 0.." + std::to_string(names.size() - 1) + ") but " +
                             labels_path + " has label " + std::to_string(largest));
  }
}

void IdxSource::SkipToOwnShard() {
  while (position_ < samples_per_epoch() && ShardOwner(position_, shards_) != shard_) ++position_;
}

// Every rank shuffles the whole epoch the same way (the order depends on the seed and epoch
// alone) and reads its own positions of it, so together the ranks read exactly the epoch a
// single process reads.
void IdxSource::StartEpoch() {
  order_ = selected_;
  SkipToOwnShard();
  if (!shuffle_) return;
  // One generator per epoch, keyed by index -1 (no sample has it): the order depends only on the
  // graph seed, the stage name and the epoch.
  std::mt19937_64 rng(DeriveSeed(env().graph_seed, env().name, epoch_, -1));
  for (size_t i = order_.size(); i > 1; --i) {
    std::swap(order_[i - 1], order_[UniformBelow(rng, i)]);
  }
}

bool IdxSource::produce(Emitter& out) {
  if (env().stop_requested != nullptr && env().stop_requested->load()) return false;
  if (epoch_ >= epochs_) return false;

  const int64_t file_index = order_[static_cast<size_t>(position_)];
  auto sample = std::make_shared<Sample>();
  sample->image = images_.image(file_index);  // read from disk: memory stays flat
  sample->label = labels_.empty() ? -1 : labels_[static_cast<size_t>(file_index)];
  sample->source = file_name_ + "#" + std::to_string(file_index);
  sample->epoch_size = samples_per_epoch();
  sample->planned_epochs = epochs_;
  sample->dataset = dataset_;
  sample->shards = shards_;
  out.emit(std::move(sample), epoch_, position_);  // the index is the global position

  ++position_;
  SkipToOwnShard();
  if (position_ == static_cast<int64_t>(order_.size())) {
    out.end_epoch(epoch_);
    position_ = 0;
    if (++epoch_ < epochs_) StartEpoch();
  }
  return true;
}

void RegisterIdxSource(Registry& registry) { registry.add(IdxSource::Info()); }

}  // namespace pipeline
