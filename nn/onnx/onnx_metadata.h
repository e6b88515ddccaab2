// The metadata_props keys an exported model carries, and that cnn_predict reads back to feed a
// model the way it was trained (any ONNX file may carry them; a PyTorch export adds them itself).
#pragma once

namespace pipeline::cnn::onnx_keys {

// "0,1,2,3,4,5,6,7,8,9": one name per output class, in output order.
inline constexpr char kClassNames[] = "class_names";
// "NCHW": the input tensor is (batch, channels, rows, cols).
inline constexpr char kInputLayout[] = "input_layout";
// What the input tensor holds: "pixels" (raw 0..255 values as float; the graph normalizes them
// itself with its Sub/Mul nodes) or "normalized" ((pixel * scale - mean) / std, done by the
// caller with the normalization_* values below).
inline constexpr char kInputRange[] = "input_range";
inline constexpr char kNormalizationScale[] = "normalization_scale";
inline constexpr char kNormalizationMean[] = "normalization_mean";
inline constexpr char kNormalizationStd[] = "normalization_std";
// "light_on_dark" (MNIST: white ink on black, what digit_extract emits) or "dark_on_light"
// (cnn_predict inverts 8-bit images, 255 - pixel, before anything else).
inline constexpr char kPolarity[] = "polarity";
// "probabilities" (the graph ends with Softmax) or "logits" (cnn_predict applies the softmax).
inline constexpr char kOutput[] = "output";
// Where it came from: the program and version, the checkpoint, its metrics.
inline constexpr char kProducer[] = "pipeline_version";
inline constexpr char kModelName[] = "model_name";
inline constexpr char kEpochs[] = "epochs_trained";
inline constexpr char kTestAccuracy[] = "test_accuracy";
inline constexpr char kTestLoss[] = "test_loss";
inline constexpr char kSourceCheckpoint[] = "source_checkpoint";

}  // namespace pipeline::cnn::onnx_keys
