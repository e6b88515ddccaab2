// The `precision` param of cnn_predict and evaluate, and what it takes to run a checkpoint's model
// that way: fp32 or bf16 (the Model with that spec precision), or int8 (nn/int8/: the stored
// calibration, else one made at open from the first images of an IDX file).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/int8/quantized_model.h"
#include "nn/model.h"
#include "pipeline/params.h"
#include "stages/cnn/model_snapshot.h"

namespace pipeline::cnn {

// auto: the precision the checkpoint was trained in — the one its measured accuracy is known for,
// and the one training's own auto found faster — where this CPU runs it natively, else fp32. No
// timing at open: it would cost a photo folder or a camera a noticeable start-up.
inline const std::vector<std::string> kInferencePrecisions = {"auto", "fp32", "bf16", "int8"};
inline constexpr int64_t kDefaultCalibrationImages = 2000;

// The params cnn_predict and evaluate share: precision, calibration, calibration_images.
// `precision_doc` says what auto and the other choices mean for that stage.
std::vector<ParamSpec> InferencePrecisionParams(const std::string& precision_doc);

// The snapshot's model with its spec's precision replaced by `precision` ("fp32", "bf16"; "auto"
// keeps it).
std::unique_ptr<Model> RestoreModelAs(const ModelSnapshot& snapshot, const std::string& precision);

// The first `count` images (fewer when the file holds fewer) of the IDX image file `path`, plain
// or gzip, as NHWC floats normalized like `snapshot`'s training data. Throws std::runtime_error
// naming the file when it cannot be read or its images do not fit the model, and naming the model
// (`model_name`: "checkpoint runs/mnist/latest.ckpt") when it records no normalization.
std::vector<float> ReadCalibrationImages(const std::string& path, int64_t count,
                                         const ModelSnapshot& snapshot,
                                         const std::string& model_name);

// Calibrates `snapshot`'s model on the first `count` images of `path` (see above).
proto::CalibrationData CalibrateOn(const std::string& path, int64_t count,
                                   const ModelSnapshot& snapshot, const std::string& model_name);

// The int8 model of `snapshot`: with its stored calibration, else calibrated on
// `calibration_path`'s first `count` images. Throws std::runtime_error naming the model when it
// has no calibration and no path is given, or when it cannot run in int8.
std::unique_ptr<int8::QuantizedModel> OpenInt8Model(const ModelSnapshot& snapshot,
                                                    const std::string& model_name,
                                                    const std::string& calibration_path,
                                                    int64_t count);

}  // namespace pipeline::cnn
