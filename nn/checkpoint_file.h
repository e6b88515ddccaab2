// The checkpoint file format: one CheckpointFile message (format version, CRC-32, body) holding
// a serialized CheckpointBody. This layer knows bytes, versions and checksums, not models.
#pragma once

#include <cstdint>
#include <string>

#include "checkpoint.pb.h"

namespace pipeline::cnn {

inline constexpr uint32_t kCheckpointFormatVersion = 1;

// Serializes `body` and writes it to `path` atomically: a temporary file in the same folder,
// written and fsync'ed, renamed over `path`, then the folder fsync'ed — a reader (or a crash)
// sees the old file or the new one, never half of one. The folder must exist. Throws
// std::runtime_error naming `path` on any failure and leaves no temporary file behind.
void WriteCheckpointBody(const std::string& path, const proto::CheckpointBody& body);

// What ReadCheckpointBody found besides the body, for `inspect`.
struct CheckpointFileInfo {
  uint64_t file_bytes = 0;
  uint32_t format_version = 0;
  uint32_t crc32 = 0;
};

// Reads and verifies `path`: readable regular file, parses, format version, checksum, body
// parses. Throws std::runtime_error naming `path` and what is wrong; never trusts the bytes.
proto::CheckpointBody ReadCheckpointBody(const std::string& path,
                                         CheckpointFileInfo* info = nullptr);

// CRC-32 (the zlib/PNG polynomial) of `bytes`.
uint32_t Crc32(const std::string& bytes);

}  // namespace pipeline::cnn
