// A checkpoint is input from outside: every way a file can be damaged or wrong must end in a
// std::runtime_error that names the file and says what is wrong — never a crash, never a model
// with garbage weights.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "cnn_stage_test_util.h"
#include "stages/cnn/checkpoint.h"

namespace pipeline::cnn::testing {
namespace {

std::string ReadBytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Loading `path` fails with a runtime_error naming it and containing `fragment`.
void ExpectLoadFails(const std::string& path, const std::string& fragment) {
  try {
    LoadCheckpoint(path);
    ADD_FAILURE() << path << " loaded, expected an error containing \"" << fragment << "\"";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
  }
}

class CheckpointCorruption : public ::testing::Test {
 protected:
  void SetUp() override {
    good_ = dir_.file("good.ckpt");
    SaveCheckpoint(*TrainedSnapshot(TinySpec(), 2), good_);
    bytes_ = ReadBytes(good_);
    ASSERT_GT(bytes_.size(), 1000u);
  }

  // The good checkpoint's body, changed by `edit`, written back with a valid checksum.
  std::string WithBody(const std::string& name,
                       const std::function<void(proto::CheckpointBody&)>& edit) {
    proto::CheckpointBody body = ReadCheckpointBody(good_);
    edit(body);
    const std::string path = dir_.file(name);
    WriteCheckpointBody(path, body);
    return path;
  }

  TempDir dir_;
  std::string good_;
  std::string bytes_;
};

TEST_F(CheckpointCorruption, TheUndamagedFileLoads) { EXPECT_NO_THROW(LoadCheckpoint(good_)); }

TEST_F(CheckpointCorruption, TruncatedFilesFail) {
  const size_t size = bytes_.size();
  for (size_t keep : {size_t{1}, size_t{2}, size_t{6}, size_t{12}, size_t{100}, size / 3, size / 2,
                      size - 100, size - 1}) {
    SCOPED_TRACE("kept " + std::to_string(keep) + " of " + std::to_string(size) + " bytes");
    const std::string path = dir_.file("truncated.ckpt");
    WriteBytes(path, bytes_.substr(0, keep));
    ExpectLoadFails(path, "");
  }
}

TEST_F(CheckpointCorruption, EveryFlippedBitIsCaught) {
  std::vector<size_t> offsets;
  for (size_t i = 0; i < 16; ++i) offsets.push_back(i);  // the header: version, checksum, length
  for (size_t i = 1; i <= 40; ++i) offsets.push_back(bytes_.size() * i / 41);
  offsets.push_back(bytes_.size() - 1);
  for (size_t offset : offsets) {
    for (int bit : {0, 5, 7}) {
      SCOPED_TRACE("bit " + std::to_string(bit) + " of byte " + std::to_string(offset));
      std::string damaged = bytes_;
      damaged[offset] = static_cast<char>(damaged[offset] ^ (1 << bit));
      const std::string path = dir_.file("flipped.ckpt");
      WriteBytes(path, damaged);
      ExpectLoadFails(path, "");
    }
  }
}

TEST_F(CheckpointCorruption, AFlippedBitInTheBodyIsAChecksumMismatch) {
  std::string damaged = bytes_;
  damaged[bytes_.size() / 2] ^= 0x10;
  const std::string path = dir_.file("flipped.ckpt");
  WriteBytes(path, damaged);
  ExpectLoadFails(path, "checksum mismatch");
}

TEST_F(CheckpointCorruption, AnotherFormatVersionIsNamed) {
  proto::CheckpointFile file;
  ASSERT_TRUE(file.ParseFromString(bytes_));
  file.set_format_version(999);  // the body and its checksum stay valid
  const std::string path = dir_.file("future.ckpt");
  WriteBytes(path, file.SerializeAsString());
  ExpectLoadFails(path, "format version 999; this build reads version 1");
}

TEST_F(CheckpointCorruption, ATensorWithTheWrongShapeIsNamed) {
  // conv1.weight is (4, 1, 3, 3); (4, 1, 9, 1) holds as many values but does not fit the spec.
  const std::string path = WithBody("shape.ckpt", [](proto::CheckpointBody& body) {
    ASSERT_EQ(body.tensors(0).name(), "conv1.weight");
    body.mutable_tensors(0)->mutable_shape()->Set(2, 9);
    body.mutable_tensors(0)->mutable_shape()->Set(3, 1);
  });
  ExpectLoadFails(path, "conv1.weight");
}

TEST_F(CheckpointCorruption, ATensorWithTooFewValuesIsNamed) {
  const std::string path = WithBody("values.ckpt", [](proto::CheckpointBody& body) {
    body.mutable_tensors(1)->mutable_values()->RemoveLast();
  });
  ExpectLoadFails(path, "conv1.bias");
}

TEST_F(CheckpointCorruption, AMissingTensorIsNamed) {
  const std::string path = WithBody("missing.ckpt", [](proto::CheckpointBody& body) {
    body.mutable_tensors()->RemoveLast();  // dense1.bias
  });
  ExpectLoadFails(path, "dense1.bias");
}

TEST_F(CheckpointCorruption, AnOptimizerSlotWithTheWrongShapeFails) {
  const std::string path = WithBody("slot.ckpt", [](proto::CheckpointBody& body) {
    ASSERT_GT(body.optimizer().slots_size(), 0);
    body.mutable_optimizer()->mutable_slots(0)->mutable_values()->RemoveLast();
    body.mutable_optimizer()->mutable_slots(0)->mutable_shape()->Set(0, 1);
  });
  ExpectLoadFails(path, "");
}

TEST_F(CheckpointCorruption, AHostileDimensionFailsWithoutOverflow) {
  const std::string path = WithBody("huge.ckpt", [](proto::CheckpointBody& body) {
    body.mutable_tensors(0)->mutable_shape()->Set(0, int64_t{1} << 40);
  });
  ExpectLoadFails(path, "dimension");
}

TEST_F(CheckpointCorruption, AnInvalidModelSpecFails) {
  const std::string path = WithBody("spec.ckpt", [](proto::CheckpointBody& body) {
    body.mutable_model()->mutable_layer(0)->mutable_conv()->set_kernel(99);
  });
  ExpectLoadFails(path, "model layer 1");
}

TEST_F(CheckpointCorruption, EmptyMissingDirectoryAndForeignFilesFail) {
  const std::string empty = dir_.file("empty.ckpt");
  WriteBytes(empty, "");
  ExpectLoadFails(empty, "empty");
  ExpectLoadFails(dir_.file("absent.ckpt"), "no such file");
  const std::string folder = dir_.file("folder.ckpt");
  std::filesystem::create_directory(folder);
  ExpectLoadFails(folder, "is a directory");
  const std::string text = dir_.file("notes.txt");
  WriteBytes(text, "name: \"train_mnist\"\nseed: 42\n");
  ExpectLoadFails(text, "not a checkpoint");
}

}  // namespace
}  // namespace pipeline::cnn::testing
