// `cnn_predict`: classifies samples with a checkpoint's model, preprocessing 8-bit images exactly
// as its training data was. Samples are gathered into batches (one model call each); partial
// batches are flushed at every epoch end and at the end of the stream. A `.onnx` checkpoint runs
// through OpenCV's dnn module instead (onnx_classifier.h), prepared as its metadata says.
#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <opencv2/core.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "pipeline/payloads.h"
#include "pipeline/registry.h"
#include "stages/cnn/checkpoint.h"
#include "stages/cnn/cnn_registrations.h"
#include "stages/cnn/inference_precision.h"
#include "stages/cnn/model_snapshot.h"
#include "stages/cnn/model_thread.h"
#include "stages/cnn/onnx_classifier.h"

namespace pipeline {
namespace {

struct Waiting {
  std::shared_ptr<const Sample> sample;
  int64_t epoch = 0;
  int64_t index = 0;
  std::string error;  // set when the sample cannot be classified; it gets no model input
};

// ONNX by its name: a checkpoint of ours may be called anything else.
bool IsOnnxPath(const std::string& path) {
  if (path.size() < 5) return false;
  std::string tail = path.substr(path.size() - 5);
  std::transform(tail.begin(), tail.end(), tail.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return tail == ".onnx";
}

bool Close(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(b)); }

class CnnPredict : public Stage {
 public:
  // The model and its primitives live and die on thread_ (see model_thread.h).
  ~CnnPredict() override {
    thread_.run([this] {
      model_.reset();
      int8_.reset();
    });
  }

  void open(const Params& params) override {
    thread_.run([&] { Open(params); });
  }

  int held_inputs() const override { return batch_size_; }

  void process(const Message& msg, Emitter& out) override {
    msg.as<Sample>();  // a clear error for any other payload type
    auto sample = std::static_pointer_cast<const Sample>(msg.payload);
    Waiting waiting{sample, msg.epoch, msg.index, ""};
    waiting.error = AppendInput(*sample);
    waiting_.push_back(std::move(waiting));
    if (static_cast<int>(waiting_.size()) >= batch_size_) Flush(out);
  }

  void end_epoch(int /*port*/, int64_t /*epoch*/, Emitter& out) override { Flush(out); }
  void close(Emitter& out) override { Flush(out); }

 private:
  void Open(const Params& params) {
    const std::string& path = params.get_string("checkpoint");
    checkpoint_ = path;
    batch_size_ = static_cast<int>(params.get_int("batch"));
    top_k_ = static_cast<int>(params.get_int("top_k"));
    const std::string& precision = params.get_string("precision");
    if (IsOnnxPath(path) && (precision == "int8" || precision == "bf16")) {
      throw std::runtime_error("precision " + precision +
                               " needs a pipeline checkpoint; ONNX model " + path +
                               " runs in fp32 through OpenCV dnn");
    }
    if (IsOnnxPath(path)) {
      cnn::OnnxInputOverrides overrides;
      const auto given = [&](const char* name) {
        return params.is_set(name) ? std::optional<double>(params.get_float(name)) : std::nullopt;
      };
      overrides.scale = given("scale");
      overrides.mean = given("mean");
      overrides.std = given("std");
      const std::string& polarity = params.get_string("polarity");
      if (polarity != "model") overrides.invert = polarity == "dark_on_light";
      onnx_ = std::make_unique<cnn::OnnxClassifier>(path, overrides);
      if (!onnx_->class_names().empty()) {
        class_names_ = std::make_shared<const std::vector<std::string>>(onnx_->class_names());
      }
      rows_ = onnx_->rows();
      cols_ = onnx_->cols();
      channels_ = onnx_->channels();
    } else {
      snapshot_ = cnn::LoadCheckpoint(path);
      if (precision == "int8") {
        int8_ =
            cnn::OpenInt8Model(*snapshot_, "checkpoint " + path, params.get_string("calibration"),
                               params.get_int("calibration_images"));
      } else {
        model_ = cnn::RestoreModelAs(*snapshot_, precision);
      }
      if (!snapshot_->class_names.empty()) {
        class_names_ = std::make_shared<const std::vector<std::string>>(snapshot_->class_names);
      }
      const proto::InputShape& input = snapshot_->spec.input();
      rows_ = static_cast<int>(input.rows());
      cols_ = static_cast<int>(input.cols());
      channels_ = static_cast<int>(input.channels());
    }
    inputs_.reserve(static_cast<size_t>(batch_size_) * InputElements());
  }

  size_t InputElements() const {
    return static_cast<size_t>(rows_) * static_cast<size_t>(cols_) * static_cast<size_t>(channels_);
  }

