// `image_source`: the photos a user wants classified — a file, a folder, a glob or a list —
// decoded one per message. A file that cannot be decoded becomes a sample with `error` set and
// no pixels, so it reaches the output as one error row and the other files go on.
#include <cctype>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/payloads.h"
#include "pipeline/registry.h"
#include "stages/sources/image_decode.h"
#include "stages/sources/image_paths.h"
#include "stages/sources/image_prefetch.h"
#include "stages/stage_registrations.h"

namespace pipeline {
namespace {

// "00012_label7.jpg" → 7: a single digit right after "label" in the file name; -1 otherwise
// (several digits name a multi-digit photo, whose samples are single digits).
int LabelFromName(const std::string& path) {
  const std::string stem = std::filesystem::path(path).stem().string();
  const size_t at = stem.rfind("label");
  if (at == std::string::npos) return -1;
  const size_t digit = at + 5;
  if (digit >= stem.size() || !std::isdigit(static_cast<unsigned char>(stem[digit]))) return -1;
  if (digit + 1 < stem.size() && std::isdigit(static_cast<unsigned char>(stem[digit + 1]))) {
    return -1;
  }
  return stem[digit] - '0';
}

class ImageSource : public Stage {
 public:
  void open(const Params& params) override {
    files_ = ExpandImagePaths(params.get_string("path"));
    total_files_ = files_.size();
    TakeOwnShard(params.get_bool("shard"));
    options_.max_pixels = params.get_int("max_pixels");
    options_.max_file_bytes = params.get_int("max_file_bytes");
    options_.grey = params.get_bool("grey");
    labels_from_names_ = params.get_bool("label_from_name");
    next_ = 0;
    // Decoding is most of a source's work; with one engine thread it happens in produce().
    int threads = static_cast<int>(params.get_int("decode_threads"));
    if (threads == 0) threads = env().threads > 1 ? env().threads : 0;
    prefetcher_ = std::make_unique<ImagePrefetcher>(files_, options_, threads, 4 * threads);
  }

  bool produce(Emitter& out) override {
    if (env().stop_requested != nullptr && env().stop_requested->load()) return false;
    if (next_ >= files_.size()) return false;
    const std::string& path = files_[next_];
    DecodedImage decoded = prefetcher_->take(next_);
    auto sample = std::make_shared<Sample>();
    sample->source = path;
    sample->label = labels_from_names_ ? LabelFromName(path) : -1;
    sample->epoch_size = static_cast<int64_t>(total_files_);
    sample->error = std::move(decoded.error);
    if (sample->error.empty()) {
      sample->image = decoded.image;
      sample->origin = std::make_shared<const cv::Mat>(std::move(decoded.image));
    }
    out.emit(std::move(sample), 0, positions_[next_]);  // the index is the global position
    if (++next_ == files_.size()) out.end_epoch(0);
    return true;
  }

 private:
  // Under mpirun each rank reads every N-th file of the sorted list (position % N == rank); the
  // messages keep their position in the whole list, so a `predictions` sink can put the ranks'
  // rows back in input order.
  void TakeOwnShard(bool shard) {
    const int ranks = shard ? world().size() : 1;
    const int rank = shard ? world().rank() : 0;
    std::vector<std::string> mine;
    positions_.clear();
    for (size_t p = 0; p < files_.size(); ++p) {
      if (ShardOwner(static_cast<int64_t>(p), ranks) != rank) continue;
      mine.push_back(std::move(files_[p]));
      positions_.push_back(static_cast<int64_t>(p));
    }
    files_ = std::move(mine);
  }

  std::vector<std::string> files_;  // this rank's files
  std::vector<int64_t> positions_;  // their positions in the whole list
  size_t total_files_ = 0;
  DecodeOptions options_;
  bool labels_from_names_ = true;
  size_t next_ = 0;
  std::unique_ptr<ImagePrefetcher> prefetcher_;
};

}  // namespace

void RegisterImageSource(Registry& registry) {
  StageInfo info;
  info.name = "image_source";
  info.kind = StageKind::kSource;
  info.concurrency = Concurrency::kSerial;
  info.doc =
      "Decodes image files (PNG, JPEG, BMP, TIFF, WebP; 8/16-bit, grey, colour, alpha) "
      "from a file, folder, glob or @list; unreadable files become error samples";
  info.outputs = {{"samples", "sample",
                   "CV_8UC1 or CV_8UC3 (BGR) image, source = the path, origin = the image; "
                   "error set and no pixels when the file cannot be decoded"}};
  info.params = {
      InputPaths(RequiredStringParam("path",
                                     "comma-separated files, folders (recursive, sorted, image "
                                     "extensions only), globs (photos/*.jpg) or @list.txt (one "
                                     "path per line, relative to the list)")),
      IntParam("max_pixels", 40'000'000, 1, 1e12,
               "refuse images larger than this (width x height, read from the header before "
               "decoding)"),
      IntParam("max_file_bytes", 256LL << 20, 1, 1e15, "refuse files larger than this"),
      BoolParam("grey", false,
                "decode to one grey channel (JPEGs decode about twice as fast; enough for "
                "digit_extract, but annotated pictures lose their colour)"),
      IntParam("decode_threads", 0, 0, 256,
               "threads decoding files ahead of their turn (0: as many as the engine has, none "
               "when it has one)"),
      BoolParam("shard", true,
                "under mpirun, each rank decodes only every N-th file (N ranks); a `predictions` "
                "sink then writes all rows, in input order, from rank 0"),
      BoolParam("label_from_name", true,
                "take the label from \"label<digit>\" in the file name (00012_label7.jpg), so "
                "predictions can report accuracy"),
  };
  info.create = [] { return std::make_unique<ImageSource>(); };
  registry.add(std::move(info));
}

}  // namespace pipeline
