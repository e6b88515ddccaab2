// ONNX export of every layer kind a ModelSpec can express, run back through OpenCV 4.6's dnn
// module (the strictest importer we target) against our own inference on the same pixels; and
// the reader's refusals of files cnn_predict cannot run.
#include "nn/onnx/onnx_export.h"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <opencv2/dnn.hpp>
#include <random>
#include <string>
#include <vector>

#include "nn/model.h"
#include "nn/onnx/onnx_file.h"
#include "nn/onnx/onnx_metadata.h"
#include "nn/onnx/onnx_model_info.h"

namespace pipeline::cnn {
namespace {

namespace fs = std::filesystem;

// conv (padded, folded BN) -> avg pool (padded) -> unfolded BN -> strided conv without bias ->
// max pool -> dropout -> dense on an image (implicit flatten) -> folded BN -> flatten -> dense.
constexpr char kAllKinds[] = R"pb(
  name: "all_kinds"
  input { rows: 12 cols: 12 channels: 2 }
  layer { conv { filters: 4 kernel: 3 pad: 1 } }
  layer { batchnorm { epsilon: 0.001 } }
  layer { relu {} }
  layer { pool { kind: POOL_AVG size: 2 pad: 1 } }
  layer { batchnorm {} }
  layer { conv { filters: 3 kernel: 3 stride: 2 no_bias: true } }
  layer { relu {} }
  layer { pool { size: 2 stride: 1 } }
  layer { dropout { rate: 0.3 } }
  layer { dense { units: 6 } }
  layer { batchnorm {} }
  layer { relu {} }
  layer { flatten {} }
  layer { dense { units: 3 } }
)pb";

proto::ModelSpec Spec(const char* text) {
  proto::ModelSpec spec;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &spec));
  return spec;
}

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("onnx_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

// Batch-norm statistics and scales far from their initial 1s and 0s, so that folding is tested.
std::vector<Tensor> Perturbed(const Model& model) {
  std::vector<Tensor> tensors = model.state_tensors();
  std::mt19937 random(5);
  std::uniform_real_distribution<float> uniform(0.5f, 1.5f), offset(-0.5f, 0.5f);
  for (Tensor& tensor : tensors) {
    const bool positive = tensor.name.ends_with(".running_var") || tensor.name.ends_with(".gamma");
    const bool shifted = tensor.name.ends_with(".running_mean") || tensor.name.ends_with(".beta") ||
                         tensor.name.ends_with(".bias");
    for (float& value : tensor.values) {
      if (positive) value = uniform(random);
      if (shifted) value = offset(random);
    }
  }
  return tensors;
}

// Exports `spec` (weights drawn, batch-norm state perturbed), runs 40 images of random pixels
// through ours (normalized NHWC) and OpenCV dnn (raw NCHW pixels: the graph normalizes) and
// returns the largest probability difference; the probabilities must not be degenerate.
double WorstDifference(const proto::ModelSpec& spec, onnx::ModelProto* exported_out = nullptr) {
  Model model(spec, 11);
  model.load_state_tensors(Perturbed(model));
  OnnxExportInput input;
  input.spec = spec;
  input.tensors = model.state_tensors();
  input.normalized = true;
  input.scale = 1.0 / 255.0;
  input.mean = 0.2;
  input.std = 0.3;
  const onnx::ModelProto exported = ExportOnnx(input);  // runs onnx::checker
  if (exported_out != nullptr) *exported_out = exported;
  TempDir dir;
  const std::string path = dir.file("model.onnx");
  WriteOnnxFile(path, exported);

  const int n = 40, rows = static_cast<int>(spec.input().rows());
  const int cols = static_cast<int>(spec.input().cols());
  const int channels = static_cast<int>(spec.input().channels());
  const int classes = static_cast<int>(model.classes());
  std::mt19937 random(3);
  std::uniform_int_distribution<int> pixel(0, 255);
  std::vector<float> nhwc(static_cast<size_t>(n * rows * cols * channels));
  const int sizes[] = {n, channels, rows, cols};
  cv::Mat nchw(4, sizes, CV_32F);
  for (int i = 0; i < n; ++i) {
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < cols; ++c) {
        for (int k = 0; k < channels; ++k) {
          const float value = static_cast<float>(pixel(random));
          nhwc[static_cast<size_t>(((i * rows + r) * cols + c) * channels + k)] =
              static_cast<float>((value / 255.0 - 0.2) / 0.3);
          const int index[] = {i, k, r, c};
          nchw.at<float>(index) = value;
        }
      }
    }
  }
  std::vector<float> ours(static_cast<size_t>(n * classes));
  model.predict(nhwc.data(), n, ours.data());
  cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
  net.setInput(nchw);
  const cv::Mat theirs = net.forward();
  EXPECT_EQ(theirs.total(), ours.size());
  if (theirs.total() != ours.size()) return 1;
  double worst = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(ours[i]) - theirs.ptr<float>()[i]));
  }
  // Not degenerate: a comparison of near-uniform probabilities would prove little.
  EXPECT_GT(
      *std::max_element(ours.begin(), ours.end()) - *std::min_element(ours.begin(), ours.end()),
      0.05f)
      << spec.ShortDebugString();
  return worst;
}

