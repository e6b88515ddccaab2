#include "nn/checkpoint_file.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <stdexcept>

#include "nn/file_io.h"

namespace pipeline::cnn {
namespace {

const FileRole kCheckpointRole{"checkpoint", "a checkpoint file", ", not a checkpoint",
                               static_cast<uintmax_t>(std::numeric_limits<int>::max()),
                               "more than a checkpoint can hold"};

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  FailFile(kCheckpointRole, path, what);
}

std::string Hex(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof(text), "%08x", value);
  return text;
}

}  // namespace

uint32_t Crc32(const std::string& bytes) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  const auto* data = reinterpret_cast<const Bytef*>(bytes.data());
  size_t left = bytes.size();
  while (left > 0) {  // zlib takes uInt lengths
    const uInt chunk = static_cast<uInt>(std::min<size_t>(left, 1u << 30));
    crc = ::crc32(crc, data, chunk);
    data += chunk;
    left -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

void WriteCheckpointBody(const std::string& path, const proto::CheckpointBody& body) {
  proto::CheckpointFile file;
  file.set_format_version(kCheckpointFormatVersion);
  if (!body.SerializeToString(file.mutable_body())) Fail(path, "cannot serialize the checkpoint");
  file.set_body_crc32(Crc32(file.body()));
  std::string bytes;
  if (!file.SerializeToString(&bytes)) Fail(path, "cannot serialize the checkpoint");

  // "Written" must mean "loadable": protobuf serialises a string field that is not UTF-8 (it
  // only logs) but refuses to parse it back, so the file is read back before it is published.
  WriteFileAtomically(path, bytes, kCheckpointRole, [&](const std::string& temporary) {
    try {
      ReadCheckpointBody(temporary, nullptr);
    } catch (const std::exception& e) {
      Fail(path, std::string("the written file does not read back, so it was not published (a "
                             "name in the model or graph that is not UTF-8 does this): ") +
                     e.what());
    }
  });
}

proto::CheckpointBody ReadCheckpointBody(const std::string& path, CheckpointFileInfo* info) {
  const std::string bytes = ReadWholeFile(path, kCheckpointRole);
  proto::CheckpointFile file;
  if (!file.ParseFromString(bytes)) {
    Fail(path, "not a checkpoint file, or truncated (its " + std::to_string(bytes.size()) +
                   " bytes do not parse)");
  }
  if (file.format_version() == 0 || file.body().empty()) {
    Fail(path, "not a checkpoint file, or truncated (no format version or no body)");
  }
  if (file.format_version() != kCheckpointFormatVersion) {
    Fail(path, "checkpoint format version " + std::to_string(file.format_version()) +
                   "; this build reads version " + std::to_string(kCheckpointFormatVersion));
  }
  const uint32_t computed = Crc32(file.body());
  if (computed != file.body_crc32()) {
    Fail(path, "checksum mismatch (stored " + Hex(file.body_crc32()) + ", computed " +
                   Hex(computed) + "): the file is corrupt or truncated");
  }
  proto::CheckpointBody body;
  if (!body.ParseFromString(file.body())) {
    Fail(path, "the checkpoint body does not parse although its checksum matches");
  }
  if (info != nullptr) {
    info->file_bytes = bytes.size();
    info->format_version = file.format_version();
    info->crc32 = computed;
  }
  return body;
}

}  // namespace pipeline::cnn
