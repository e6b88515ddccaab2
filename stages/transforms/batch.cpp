// `batch`: stacks float samples into NHWC batches; a batch never spans two epochs.
#include <algorithm>
#include <memory>
#include <opencv2/core/check.hpp>
#include <optional>
#include <stdexcept>
#include <string>

#include "pipeline/payloads.h"
#include "pipeline/registry.h"
#include "stages/stage_registrations.h"

namespace pipeline {
namespace {

class BatchStage : public Stage {
 public:
  void open(const Params& params) override {
    size_ = static_cast<int>(params.get_int("size"));
    drop_last_ = params.get_bool("drop_last");
    if (size_ < 1) throw std::invalid_argument("size must be >= 1, got " + std::to_string(size_));
  }

  int held_inputs() const override { return size_; }

  void process(const Message& msg, Emitter& out) override {
    const Sample& sample = msg.as<Sample>();
    // Sources end every epoch explicitly, so this only matters for a stream that does not.
    if (!epoch_ || *epoch_ != msg.epoch) {
      FinishEpoch(out);
      epoch_ = msg.epoch;
    }
    CheckSample(sample);
    if (!pending_) Start(sample);
    Append(sample, msg.index);
    if (pending_->size() == ShareOfBatch(sample.shards)) Emit(out);
  }

  void end_epoch(int /*port*/, int64_t /*epoch*/, Emitter& out) override { FinishEpoch(out); }

  void close(Emitter& out) override { FinishEpoch(out); }

 private:
  void CheckSample(const Sample& sample) const {
    const cv::Mat& image = sample.image;
    if (image.empty()) throw std::runtime_error("sample " + sample.source + " has no pixels");
    if (image.depth() != CV_32F) {
      throw std::runtime_error("sample " + sample.source + " has " +
                               cv::depthToString(image.depth()) +
                               " pixels; batch stacks float (CV_32F) images — put a `normalize` "
                               "stage before `batch`");
    }
    if (image.dims != 2) {
      throw std::runtime_error("sample " + sample.source + " is not a 2-D image");
    }
    if (pending_ && (image.rows != pending_->rows || image.cols != pending_->cols ||
                     image.channels() != pending_->channels)) {
      throw std::runtime_error(
          "sample " + sample.source + " is " + ShapeText(image.rows, image.cols, image.channels()) +
          " but the batch started with " +
          ShapeText(pending_->rows, pending_->cols, pending_->channels) + " (sample " +
          pending_->sources.front() + "); all samples in a batch must have the same shape");
    }
  }

  // A stream shared by several ranks (mpirun) gathers this rank's share of each global batch of
  // `size`: the ranks' k-th batches together are the single-process run's k-th batch.
  int ShareOfBatch(int shards) const {
    if (shards <= 1) return size_;
    if (size_ % shards != 0) {
      throw std::runtime_error("batch size " + std::to_string(size_) +
                               " does not split evenly over " + std::to_string(shards) +
                               " ranks; use a multiple of the number of ranks (the global batch "
                               "must be the same in every rank's share)");
    }
    return size_ / shards;
  }

  void Start(const Sample& first) {
    pending_ = std::make_shared<Batch>();
    pending_->rows = first.image.rows;
    pending_->cols = first.image.cols;
    pending_->channels = first.image.channels();
    pending_->epoch_size = first.epoch_size;
    pending_->planned_epochs = first.planned_epochs;
    pending_->normalization = first.normalization;
    pending_->dataset = first.dataset;
    pending_->data.reserve(static_cast<size_t>(size_) *
                           static_cast<size_t>(pending_->sample_elements()));
    pending_->labels.reserve(size_);
    pending_->indices.reserve(size_);
    pending_->sources.reserve(size_);
  }

  void Append(const Sample& sample, int64_t index) {
    const cv::Mat& image = sample.image;
    const size_t row_floats = static_cast<size_t>(image.cols) * image.channels();
    for (int r = 0; r < image.rows; ++r) {  // row by row: the image may be a non-contiguous view
      const float* row = image.ptr<float>(r);
      pending_->data.insert(pending_->data.end(), row, row + row_floats);
    }
    pending_->labels.push_back(sample.label);
    pending_->indices.push_back(index);
    pending_->sources.push_back(sample.source);
  }

  void Emit(Emitter& out) {
    out.emit(std::move(pending_), *epoch_, batch_number_++);
    pending_.reset();
  }

  // Flushes (or with drop_last discards) the partial batch; the next batch starts a new epoch.
  void FinishEpoch(Emitter& out) {
    if (pending_) {
      if (drop_last_) {
        pending_.reset();
      } else {
        Emit(out);
      }
    }
    epoch_.reset();
    batch_number_ = 0;
  }

  int size_ = 128;
  bool drop_last_ = false;
  std::shared_ptr<Batch> pending_;
  std::optional<int64_t> epoch_;  // epoch of the samples being gathered
  int64_t batch_number_ = 0;      // the next batch's index within its epoch
};

}  // namespace

void RegisterBatch(Registry& registry) {
  StageInfo info;
  info.name = "batch";
  info.kind = StageKind::kTransform;
  info.concurrency = Concurrency::kSerial;
  info.doc = "Stacks float samples into NHWC batches; flushes the partial batch at each epoch end";
  info.inputs = {{"in", "sample", "CV_32F image (put `normalize` first), all of one shape"}};
  info.outputs = {{"out", "batch", "N x rows x cols x channels floats with labels and indices"}};
  info.params = {
      IntParam("size", 128, 1, 65536,
               "samples per batch; under mpirun, of the global batch, of which each of N ranks "
               "gathers size / N from a sharded stream"),
      BoolParam("drop_last", false, "drop each epoch's last batch when it is not full"),
  };
  info.create = [] { return std::make_unique<BatchStage>(); };
  registry.add(std::move(info));
}

}  // namespace pipeline