TEST(OnnxExport, EveryLayerKindMatchesOpenCvDnn) {
  onnx::ModelProto exported;
  const double worst = WorstDifference(Spec(kAllKinds), &exported);
  std::printf("all layer kinds: worst probability difference, ours vs OpenCV dnn: %.3g\n", worst);
  EXPECT_LT(worst, 1e-4);
  // What the export left out and folded: no Dropout; two of three BNs folded.
  std::vector<std::string> ops;
  for (const onnx::NodeProto& node : exported.graph().node()) ops.push_back(node.op_type());
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "Dropout"), 0);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "BatchNormalization"), 1);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "Gemm"), 2);
  EXPECT_EQ(ops.back(), "Softmax");
  // What cnn_predict reads back: the shape and the normalization the graph applies itself.
  const OnnxModelInfo info = InspectOnnxModel(exported, "all_kinds.onnx");
  EXPECT_EQ(info.channels, 2);
  EXPECT_EQ(info.rows, 12);
  EXPECT_EQ(info.classes, 3);
  EXPECT_TRUE(info.preparation.raw_pixels);
  EXPECT_TRUE(info.preparation.outputs_probabilities);
  ASSERT_NE(info.Metadata(onnx_keys::kNormalizationMean), nullptr);
  EXPECT_EQ(*info.Metadata(onnx_keys::kNormalizationMean), "0.2");
  EXPECT_EQ(*info.Metadata(onnx_keys::kNormalizationStd), "0.3");
}

// One feature at a time, so that a failure names it.
TEST(OnnxExport, EachLayerFeatureMatchesOpenCvDnn) {
  const char* const specs[] = {
      "input { rows: 8 cols: 8 channels: 1 } layer { conv { filters: 3 kernel: 3 } } "
      "layer { dense { units: 4 } }",
      "input { rows: 8 cols: 8 channels: 2 } layer { conv { filters: 3 kernel: 3 pad: 1 } } "
      "layer { flatten {} } layer { dense { units: 4 } }",
      "input { rows: 8 cols: 8 channels: 1 } layer { conv { filters: 3 kernel: 3 } } "
      "layer { batchnorm {} } layer { dense { units: 4 } }",
      "input { rows: 8 cols: 8 channels: 1 } layer { pool { kind: POOL_AVG size: 2 pad: 1 } } "
      "layer { dense { units: 4 } }",
      "input { rows: 8 cols: 8 channels: 1 } layer { pool { kind: POOL_AVG size: 2 } } "
      "layer { dense { units: 4 } }",
      "input { rows: 8 cols: 8 channels: 1 } layer { pool { size: 2 stride: 1 } } "
      "layer { dense { units: 4 } }",
      "input { rows: 7 cols: 7 channels: 1 } layer { pool { size: 3 stride: 2 pad: 1 } } "
      "layer { dense { units: 4 } }",
      "input { rows: 7 cols: 7 channels: 2 } layer { pool { kind: POOL_AVG size: 3 stride: 2 "
      "pad: 1 } } layer { dense { units: 4 } }",
      "input { rows: 8 cols: 8 channels: 1 } layer { relu {} } layer { batchnorm {} } "
      "layer { dense { units: 4 } }",
      "input { rows: 9 cols: 9 channels: 1 } layer { conv { filters: 3 kernel: 3 stride: 2 "
      "no_bias: true } } layer { dense { units: 4 } }",
      "input { rows: 8 cols: 8 channels: 1 } layer { dense { units: 6 } } layer { batchnorm {} } "
      "layer { relu {} } layer { dropout { rate: 0.5 } } layer { dense { units: 4 } }",
  };
  for (const char* text : specs) {
    const double worst = WorstDifference(Spec(text));
    std::printf("%.3g  %s\n", worst, text);
    EXPECT_LT(worst, 1e-4) << text;
  }
}

