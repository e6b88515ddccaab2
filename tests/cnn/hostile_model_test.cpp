// A checkpoint must be loadable once written, and a ModelSpec from a file must fail with the
// layer named, not with std::bad_alloc or an unexplained primitive error when the model is built.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cnn_stage_test_util.h"
#include "stages/cnn/checkpoint.h"
#include "nn/model_spec.h"
#include "stages/cnn/train_config.h"

namespace pipeline::cnn::testing {
namespace {

using ::testing::HasSubstr;

TEST(CheckpointPublish, AFileThatWouldNotReadBackIsNeverPublished) {
  TempDir dir;
  const std::string path = dir.file("latest.ckpt");
  SaveCheckpoint(*TrainedSnapshot(TinySpec(), 1), path);
  const auto before = std::filesystem::file_size(path);

  // A Latin-1 name: protobuf serialises it (logging an error) but refuses to parse it back.
  proto::CheckpointBody body = ReadCheckpointBody(path);
  body.mutable_model()->set_name("tr\xE9in");
  try {
    WriteCheckpointBody(path, body);
    FAIL() << "expected the write to fail";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(path));
    EXPECT_THAT(e.what(), HasSubstr("does not read back, so it was not published"));
  }
  // The previous checkpoint is untouched, and no temporary file is left.
  EXPECT_EQ(std::filesystem::file_size(path), before);
  EXPECT_NO_THROW(LoadCheckpoint(path));
  int files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ++files;
  }
  EXPECT_EQ(files, 1);
}

proto::ModelSpec Spec(int rows, int filters, int stride, int units) {
  proto::ModelSpec spec;
  spec.mutable_input()->set_rows(rows);
  spec.mutable_input()->set_cols(rows);
  spec.mutable_input()->set_channels(1);
  auto* conv = spec.add_layer()->mutable_conv();
  conv->set_filters(filters);
  conv->set_kernel(3);
  conv->set_stride(stride);
  spec.add_layer()->mutable_flatten();
  spec.add_layer()->mutable_dense()->set_units(units);
  return spec;
}

std::string ResolveError(const proto::ModelSpec& spec) {
  try {
    resolve_model(spec);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(ModelSpecLimits, HugeLayersAreRefusedNamingTheLayer) {
  EXPECT_EQ(ResolveError(Spec(28, 32, 1, 10)), "");
  // 4M filters: before, std::bad_alloc when the model was built.
  EXPECT_THAT(ResolveError(Spec(28, 4'000'000, 1, 10)),
              HasSubstr("model layer 1 (conv1): output 26x26x4000000"));
  // 4e9 units.
  EXPECT_THAT(ResolveError(Spec(28, 8, 1, 4'000'000'000u)),
              HasSubstr("model layer 3 (dense1): has "));
  EXPECT_THAT(ResolveError(Spec(28, 8, 1, 4'000'000'000u)), HasSubstr("parameters, more than"));
  EXPECT_THAT(ResolveError(Spec(100'000, 8, 1, 10)), HasSubstr("model input shape"));
}

TEST(ModelSpecLimits, StrideLargerThanTheInputIsRefused) {
  // Before: "no convolution" from oneDNN when the model was built.
  EXPECT_THAT(ResolveError(Spec(28, 8, 2'000'000'000, 10)),
              HasSubstr("model layer 1 (conv1): stride 2000000000 over the rows is larger"));
}

TEST(ModelSpecFile, NamesThatAreNotUtf8AndDeepNestingAreRefusedWithAPosition) {
  TempDir dir;
  const std::string latin1 = dir.file("latin1.pbtxt");
  std::ofstream(latin1) << "input { rows: 28 cols: 28 channels: 1 }\n"
                        << "layer { name: \"d\xE9nse\" dense { units: 10 } }\n";
  try {
    LoadModelSpec(latin1, 10);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(latin1 + ":2:17: error: a string that is not UTF-8"));
  }
  const std::string deep = dir.file("deep.pbtxt");
  {
    std::ofstream file(deep);
    for (int i = 0; i < 50000; ++i) file << "layer { ";
  }
  try {
    LoadModelSpec(deep, 10);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(deep + ":1:"));
    EXPECT_THAT(e.what(), HasSubstr("nested more than"));
  }
}

}  // namespace
}  // namespace pipeline::cnn::testing