  // Converts the sample into model input appended to inputs_; returns why it cannot be, if so.
  std::string AppendInput(const Sample& sample) {
    const cv::Mat& image = sample.image;
    if (image.empty()) return "no image to classify";
    if (image.dims != 2 || image.rows != rows_ || image.cols != cols_ ||
        image.channels() != channels_) {
      return "image is " + ShapeText(image.rows, image.cols, image.channels()) +
             " but the model takes " + ShapeText(rows_, cols_, channels_);
    }
    cv::Mat converted;
    if (onnx_ && (image.depth() == CV_8U || image.depth() == CV_32F)) {
      try {
        converted = onnx_->Prepare(image, sample.normalization);
      } catch (const std::exception& e) {
        throw std::runtime_error("sample " + sample.source + ": " + e.what());
      }
    } else if (onnx_) {
      throw std::runtime_error("sample " + sample.source + " has " +
                               cv::depthToString(image.depth()) +
                               " pixels; cnn_predict takes 8-bit or normalized float images");
    } else if (image.depth() == CV_32F) {
      CheckFloatSample(sample);
      converted = image;
    } else if (image.depth() == CV_8U) {
      const Normalization& trained = snapshot_->normalization;
      if (!trained.applied) {
        throw std::runtime_error("checkpoint " + checkpoint_ +
                                 " records no normalization, so 8-bit sample " + sample.source +
                                 " cannot be preprocessed like its training data");
      }
      converted = trained.Apply(image);
    } else {
      throw std::runtime_error("sample " + sample.source + " has " +
                               cv::depthToString(image.depth()) +
                               " pixels; cnn_predict takes 8-bit or normalized float images");
    }
    const size_t row_floats = static_cast<size_t>(cols_) * static_cast<size_t>(channels_);
    for (int r = 0; r < rows_; ++r) {  // row by row: the image may be a view
      const float* row = converted.ptr<float>(r);
      inputs_.insert(inputs_.end(), row, row + row_floats);
    }
    return "";
  }

  void CheckFloatSample(const Sample& sample) const {
    const Normalization& given = sample.normalization;
    const Normalization& trained = snapshot_->normalization;
    if (!given.applied) {
      throw std::runtime_error("float sample " + sample.source +
                               " records no normalization; feed 8-bit images (cnn_predict "
                               "normalizes them like the training data) or use `normalize`");
    }
    if (!trained.applied || !Close(given.scale, trained.scale) ||
        !Close(given.mean, trained.mean) || !Close(given.std, trained.std)) {
      throw std::runtime_error("sample " + sample.source + " was normalized with mean " +
                               std::to_string(given.mean) + " std " + std::to_string(given.std) +
                               " but checkpoint " + checkpoint_ + " was trained with mean " +
                               std::to_string(trained.mean) + " std " +
                               std::to_string(trained.std) +
                               "; drop `normalize` (cnn_predict normalizes 8-bit "
                               "images itself) or give it the checkpoint's values");
    }
  }

  void Flush(Emitter& out) {
    if (waiting_.empty()) return;
    if (onnx_) {
      const int64_t valid = static_cast<int64_t>(inputs_.size() / InputElements());
      if (valid > 0) onnx_->Predict(inputs_.data(), static_cast<int>(valid), probabilities_);
      Emit(out, valid > 0 ? static_cast<int64_t>(probabilities_.size()) / valid : 0);
      return;
    }
    const int64_t classes = int8_ ? int8_->classes() : model_->classes();
    const int64_t input_elements = int8_ ? int8_->input_elements() : model_->input_elements();
    const int64_t valid = static_cast<int64_t>(inputs_.size()) / input_elements;
    // A partial batch (the end of a folder) would have oneDNN build primitives for its size
    // alone: 30-50 ms of CPU, the time to classify a few hundred digits. When it is at least half
    // full it runs padded to the full batch instead. Each sample's result does not depend on the
    // batch it runs in (checked for batches of 3 and more; batches of 1 and 2 take other kernels).
    const int64_t run = valid >= 3 && 2 * valid >= batch_size_ ? batch_size_ : valid;
    inputs_.resize(static_cast<size_t>(run * input_elements), 0.0f);
    probabilities_.resize(static_cast<size_t>(run * classes));
    if (run > 0) {
      thread_.run([&] {
        if (int8_) {
          int8_->predict(inputs_.data(), run, probabilities_.data());
        } else {
          model_->predict(inputs_.data(), run, probabilities_.data());
        }
      });
    }
    Emit(out, classes);
  }