// Writes `model` with one node's op replaced, or the input reshaped.
std::string Variant(const TempDir& dir, const std::string& name, onnx::ModelProto model) {
  const std::string path = dir.file(name);
  std::string bytes;
  model.SerializeToString(&bytes);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string ErrorOf(const std::string& path) {
  try {
    (void)InspectOnnxModel(ReadOnnxFile(path), path);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(OnnxReader, RefusesHostileFilesNamingFileAndOp) {
  Model model(Spec(kAllKinds), 1);
  OnnxExportInput input;
  input.spec = Spec(kAllKinds);
  input.tensors = model.state_tensors();
  const onnx::ModelProto good = ExportOnnx(input);
  TempDir dir;
  std::string bytes;
  good.SerializeToString(&bytes);

  const std::string truncated = dir.file("truncated.onnx");
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  EXPECT_NE(ErrorOf(truncated).find(truncated), std::string::npos) << ErrorOf(truncated);
  EXPECT_NE(ErrorOf(truncated).find("does not parse"), std::string::npos) << ErrorOf(truncated);

  const std::string text = dir.file("text.onnx");
  std::ofstream(text) << "name: \"not a model\"\nthis is a graph file, not ONNX\n";
  EXPECT_NE(ErrorOf(text).find(text), std::string::npos) << ErrorOf(text);

  onnx::ModelProto unsupported = good;
  unsupported.mutable_graph()->mutable_node(1)->set_op_type("Shape");
  const std::string shape_op = Variant(dir, "shape_op.onnx", unsupported);
  const std::string error = ErrorOf(shape_op);
  EXPECT_NE(error.find(shape_op), std::string::npos) << error;
  EXPECT_NE(error.find("op Shape"), std::string::npos) << error;

  onnx::ModelProto flat_input = good;
  flat_input.mutable_graph()
      ->mutable_input(0)
      ->mutable_type()
      ->mutable_tensor_type()
      ->mutable_shape()
      ->mutable_dim()
      ->RemoveLast();
  const std::string wrong_shape = Variant(dir, "wrong_shape.onnx", flat_input);
  EXPECT_NE(ErrorOf(wrong_shape).find("expected float (batch, channels, rows, cols)"),
            std::string::npos)
      << ErrorOf(wrong_shape);
  EXPECT_NE(ErrorOf(dir.file("missing.onnx")).find("no such file"), std::string::npos);
}

TEST(OnnxWriter, FailedWriteLeavesNoFile) {
  Model model(Spec(kAllKinds), 1);
  OnnxExportInput input;
  input.spec = Spec(kAllKinds);
  input.tensors = model.state_tensors();
  input.tensors.pop_back();  // a running_var missing: the export refuses before writing
  EXPECT_THROW(ExportOnnx(input), std::invalid_argument);
  TempDir dir;
  EXPECT_THROW(WriteOnnxFile(dir.file("no_such_folder/model.onnx"), onnx::ModelProto()),
               std::runtime_error);
  EXPECT_TRUE(fs::is_empty(dir.file("")));
}

}  // namespace
}  // namespace pipeline::cnn
