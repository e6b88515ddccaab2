#include "stages/cnn/inference_precision.h"

#include <zlib.h>

#include <algorithm>
#include <memory>
#include <opencv2/core.hpp>
#include <stdexcept>

#include "nn/precision_probe.h"

namespace pipeline::cnn {
namespace {

// gzread reads gzip and plain files alike.
struct GzCloser {
  void operator()(gzFile file) const { gzclose(file); }
};
using GzHandle = std::unique_ptr<gzFile_s, GzCloser>;

void ReadExactly(gzFile file, void* into, size_t bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes) {
    const int chunk = static_cast<int>(std::min<size_t>(bytes - done, 1 << 30));
    const int got = gzread(file, static_cast<char*>(into) + done, static_cast<unsigned>(chunk));
    if (got <= 0) throw std::runtime_error(path + ": truncated IDX image file");
    done += static_cast<size_t>(got);
  }
}

uint32_t BigEndian(const unsigned char* bytes) {
  return uint32_t{bytes[0]} << 24 | uint32_t{bytes[1]} << 16 | uint32_t{bytes[2]} << 8 | bytes[3];
}

}  // namespace

std::vector<ParamSpec> InferencePrecisionParams(const std::string& precision_doc) {
  return {
      ChoiceParam("precision", "auto", kInferencePrecisions, precision_doc),
      InputFile(StringParam("calibration", "",
                            "int8 on a model without calibration: IDX image file (plain or .gz, "
                            "e.g. the training images) whose first images calibrate it")),
      IntParam("calibration_images", kDefaultCalibrationImages, 1, 1e7,
               "int8: how many of `calibration`'s first images to calibrate on"),
  };
}

std::unique_ptr<Model> RestoreModelAs(const ModelSnapshot& snapshot, const std::string& precision) {
  ModelSnapshot changed = snapshot;  // shares the tensors
  if (precision == "auto") {
    const std::vector<proto::Precision> native = NativePrecisions();
    if (std::find(native.begin(), native.end(), snapshot.spec.precision()) != native.end()) {
      return RestoreModel(snapshot);
    }
    changed.spec.set_precision(proto::PRECISION_FP32);
  } else {
    changed.spec.set_precision(precision == "bf16" ? proto::PRECISION_BF16 : proto::PRECISION_FP32);
  }
  return RestoreModel(changed);
}

std::vector<float> ReadCalibrationImages(const std::string& path, int64_t count,
                                         const ModelSnapshot& snapshot,
                                         const std::string& model_name) {
  if (!snapshot.normalization.applied) {
    throw std::runtime_error(model_name +
                             " records no normalization, so calibration images cannot be "
                             "preprocessed like its training data");
  }
  GzHandle file(gzopen(path.c_str(), "rb"));
  if (!file) throw std::runtime_error("cannot open calibration images " + path);
  // Magic, then one big-endian size per dimension: count, rows, cols (and channels for 0x804).
  unsigned char header[20];
  ReadExactly(file.get(), header, 4, path);
  const uint32_t magic = BigEndian(header);
  if (magic != 0x00000803 && magic != 0x00000804) {
    throw std::runtime_error(path + " is not an IDX image file (magic " + std::to_string(magic) +
                             ", expected 2051 or 2052)");
  }
  const bool colour = magic == 0x00000804;
  ReadExactly(file.get(), header + 4, colour ? 16 : 12, path);
  const int64_t in_file = BigEndian(header + 4);
  const int rows = static_cast<int>(BigEndian(header + 8));
  const int cols = static_cast<int>(BigEndian(header + 12));
  const int channels = colour ? static_cast<int>(BigEndian(header + 16)) : 1;
  const proto::InputShape& input = snapshot.spec.input();
  if (rows != static_cast<int>(input.rows()) || cols != static_cast<int>(input.cols()) ||
      channels != static_cast<int>(input.channels())) {
    throw std::runtime_error("calibration images " + path + " are " + std::to_string(rows) + "x" +
                             std::to_string(cols) + "x" + std::to_string(channels) + " but " +
                             model_name + " takes " + std::to_string(input.rows()) + "x" +
                             std::to_string(input.cols()) + "x" + std::to_string(input.channels()));
  }
  const int64_t n = std::min(count, in_file);
  if (n < 1) throw std::runtime_error("calibration images " + path + " holds no images");
  const size_t per_image =
      static_cast<size_t>(rows) * static_cast<size_t>(cols) * static_cast<size_t>(channels);
  std::vector<unsigned char> pixels(per_image * static_cast<size_t>(n));
  ReadExactly(file.get(), pixels.data(), pixels.size(), path);
  // The same conversion cnn_predict applies to an 8-bit sample.
  const cv::Mat raw(static_cast<int>(n) * rows, cols, CV_MAKETYPE(CV_8U, channels), pixels.data());
  const cv::Mat normalized = snapshot.normalization.Apply(raw);
  const float* values = normalized.ptr<float>(0);
  return std::vector<float>(values, values + per_image * static_cast<size_t>(n));
}

proto::CalibrationData CalibrateOn(const std::string& path, int64_t count,
                                   const ModelSnapshot& snapshot, const std::string& model_name) {
  const std::vector<float> images = ReadCalibrationImages(path, count, snapshot, model_name);
  const proto::InputShape& input = snapshot.spec.input();
  const auto n =
      static_cast<int64_t>(images.size() / (input.rows() * input.cols() * input.channels()));
  try {
    return int8::Calibrate(snapshot.spec, *snapshot.tensors, images.data(), n, path);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(model_name + ": " + e.what());
  }
}

std::unique_ptr<int8::QuantizedModel> OpenInt8Model(const ModelSnapshot& snapshot,
                                                    const std::string& model_name,
                                                    const std::string& calibration_path,
                                                    int64_t count) {
  proto::CalibrationData calibration = snapshot.calibration;
  if (calibration.ranges_size() == 0) {
    if (calibration_path.empty()) {
      throw std::runtime_error(model_name +
                               " has no int8 calibration: run `pipeline quantize CHECKPOINT "
                               "OUT.ckpt` on its checkpoint first, or give the stage a "
                               "`calibration` IDX image file (e.g. the training images)");
    }
    calibration = CalibrateOn(calibration_path, count, snapshot, model_name);
  }
  try {
    return std::make_unique<int8::QuantizedModel>(snapshot.spec, *snapshot.tensors, calibration);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(model_name + ": " + e.what());
  }
}

}  // namespace pipeline::cnn