  // One prediction per waiting sample, in order; probabilities_ holds `classes` values for each
  // sample that had a model input.
  void Emit(Emitter& out, int64_t classes) {
    int64_t next = 0;
    for (Waiting& waiting : waiting_) {
      auto prediction = std::make_shared<Prediction>();
      prediction->source = waiting.sample->source;
      prediction->box = waiting.sample->box;
      prediction->label = waiting.sample->label;
      prediction->part = waiting.sample->part;
      prediction->parts = waiting.sample->parts;
      prediction->row = waiting.sample->row;
      prediction->origin = waiting.sample->origin;
      // The sample's own error (unreadable file, no digit found) says more than ours.
      if (!waiting.sample->error.empty()) {
        prediction->error = waiting.sample->error;
      } else if (!waiting.error.empty()) {
        prediction->error = waiting.error;
      } else {
        const float* row = probabilities_.data() + next * classes;
        ++next;
        Fill(row, classes, *prediction);
      }
      out.emit(std::move(prediction), waiting.epoch, waiting.index);
    }
    waiting_.clear();
    inputs_.clear();
  }

  void Fill(const float* row, int64_t classes, Prediction& prediction) const {
    prediction.probabilities.assign(row, row + classes);
    const auto best = std::max_element(row, row + classes);
    prediction.predicted = static_cast<int>(best - row);
    prediction.confidence = *best;
    prediction.class_names = class_names_;
    if (top_k_ <= 0 || top_k_ >= classes) return;
    // Keep the k most likely classes' probabilities; zero the rest.
    std::vector<int> order(static_cast<size_t>(classes));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + top_k_, order.end(),
                      [row](int a, int b) { return row[a] > row[b]; });
    for (size_t i = static_cast<size_t>(top_k_); i < order.size(); ++i) {
      prediction.probabilities[static_cast<size_t>(order[i])] = 0.0f;
    }
  }

  cnn::ModelThread thread_;  // first: destroyed last
  std::shared_ptr<const cnn::ModelSnapshot> snapshot_;
  std::string checkpoint_;
  std::unique_ptr<cnn::Model> model_;
  std::unique_ptr<cnn::int8::QuantizedModel> int8_;  // instead of model_ for precision int8
  std::unique_ptr<cnn::OnnxClassifier> onnx_;  // instead of snapshot_ and model_ for .onnx files
  int batch_size_ = 256;
  int top_k_ = 0;
  std::shared_ptr<const std::vector<std::string>> class_names_;  // null: numbered classes
  int rows_ = 0, cols_ = 0, channels_ = 0;
  std::vector<Waiting> waiting_;
  std::vector<float> inputs_;
  std::vector<float> probabilities_;
};

}  // namespace

void RegisterCnnPredict(Registry& registry) {
  StageInfo info;
  info.name = "cnn_predict";
  info.kind = StageKind::kTransform;
  info.concurrency = Concurrency::kSerial;
  info.doc =
      "Classifies samples with a checkpoint's model (8-bit images are normalized as its "
      "training data was), or with an ONNX model (a .onnx file, run by OpenCV's dnn module, its "
      "input prepared as its metadata or the params below say; ops it runs: " +
      cnn::SupportedOnnxOps() + ")";
  info.inputs = {{"samples", "sample",
                  "8-bit images, or float images normalized exactly like the training data"}};
  info.outputs = {{"predictions", "prediction",
                   "class probabilities, predicted class and confidence; error when the sample "
                   "could not be classified"}};
  info.params = {
      InputFile(RequiredStringParam(
          "checkpoint", "checkpoint file (e.g. runs/mnist/latest.ckpt), or an ONNX model (.onnx)")),
      IntParam("batch", 256, 1, 65536, "samples gathered per model call"),
      IntParam("top_k", 0, 0, 1e6,
               "keep only the k most likely classes' probabilities (the rest become 0); 0 keeps "
               "all"),
      FloatParam("mean", 0, -1e6, 1e6,
                 "ONNX only: input = (pixel * scale - mean) / std, overriding the model's "
                 "metadata (normalization_mean)"),
      FloatParam("std", 1, 1e-12, 1e6, "ONNX only: see mean (normalization_std)"),
      FloatParam("scale", 1.0 / 255.0, 1e-12, 1e6,
                 "ONNX only: see mean (normalization_scale; default 1/255)"),
      ChoiceParam("polarity", "model", {"model", "light_on_dark", "dark_on_light"},
                  "ONNX only: the digits the model expects; dark_on_light inverts 8-bit images "
                  "(255 - pixel). model: its metadata's polarity, else light_on_dark"),
  };
  for (ParamSpec& param : cnn::InferencePrecisionParams(
           "auto: the checkpoint's own (fp32 or bf16; fp32 where the CPU has no native bf16); "
           "int8: quantized (s8 weights, u8 activations) with the checkpoint's calibration "
           "(`pipeline quantize`) or one made at open from `calibration`; ONNX models run fp32 "
           "only")) {
    info.params.push_back(std::move(param));
  }
  info.create = [] { return std::make_unique<CnnPredict>(); };
  registry.add(std::move(info));
}

}  // namespace pipeline
