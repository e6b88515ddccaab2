// The file I/O nn/'s own formats share (checkpoints, ONNX models): a whole file read with every
// check a file from outside deserves, and an atomic write (temporary file, fsync, rename, folder
// fsync) after which a reader, or a crash, sees the old file or the new one, never half of one.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace pipeline::cnn {

// What a file holds, for the messages: errors read "<label> <path>: <what>", e.g.
// "checkpoint runs/a.ckpt: is a directory, not a checkpoint file".
struct FileRole {
  std::string label;       // "checkpoint", "ONNX model"
  std::string noun;        // "a checkpoint file": what a directory is not
  std::string empty_note;  // appended to "is empty (0 bytes)"
  uintmax_t max_bytes = 0;
  std::string too_large;  // "more than ...", after "is N bytes, "
};

// Throws std::runtime_error "<label> <path>: <what>".
[[noreturn]] void FailFile(const FileRole& role, const std::string& path, const std::string& what);

// Reads all of `path`: it must exist, be a regular non-empty file of at most role.max_bytes and
// read in full.
std::string ReadWholeFile(const std::string& path, const FileRole& role);

// Writes `bytes` to `path` through ".<name>.tmp-<pid>-XXXXXX" in the same folder (the name the
// engine's stale-file cleanup knows), fsync'ed, then `check` on the temporary file (which throws
// to refuse it), renamed over `path`, and the folder fsync'ed. The folder must exist. On any
// failure no temporary file is left behind.
void WriteFileAtomically(const std::string& path, const std::string& bytes, const FileRole& role,
                         const std::function<void(const std::string& temporary)>& check = {});

}  // namespace pipeline::cnn
